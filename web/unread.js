// Unread state that lives on the server (docs/api.md): the counts of every conversation at
// each hello (GET /api/v1/unread), the read marker moved as the user reads (PUT
// /api/v1/markers), and the `marker` events that say another tab or device of ours read on.
// So counts and the "New messages" divider survive a reload and agree across devices. Where
// the server has no such endpoint yet, the page counts as before: what it saw arrive.

import { call } from './api.js';
import { isRoom } from './model.js';

/** @typedef {import('./model.js').Model} Model */
/** One conversation with unread messages (GET /api/v1/unread). @typedef {import('../src/http/api-types.js').ApiUnread} UnreadEntry */
/**
 * What the unread state needs from the page.
 * @typedef {object} UnreadDeps
 * @property {Model} model
 * @property {{ readonly lastId: number | null }} stream the resume point (Stream)
 * @property {() => void} changed counts changed (the list and the title render)
 */

/** A marker moves at most once per this delay per conversation, however fast one reads. */
const MARKER_DELAY_MS = 500;
/** `marker` events that need new counts, arriving together, cost one request. */
const RELOAD_DELAY_MS = 300;

/** The server's unread counts and read markers. */
export class Unread {
  /** @param {UnreadDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /**
     * The load under way or done: the event id its counts cover, or null when the server
     * gave none (an older server, or a failure).
     * @type {Promise<number | null> | null}
     */
    this.pending = null;
    /** Markers to send: conversation id → the id read up to. @type {Map<string, number>} */
    this.toSend = new Map();
    /** The newest marker sent per conversation. @type {Map<string, number>} */
    this.sent = new Map();
    this.timer = 0;
    this.reloadTimer = 0;
  }

  /** Sends markers still waiting when the page goes away. */
  wire() {
    window.addEventListener('pagehide', () => this.flush(true));
  }

  /**
   * Reads the counts anew (at every hello, and when a marker moved below what they cover).
   * @returns {Promise<number | null>}
   */
  load() {
    const { model, stream, changed } = this.deps;
    this.pending = (async () => {
      let answer;
      try {
        answer = /** @type {{ unread?: unknown }} */ (await call('GET', 'unread'));
      } catch {
        return null;
      }
      const list = Array.isArray(answer?.unread) ? answer.unread.filter(isEntry) : [];
      // The counts cover at least what the stream brought before they came: newer messages
      // the page counts itself (Conversation.count).
      const asOf = stream.lastId ?? 0;
      model.setCounts(list, asOf);
      changed();
      return asOf;
    })();
    return this.pending;
  }

  /** The counts of the last load (starting one if none was asked for), as load(). */
  settled() {
    return this.pending ?? this.load();
  }

  /**
   * The user read conversation `id` up to `upTo` here: the server's marker follows, soon.
   * @param {string} id
   * @param {number} upTo
   */
  read(id, upTo) {
    // Notes to self hold only our own messages, never unread.
    if (id === this.deps.model.me || upTo <= (this.sent.get(id) ?? 0)) return;
    this.toSend.set(id, Math.max(upTo, this.toSend.get(id) ?? 0));
    if (!this.timer) this.timer = setTimeout(() => this.flush(false), MARKER_DELAY_MS);
  }

  /**
   * Sends the waiting markers; `leaving`: the page is going away, so the requests must
   * outlive it (keepalive; sendBeacon cannot PUT).
   * @param {boolean} leaving
   */
  flush(leaving) {
    clearTimeout(this.timer);
    this.timer = 0;
    for (const [id, upTo] of this.toSend) {
      this.sent.set(id, upTo);
      const body = { with: id, upTo };
      if (leaving) {
        fetch('/api/v1/markers', {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
          credentials: 'same-origin',
          keepalive: true,
        }).catch(() => {});
      } else {
        call('PUT', 'markers', body).catch(() => {
          // Sent again with the next move; the counts stay the page's own meanwhile.
          if ((this.sent.get(id) ?? 0) === upTo) this.sent.delete(id);
        });
      }
    }
    this.toSend.clear();
  }

  /**
   * A `marker` event: our marker moved (another tab or device read on), so counts clear.
   * Below what the server's counts cover, they are read again: how many of them are left
   * only the server knows.
   * @param {unknown} data
   */
  onMarker(data) {
    const { model, changed } = this.deps;
    const e = /** @type {{ with?: unknown, upTo?: unknown }} */ (data ?? {});
    if (typeof e.with !== 'string' || typeof e.upTo !== 'number') return;
    // A room we left has no conversation any more: nothing to mark.
    if (isRoom(e.with) && !model.convs.has(e.with)) return;
    const conv = model.conv(e.with);
    this.sent.set(conv.id, Math.max(e.upTo, this.sent.get(conv.id) ?? 0));
    if (e.upTo <= conv.readUpTo) return;
    conv.readUpTo = e.upTo;
    if (conv.counted && e.upTo < conv.counted.asOf) this.reloadSoon();
    changed();
  }

  reloadSoon() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.load(), RELOAD_DELAY_MS);
  }
}

/**
 * True for an entry of GET /api/v1/unread of the documented shape.
 * @param {unknown} x
 * @returns {x is UnreadEntry}
 */
function isEntry(x) {
  if (!x || typeof x !== 'object') return false;
  const e = /** @type {Record<string, unknown>} */ (x);
  return (
    typeof e.with === 'string' &&
    Number.isSafeInteger(e.marker) &&
    Number.isSafeInteger(e.unread) &&
    Number.isSafeInteger(e.mentions)
  );
}
