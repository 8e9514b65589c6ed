// The page's side of its service worker (web/sw.js, served at /sw.js so that its scope is
// the whole site): registering it when the user turns notifications on, and hearing it ask
// for a conversation when a notification was clicked. The worker caches nothing.

/**
 * What the worker's messages do on the page.
 * @typedef {object} WorkerLinkDeps
 * @property {(id: string, byUser: boolean) => void} open shows a conversation
 */

/** The page's service worker registration. */
export class WorkerLink {
  /** @param {WorkerLinkDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {ServiceWorkerRegistration | null} */
    this.registration = null;
  }

  /** True when this browser has service workers (a secure context: https, or localhost). */
  get supported() {
    return 'serviceWorker' in navigator;
  }

  /**
   * Hears the worker (a notification was clicked: open its conversation), and keeps the
   * registration up to date if notifications were turned on before (no prompt: registering
   * asks nothing of the user).
   */
  listen() {
    if (!this.supported) return;
    // onmessage, not addEventListener: it also starts the delivery of queued messages.
    navigator.serviceWorker.onmessage = (e) => {
      const m = /** @type {{ t?: unknown, with?: unknown }} */ (e.data ?? {});
      if (m.t === 'open' && typeof m.with === 'string' && m.with !== '') {
        this.deps.open(m.with, true);
      }
    };
    navigator.serviceWorker
      .getRegistration('/')
      .then((registration) => {
        this.registration = registration ?? null;
        const granted = typeof Notification === 'function' && Notification.permission === 'granted';
        if (registration || granted) return this.register();
      })
      .catch(() => {});
  }

  /**
   * Registers the worker (again: the browser then checks for a new version); null when the
   * browser has none or refuses.
   * @returns {Promise<ServiceWorkerRegistration | null>}
   */
  async register() {
    if (!this.supported) return null;
    try {
      this.registration = await navigator.serviceWorker.register('/sw.js', {
        scope: '/',
        updateViaCache: 'none',
      });
    } catch {
      return null;
    }
    return this.registration;
  }

  /** The registration once its worker is active (it shows notifications), else null. */
  active() {
    return this.registration?.active ? this.registration : null;
  }
}
