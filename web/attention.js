// Attention: whether the user is looking at the page, told to the server so that it pushes
// to their phone only when no tab of theirs is looked at (docs/api.md, PUT /api/v1/attention),
// and to this browser's other tabs, so that the tab that leads the shared stream raises a
// desktop notification only when none of them is visible (desktop.js).

import { call, newClientId } from './api.js';

/**
 * What attention needs from the page.
 * @typedef {object} AttentionDeps
 * @property {(message: import('./stream.js').TabMessage) => void} post tells this user's
 *   other tabs (Stream.post)
 */

/** A visible tab says so this often; the server holds it for ATTENTION_TTL_MS = 60 s. */
const BEAT_MS = 25_000;
/** A tab that said it is visible counts as looking for this long (a missed beat or two). */
const LOOKING_MS = 60_000;
/** Where this tab keeps its client id (per tab, kept across reloads). */
const KEY = 'ssechat:attention-client';

/** This tab's attention, and its other tabs'. */
export class Attention {
  /** @param {AttentionDeps} deps */
  constructor(deps) {
    this.deps = deps;
    this.client = clientId();
    this.timer = 0;
    /** Other tabs that said they are visible: tab → until when. @type {Map<string, number>} */
    this.others = new Map();
  }

  /** Says where the user looks now, on every change, every BEAT_MS while visible, and at the end. */
  start() {
    document.addEventListener('visibilitychange', () => this.beat());
    window.addEventListener('pagehide', () => {
      clearInterval(this.timer);
      this.tellTabs(false);
      // The page is going: only a beacon is sure to leave (it cannot PUT; the server takes
      // POST with the same body).
      const body = JSON.stringify({ client: this.client, visible: false });
      navigator.sendBeacon?.('/api/v1/attention', new Blob([body], { type: 'application/json' }));
    });
    this.beat();
  }

  /** Tells the server and the other tabs whether this tab is visible, and keeps telling. */
  beat() {
    const visible = document.visibilityState === 'visible';
    clearInterval(this.timer);
    this.timer = 0;
    this.send(visible);
    if (visible) this.timer = setInterval(() => this.send(true), BEAT_MS);
  }

  /** @param {boolean} visible */
  send(visible) {
    this.tellTabs(visible);
    // An older server has no such endpoint: nothing to do about it.
    call('PUT', 'attention', { client: this.client, visible }).catch(() => {});
  }

  /** @param {boolean} visible */
  tellTabs(visible) {
    this.deps.post({ t: 'looking', tab: this.client, visible });
  }

  /**
   * Another tab said whether it is visible.
   * @param {{ t?: unknown, tab?: unknown, visible?: unknown }} m
   */
  onSignal(m) {
    if (m.t !== 'looking' || typeof m.tab !== 'string') return;
    if (m.visible === true) this.others.set(m.tab, Date.now() + LOOKING_MS);
    else this.others.delete(m.tab);
  }

  /** True while another tab of ours is visible. */
  othersLooking() {
    const now = Date.now();
    for (const [tab, until] of this.others) {
      if (until > now) return true;
      this.others.delete(tab);
    }
    return false;
  }
}

/** This tab's client id: random, kept in sessionStorage so a reload keeps it. */
function clientId() {
  try {
    const kept = sessionStorage.getItem(KEY);
    if (kept && /^[A-Za-z0-9_-]{1,64}$/.test(kept)) return kept;
    const id = newClientId();
    sessionStorage.setItem(KEY, id);
    return id;
  } catch {
    return newClientId();
  }
}
