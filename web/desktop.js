// Desktop notifications: while the page is open but hidden, a message that passes the
// user's level for its conversation (levels.js) raises a system notification, one per
// conversation at a time (tag `ssechat:<with>`, as pushed ones have, so that one replaces
// the other), and clicking it opens that conversation. Only the tab that leads the shared
// stream notifies (stream.js), and not while another tab of ours is visible (attention.js).
// Permission is asked for only when the user turns the setting on (never on load).

import { attachmentsOf, filesLine } from './attachments.js';
import { mentionsMe, mentionsOf } from './mentions.js';
import { EVERYONE, isRoom } from './model.js';
import { HOME_SCREEN_NOTE, needsHomeScreen } from './platform.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiMessageEvent} ApiMessageEvent */
/** @typedef {import('../src/http/api-types.js').ApiEdit} ApiEdit */
/**
 * What desktop notifications need from the page.
 * @typedef {object} DesktopDeps
 * @property {string} me
 * @property {(event: { from: string, to: string }) => string} convIdOf the conversation of
 *   a message or edit (Model.convIdOf)
 * @property {import('./levels.js').Levels} levels
 * @property {{ othersLooking(): boolean }} attention whether another tab of ours is visible
 * @property {{ readonly role: string }} stream whether this tab leads (Stream.role)
 * @property {import('./worker-link.js').WorkerLink} worker the service worker, if any
 * @property {(id: string, byUser: boolean) => void} open shows a conversation
 */

/** Where the user's choice is kept ('off' when they turned notifications off here). */
const KEY = 'ssechat:desktop';
/** Older messages (a replay after a long reconnect) are not news any more. */
const FRESH_MS = 120_000;
/** The longest text a notification shows. */
const MAX_BODY = 180;

/** Desktop notifications and their setting. */
export class Desktop {
  /** @param {DesktopDeps} deps */
  constructor(deps) {
    this.deps = deps;
  }

  /** True when this browser has the Notification API. */
  get supported() {
    return typeof Notification === 'function';
  }

  wire() {
    const box = $('desktop-on', HTMLInputElement);
    box.addEventListener('change', () => this.turn(box.checked));
    this.render();
  }

  /** True when notifications may be shown: allowed, and not turned off here. */
  enabled() {
    return this.supported && Notification.permission === 'granted' && stored() !== 'off';
  }

  /**
   * The user turned the setting on or off. On: the browser asks for permission, from this
   * user gesture, unless it was given before.
   * @param {boolean} on
   */
  async turn(on) {
    store(on ? 'on' : 'off');
    if (on && this.supported && Notification.permission === 'default') {
      await Notification.requestPermission().catch(() => 'default');
    }
    if (on && this.enabled()) this.deps.worker.register();
    this.render();
  }

  render() {
    const box = $('desktop-on', HTMLInputElement);
    const note = $('desktop-note');
    box.disabled = !this.supported || Notification.permission === 'denied';
    box.checked = this.enabled();
    note.textContent = !this.supported
      ? needsHomeScreen()
        ? HOME_SCREEN_NOTE
        : 'This browser cannot show notifications.'
      : Notification.permission === 'denied'
        ? 'Notifications are blocked for this site in the browser settings.'
        : '';
  }

  /**
   * A message arrived on the stream: a notification, if it is news that passes the level.
   * @param {ApiMessageEvent} m
   */
  message(m) {
    if (m.offline || Date.now() - m.ts > FRESH_MS) return;
    const conv = this.deps.convIdOf(m);
    if (!this.shouldNotify(m.from, conv, mentionsMe(mentionsOf(m), this.deps.me), false)) return;
    this.show(conv, m.from, m.text || filesLine(attachmentsOf(m)));
  }

  /**
   * An edit arrived: a notification only if it newly mentions the user.
   * @param {ApiEdit} e
   */
  edit(e) {
    const mentioned = mentionsMe(mentionsOf({ mentions: e.newMentions }), this.deps.me);
    const conv = this.deps.convIdOf(e);
    if (mentioned && this.shouldNotify(e.from, conv, true, true)) this.show(conv, e.from, e.text);
  }

  /**
   * @param {string} from
   * @param {string} conv
   * @param {boolean} mentioned
   * @param {boolean} edit
   */
  shouldNotify(from, conv, mentioned, edit) {
    const { me, levels, attention, stream } = this.deps;
    if (from === me || !document.hidden || !this.enabled()) return false;
    // One tab of a browser notifies: the leader (or a tab alone, without sharing).
    if (stream.role === 'follower' || attention.othersLooking()) return false;
    return levels.passes(conv, mentioned, edit);
  }

  /**
   * Shows the notification for conversation `conv`: through the service worker when it is
   * active (so that it replaces a pushed one of the same tag, and works where the
   * Notification constructor does not, as on Android), else with the constructor.
   * @param {string} conv
   * @param {string} from
   * @param {string} text
   */
  async show(conv, from, text) {
    const hide = this.deps.levels.hideText;
    // As the server words a pushed one (core/push-dispatch.ts), so that either reads the same.
    const where = conv === EVERYONE ? ' to everyone' : isRoom(conv) ? ` in ${conv}` : '';
    const title = hide ? 'ssechat' : `${from}${where}`;
    const points = [...text];
    const body = hide
      ? 'New message'
      : points.length > MAX_BODY
        ? `${points.slice(0, MAX_BODY - 1).join('')}…`
        : text;
    const tag = `ssechat:${conv}`;
    const data = { with: conv, url: `/#${encodeURIComponent(conv)}` };
    const options = { body, tag, data, icon: '/assets/icon-192.png' };
    try {
      const registration = this.deps.worker.active();
      if (registration) {
        await registration.showNotification(title, options);
        return;
      }
      const n = new Notification(title, options);
      n.onclick = () => {
        window.focus();
        this.deps.open(conv, true);
        n.close();
      };
    } catch {
      // Refused (permission withdrawn meanwhile): nothing to show.
    }
  }
}

/** The user's choice in this browser, or null. */
function stored() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** @param {string} value */
function store(value) {
  try {
    localStorage.setItem(KEY, value);
  } catch {
    // Not kept: the permission alone then decides.
  }
}
