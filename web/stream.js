// The event stream, shared by every tab of one user.
//
// Browsers allow 6 connections per origin over HTTP/1.1, so one EventSource per tab would
// leave a user's 7th tab hanging. Instead, the tabs elect a leader with a Web Lock: the tab
// holding `ssechat-stream-<nick>` opens the one EventSource and forwards every event over a
// BroadcastChannel; the others (followers) apply what it forwards. The lock is held until the
// tab closes (or logs out); the browser then grants it to a waiting tab, which resumes the
// stream from the last event id the tabs have seen, so nothing is lost, and every tab drops
// events it already has by id. Without Web Locks (old browsers, or plain http on a host other
// than localhost: it is a secure-context API) or BroadcastChannel, each tab has its own stream.
// The EventSource itself, with its reconnects, is connection.js.

import { Connection } from './connection.js';

/** @typedef {'connecting' | 'connected' | 'reconnecting' | 'offline'} Status */
/**
 * What a new follower tab needs of the leader's page: who is online.
 * @typedef {{ online: string[], onlineCount: number | null }} Snapshot
 */
/**
 * A message between the tabs of one user (over the BroadcastChannel). `viewed` (reading.js)
 * and `looking` (attention.js) are the page's own, passed on to onSignal.
 * @typedef {{ t: 'event', type: string, data: string, lastEventId: string }
 *   | { t: 'status', status: Status, retryAt: number }
 *   | { t: 'sync?' }
 *   | { t: 'sync', ready: boolean, lastId: number | null, status: Status, retryAt: number,
 *       state: Snapshot }
 *   | { t: 'last-id?' }
 *   | { t: 'last-id', id: number | null }
 *   | { t: 'retry-now' }
 *   | { t: 'viewed', conv: string, upTo: number }
 *   | { t: 'looking', tab: string, visible: boolean }} TabMessage
 */
/**
 * What the stream tells the page.
 * @typedef {object} StreamHandlers
 * @property {(type: string, data: unknown) => void} onEvent an event, from our EventSource
 *   or forwarded by the leader
 * @property {(status: Status, retryAt: number) => void} onStatus the connection's state, and
 *   when the next attempt starts (0: none planned)
 * @property {(state: Snapshot) => void} onSync a follower learned the leader's state
 * @property {() => Snapshot} snapshot what a new follower needs
 * @property {(message: TabMessage) => void} onSignal a message another tab posted with post()
 * @property {() => void} onLoggedOut the session is gone (the stream is refused, the API
 *   says 401)
 */

/** How long a new leader waits for the other tabs to say which event they saw last. */
const GATHER_MS = 300;

/** The stream of one user, shared by its tabs. */
export class Stream {
  /**
   * @param {string} nick the signed-in user
   * @param {StreamHandlers} handlers
   */
  constructor(nick, handlers) {
    this.nick = nick;
    this.h = handlers;
    /**
     * Id of the newest event seen (the resume point), null before the first.
     * @type {number | null}
     */
    this.lastId = null;
    /** True once this tab knows "live from here" (a hello, its own or forwarded). */
    this.ready = false;
    /** 'solo' (own stream), 'leader' or 'follower'. @type {'solo' | 'leader' | 'follower'} */
    this.role = 'solo';
    /** @type {Status} */
    this.status = 'connecting';
    this.retryAt = 0;
    this.stopped = false;
    /** @type {BroadcastChannel | null} */
    this.channel = null;
    /** Lets go of the lock (ends lead()). @type {(() => void) | null} */
    this.release = null;
    /** Withdraws our lock request when we stop before getting it. */
    this.abort = typeof AbortController === 'function' ? new AbortController() : null;
    /**
     * Hears the other tabs' last ids while this tab gathers them.
     * @type {((id: unknown) => void) | null}
     */
    this.onLastId = null;
    /** This tab's own EventSource: used when it leads, or has no other tabs to share with. */
    this.connection = new Connection({
      resumeFrom: () => this.lastId,
      mayConnect: () => this.role !== 'follower',
      onEvent: (type, data, lastEventId) => this.fromStream(type, data, lastEventId),
      onStatus: (status, retryAt) => this.setStatus(status, retryAt),
      onLoggedOut: () => this.h.onLoggedOut(),
    });
  }

  /** The Web Lock name: one leader per user and browser. */
  get lockName() {
    return `ssechat-stream-${this.nick}`;
  }

  /** Starts: leads or follows the other tabs, or connects alone. */
  start() {
    this.connection.listen();
    if (navigator.locks && typeof BroadcastChannel === 'function') {
      this.channel = new BroadcastChannel(`ssechat-events-${this.nick}`);
      this.channel.onmessage = (e) => this.fromChannel(e.data);
      this.role = 'follower';
      // A leader answers with its state; if there is none yet, the lock comes to us.
      this.post({ t: 'sync?' });
      navigator.locks
        .request(this.lockName, { signal: this.abort?.signal }, () => this.lead())
        .catch(() => {
          if (this.stopped) return; // our own abort
          // The lock manager failed (rare): do without sharing.
          this.role = 'solo';
          this.connection.connect();
        });
    } else {
      this.connection.connect();
    }
  }

