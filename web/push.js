// Web Push (docs/api.md, /api/v1/push/…): the setting "Notify me when the tab is closed"
// subscribes this browser with the server's public key, so that the server can push to it
// when the user is away (no tab open, or none looked at); the service worker (sw.js) shows
// what arrives. Turning it off unsubscribes here and at the server.

import { ApiError, call } from './api.js';
import { HOME_SCREEN_NOTE, needsHomeScreen } from './platform.js';
import { $ } from './view.js';

/**
 * What the push setting needs from the page.
 * @typedef {object} PushDeps
 * @property {import('./worker-link.js').WorkerLink} worker the service worker
 */

/** The push setting of this browser. */
export class PushSetting {
  /** @param {PushDeps} deps */
  constructor(deps) {
    this.deps = deps;
    this.busy = false;
  }

  /** True when this browser can be pushed to. */
  get supported() {
    return (
      this.deps.worker.supported && 'PushManager' in window && typeof Notification === 'function'
    );
  }

  wire() {
    const box = $('push-on', HTMLInputElement);
    box.addEventListener('change', () => this.turn(box.checked));
    if (!this.supported || needsHomeScreen()) {
      box.disabled = true;
      say(
        needsHomeScreen()
          ? HOME_SCREEN_NOTE
          : 'This browser cannot get notifications while the page is closed.',
      );
      return;
    }
    // Subscribed before? Asking the push manager prompts nothing.
    navigator.serviceWorker
      .getRegistration('/')
      .then((registration) => registration?.pushManager.getSubscription())
      .then((sub) => {
        if (!this.busy) box.checked = Boolean(sub);
      })
      .catch(() => {});
  }

  /**
   * The user turned the setting on or off.
   * @param {boolean} on
   */
  async turn(on) {
    const box = $('push-on', HTMLInputElement);
    this.busy = true;
    box.disabled = true;
    say(on ? 'Turning on…' : '');
    try {
      if (on) await this.subscribe();
      else await this.unsubscribe();
      say(on ? 'On: this browser gets notifications while ssechat is closed.' : '');
    } catch (e) {
      box.checked = !on;
      say(`Could not turn it ${on ? 'on' : 'off'}: ${reason(e)}.`);
    } finally {
      this.busy = false;
      box.disabled = false;
    }
  }

  async subscribe() {
    if (Notification.permission !== 'granted') {
      const answer = await Notification.requestPermission();
      if (answer !== 'granted') throw new Error('notifications are not allowed for this site');
    }
    const registration = await this.deps.worker.register();
    if (!registration) throw new Error('the service worker could not start');
    await navigator.serviceWorker.ready;
    const answer = /** @type {{ publicKey?: unknown }} */ (await call('GET', 'push/key'));
    if (typeof answer?.publicKey !== 'string') throw new Error('the server has no push key');
    const key = fromBase64Url(answer.publicKey);
    let sub = await registration.pushManager.getSubscription();
    // A subscription made with another key (the server's was replaced) cannot be used.
    if (sub && !sameKey(sub.options.applicationServerKey, key)) {
      await sub.unsubscribe();
      sub = null;
    }
    sub ??= await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: key,
    });
    await call('POST', 'push/subscriptions', sub.toJSON());
  }

  async unsubscribe() {
    const registration = await navigator.serviceWorker.getRegistration('/');
    const sub = await registration?.pushManager.getSubscription();
    if (!sub) return;
    const { endpoint } = sub;
    await sub.unsubscribe();
    await call('DELETE', 'push/subscriptions', { endpoint }).catch((e) => {
      // Gone at the server already: what we wanted.
      if (ApiError.from(e).status !== 404) throw e;
    });
  }
}

/** @param {string} text */
function say(text) {
  $('push-note').textContent = text;
}

/** @param {unknown} e */
function reason(e) {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The bytes of base64url text (the key is the 65-byte uncompressed P-256 point).
 * @param {string} text
 */
export function fromBase64Url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * @param {ArrayBuffer | null} a
 * @param {Uint8Array} b
 */
function sameKey(a, b) {
  if (!a) return false;
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}
