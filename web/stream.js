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
//
// Reconnecting is ours, not the browser's: on any error the EventSource is closed and a new
// one opened after an exponential backoff with jitter, with `?lastEventId=` (a new
// EventSource cannot send the Last-Event-ID header), so the server replays exactly what was
// missed. A Watchdog (watchdog.js) closes a stream that went silent, which no error reports.

import { Watchdog } from './watchdog.js';

/** @typedef {'connecting' | 'connected' | 'reconnecting' | 'offline'} Status */
/**
 * What a new follower tab needs of the leader's page: who is online.
 * @typedef {{ online: string[], onlineCount: number | null }} Snapshot
 */
/**
 * A message between the tabs of one user (over the BroadcastChannel). `viewed` is the
 * page's own (reading.js), passed on to onSignal.
 * @typedef {{ t: 'event', type: string, data: string, lastEventId: string }
 *   | { t: 'status', status: Status, retryAt: number }
 *   | { t: 'sync?' }
 *   | { t: 'sync', ready: boolean, lastId: number | null, status: Status, retryAt: number,
 *       state: Snapshot }
 *   | { t: 'last-id?' }
 *   | { t: 'last-id', id: number | null }
 *   | { t: 'retry-now' }
 *   | { t: 'viewed', conv: string, upTo: number }} TabMessage
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

/** The event types of GET /api/v1/events (docs/api.md). */
const TYPES = [
  ...['hello', 'message', 'read', 'join', 'leave', 'reset'],
  ...['member', 'edit', 'delete', 'typing', 'room'], // rooms, edits and deletes, typing
  'online', // the number online, instead of join and leave, in a crowd
  'presence', // who is online, anew, after the server missed joins and leaves
];
/** First reconnect delay (before jitter); it doubles per failure up to MAX_DELAY_MS. */
const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
/** After this many failed attempts in a row the page says it is offline. */
const OFFLINE_AFTER = 4;
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
    this.failures = 0;
    /** @type {EventSource | null} */
    this.es = null;
    this.timer = 0;
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
    this.onOnline = () => this.networkBack();
    this.onOffline = () => this.networkLost();
    this.watchdog = new Watchdog(() => this.silent());
    /** The delay a `bye` asked for, used once by the next reconnect. @type {number | null} */
    this.comeBackIn = null;
  }

  /** The Web Lock name: one leader per user and browser. */
  get lockName() {
    return `ssechat-stream-${this.nick}`;
  }

  start() {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
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
          this.connect();
        });
    } else {
      this.connect();
    }
  }

  /** Ends everything: the stream, the lock (another tab may lead), the channel. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watchdog.stop();
    this.es?.close();
    this.es = null;
    this.abort?.abort();
    this.release?.();
    this.channel?.close();
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
  }

  /** Tries to connect now instead of waiting for the next attempt (or asks the leader to). */
  retryNow() {
    if (this.role === 'follower') this.post({ t: 'retry-now' });
    else if (!this.es) this.connect();
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
    this.connect();
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

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.es?.close();
    this.es = null;
    if (navigator.onLine === false) {
      // Nothing to try until the browser says the network is back (the online event).
      this.setStatus('offline', 0);
      return;
    }
    const url =
      this.lastId === null ? '/api/v1/events' : `/api/v1/events?lastEventId=${this.lastId}`;
    const es = new EventSource(url);
    this.es = es;
    for (const type of TYPES) {
      es.addEventListener(type, (e) => {
        if (this.es === es) this.fromStream(type, e.data, e.lastEventId);
      });
    }
    es.addEventListener('ping', () => {
      if (this.es === es) this.watchdog.feed();
    });
    es.addEventListener('bye', (e) => {
      // The server is shutting down and says when to come back: each page at its own time.
      let ms = Number.NaN;
      try {
        ms = Number(JSON.parse(e.data).retryMs);
      } catch {}
      if (this.es === es && Number.isFinite(ms))
        this.comeBackIn = Math.min(Math.max(ms, 0), 60_000);
    });
    this.watchdog.feed();
    es.onerror = () => {
      if (this.es !== es) return;
      this.watchdog.stop();
      // The browser would retry by itself, at the server's retry: interval and without
      // backoff; it also gives up for good on an HTTP error. Take over in both cases.
      es.close();
      this.es = null;
      this.failed();
    };
  }

  /** The watchdog heard nothing for too long: the connection is dead; reconnect. */
  silent() {
    if (!this.es || this.stopped) return;
    this.es.close();
    this.es = null;
    this.failed();
  }

  failed() {
    this.failures++;
    if (navigator.onLine === false) {
      this.setStatus('offline', 0);
      return;
    }
    const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (this.failures - 1));
    const delay = this.comeBackIn ?? base / 2 + Math.random() * base;
    this.comeBackIn = null;
    this.timer = setTimeout(() => this.connect(), delay);
    this.setStatus(this.failures >= OFFLINE_AFTER ? 'offline' : 'reconnecting', Date.now() + delay);
    // An EventSource does not tell why it failed: a 401 (logged out elsewhere, session
    // expired) looks like a network error. Ask the API.
    fetch('/api/v1/session', { credentials: 'same-origin', cache: 'no-store' })
      .then((res) => {
        if (res.status === 401 && !this.stopped) this.h.onLoggedOut();
      })
      .catch(() => {});
  }

  networkBack() {
    if (this.role !== 'follower' && !this.es && !this.stopped) this.connect();
  }

  networkLost() {
    if (this.role === 'follower' || this.stopped) return;
    // The stream is dead or about to be; resume cleanly when the network is back.
    this.watchdog.stop();
    this.es?.close();
    this.es = null;
    clearTimeout(this.timer);
    this.setStatus('offline', 0);
  }

  /**
   * An event from our own EventSource: applied here, and passed on to the other tabs.
   * @param {string} type
   * @param {string} data its JSON
   * @param {string} lastEventId
   */
  fromStream(type, data, lastEventId) {
    this.watchdog.feed();
    if (type === 'hello') {
      this.failures = 0;
      try {
        this.watchdog.setHeartbeat(JSON.parse(data).heartbeatMs);
      } catch {}
    }
    this.apply(type, data, lastEventId);
    if (this.channel) this.post({ t: 'event', type, data, lastEventId });
    if (type === 'hello') this.setStatus('connected', 0);
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
        if (leader && !this.es) this.connect();
        return;
      default:
        this.h.onSignal(m);
    }
  }
}