  /** Ends everything: the stream, the lock (another tab may lead), the channel. */
  stop() {
    this.stopped = true;
    this.connection.stop();
    this.abort?.abort();
    this.release?.();
    this.channel?.close();
  }

  /** Tries to connect now instead of waiting for the next attempt (or asks the leader to). */
  retryNow() {
    if (this.role === 'follower') this.post({ t: 'retry-now' });
    else if (!this.connection.isOpen) this.connection.connect();
  }

  /**
   * Sends a message to this user's other tabs (nothing without a channel).
   * @param {TabMessage} message
   */
  post(message) {
    try {
      this.channel?.postMessage(message);
    } catch {
      // The channel is closed (logging out).
    }
  }

  /** Runs while this tab holds the lock; the returned promise keeps it until stop(). */
  async lead() {
    if (this.stopped) return;
    this.role = 'leader';
    await this.gatherLastIds();
    // Stopped while gathering: stop() found nothing to release; let the lock go now.
    if (this.stopped) return;
    this.connection.connect();
    await new Promise((resolve) => {
      this.release = () => resolve(undefined);
    });
  }

  /**
   * A new leader resumes from the last event id that every tab has seen (the smallest one
   * they report), so that no tab misses an event sent while no tab was leading; the tabs
   * drop the repeats by id. Tabs that know nothing yet (null) load history themselves.
   */
  async gatherLastIds() {
    let others = 0;
    try {
      const { pending } = await navigator.locks.query();
      others = (pending ?? []).filter((lock) => lock.name === this.lockName).length;
    } catch {
      others = 0;
    }
    if (others === 0) return;
    /** @type {unknown[]} */
    const ids = [];
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, GATHER_MS);
      this.onLastId = (id) => {
        ids.push(id);
        if (ids.length >= others) {
          clearTimeout(timer);
          resolve(undefined);
        }
      };
      this.post({ t: 'last-id?' });
    });
    this.onLastId = null;
    /** @type {number[]} */
    const known = [];
    for (const id of ids) if (typeof id === 'number' && Number.isSafeInteger(id)) known.push(id);
    if (this.lastId !== null) known.push(this.lastId);
    if (known.length > 0) this.lastId = Math.min(...known);
  }

  /**
   * An event from our own EventSource: applied here, and passed on to the other tabs.
   * @param {string} type
   * @param {string} data its JSON
   * @param {string} lastEventId
   */
  fromStream(type, data, lastEventId) {
    this.apply(type, data, lastEventId);
    if (this.channel) this.post({ t: 'event', type, data, lastEventId });
  }

  /**
   * Applies one event, ours or forwarded: moves the resume point, then tells the page.
   * @param {string} type
   * @param {string} data its JSON
   * @param {string | undefined} lastEventId
   */
  apply(type, data, lastEventId) {
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    // EventSource keeps the last id for events that carry none (join, leave, the mailbox).
    if (lastEventId !== '' && lastEventId !== undefined) {
      const id = Number(lastEventId);
      if (Number.isSafeInteger(id)) {
        // After a reset the server's head may be below what we had (a wiped database).
        this.lastId = type === 'reset' || this.lastId === null ? id : Math.max(this.lastId, id);
      }
    }
    if (type === 'hello') this.ready = true;
    this.h.onEvent(type, parsed);
  }

  /**
   * The connection's state changed: this tab shows it, and a leader tells the others.
   * @param {Status} status
   * @param {number} retryAt when the next attempt starts, or 0
   */
  setStatus(status, retryAt) {
    this.status = status;
    this.retryAt = retryAt;
    this.h.onStatus(status, retryAt);
    if (this.role === 'leader') this.post({ t: 'status', status, retryAt });
  }

  /**
   * A message from another tab of this user.
   * @param {unknown} message
   */
  fromChannel(message) {
    if (!message || typeof message !== 'object' || this.stopped) return;
    // Only this page's own tabs (same origin, same user) post on the channel.
    const m = /** @type {TabMessage} */ (message);
    const leader = this.role === 'leader';
    switch (m.t) {
      case 'event':
        if (!leader) this.apply(m.type, m.data, m.lastEventId);
        return;
      case 'status':
        if (!leader) {
          this.status = m.status;
          this.retryAt = m.retryAt;
          this.h.onStatus(m.status, m.retryAt);
        }
        return;
      case 'sync?':
        if (leader) {
          this.post({
            t: 'sync',
            ready: this.ready,
            lastId: this.lastId,
            status: this.status,
            retryAt: this.retryAt,
            state: this.h.snapshot(),
          });
        }
        return;
      case 'sync':
        if (
          !leader &&
          m.ready &&
          !this.ready &&
          typeof m.lastId === 'number' &&
          Number.isSafeInteger(m.lastId)
        ) {
          this.lastId = this.lastId === null ? m.lastId : Math.max(this.lastId, m.lastId);
          this.ready = true;
          this.status = m.status;
          this.h.onStatus(m.status, m.retryAt);
          this.h.onSync(m.state);
        }
        return;
      case 'last-id?':
        if (!leader) this.post({ t: 'last-id', id: this.lastId });
        return;
      case 'last-id':
        this.onLastId?.(m.id);
        return;
      case 'retry-now':
        if (leader && !this.connection.isOpen) this.connection.connect();
        return;
      default:
        this.h.onSignal(m);
    }
  }
}
