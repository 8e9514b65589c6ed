// One EventSource to GET /api/v1/events, kept open by us rather than by the browser: on any
// error it is closed and a new one opened after an exponential backoff with jitter, with
// `?lastEventId=` (a new EventSource cannot send the Last-Event-ID header), so the server
// replays exactly what was missed. A Watchdog (watchdog.js) closes a stream that went
// silent, which no error reports. Which tab connects is stream.js's business.

import { Watchdog } from './watchdog.js';

/** @typedef {import('./stream.js').Status} Status */
/**
 * What the connection needs from, and tells, its stream.
 * @typedef {object} ConnectionDeps
 * @property {() => number | null} resumeFrom the id of the newest event seen, or null
 * @property {() => boolean} mayConnect false while another tab holds the stream
 * @property {(type: string, data: string, lastEventId: string) => void} onEvent an event
 * @property {(status: Status, retryAt: number) => void} onStatus the connection's state, and
 *   when the next attempt starts (0: none planned)
 * @property {() => void} onLoggedOut the session is gone (the stream is refused, the API
 *   says 401)
 */

/** The event types of GET /api/v1/events (docs/api.md) that the page applies. */
const TYPES = [
  ...['hello', 'message', 'read', 'join', 'leave', 'reset'],
  ...['member', 'edit', 'delete', 'typing', 'room'], // rooms, edits and deletes, typing
  'room-listed', // a public room was made: the list of rooms to join shows it at once
  'reaction',
  'online', // the number online, instead of join and leave, in a crowd
  'presence', // who is online, anew, after the server missed joins and leaves
  'profile', // a user's display name or avatar changed
  'sanction', // we were muted or unmuted (mute.js)
  ...['marker', 'notify'], // our read markers and notification levels, from any device
  'report', // a report we made was handled
  'reported', // a message we moderate was reported (mod-queue.js)
];
/** First reconnect delay (before jitter); it doubles per failure up to MAX_DELAY_MS. */
const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
/** The longest wait a `bye` may ask for before the next attempt. */
const MAX_COME_BACK_MS = 60_000;
/** After this many failed attempts in a row the page says it is offline. */
const OFFLINE_AFTER = 4;

/** The EventSource of this tab, with its reconnects. */
export class Connection {
  /** @param {ConnectionDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {EventSource | null} */
    this.es = null;
    this.timer = 0;
    this.failures = 0;
    this.stopped = false;
    /** The delay a `bye` asked for, used once by the next reconnect. @type {number | null} */
    this.comeBackIn = null;
    this.watchdog = new Watchdog(() => this.silent());
    this.onOnline = () => this.networkBack();
    this.onOffline = () => this.networkLost();
  }

  /** Follows the browser's online and offline events (until stop). */
  listen() {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
  }

  /** Closes the stream for good. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watchdog.stop();
    this.es?.close();
    this.es = null;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
  }

  /** True while an EventSource is open (or opening). */
  get isOpen() {
    return this.es !== null;
  }

  /** Opens a new EventSource from the resume point (closing any other). */
  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.es?.close();
    this.es = null;
    if (navigator.onLine === false) {
      // Nothing to try until the browser says the network is back (the online event).
      this.deps.onStatus('offline', 0);
      return;
    }
    const lastId = this.deps.resumeFrom();
    const url = lastId === null ? '/api/v1/events' : `/api/v1/events?lastEventId=${lastId}`;
    const es = new EventSource(url);
    this.es = es;
    for (const type of TYPES) {
      es.addEventListener(type, (e) => {
        if (this.es === es) this.received(type, e.data, e.lastEventId);
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
      if (this.es === es && Number.isFinite(ms)) {
        this.comeBackIn = Math.min(Math.max(ms, 0), MAX_COME_BACK_MS);
      }
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

  /**
   * An event of our EventSource: the stream is alive; a `hello` also ends the failures and
   * says how often pings come.
   * @param {string} type
   * @param {string} data its JSON
   * @param {string} lastEventId
   */
  received(type, data, lastEventId) {
    this.watchdog.feed();
    if (type === 'hello') {
      this.failures = 0;
      try {
        this.watchdog.setHeartbeat(JSON.parse(data).heartbeatMs);
      } catch {}
    }
    this.deps.onEvent(type, data, lastEventId);
    if (type === 'hello') this.deps.onStatus('connected', 0);
  }

  /** The watchdog heard nothing for too long: the connection is dead; reconnect. */
  silent() {
    if (!this.es || this.stopped) return;
    this.es.close();
    this.es = null;
    this.failed();
  }

  /** The EventSource failed: try again after a backoff, and ask whether we are logged out. */
  failed() {
    this.failures++;
    if (navigator.onLine === false) {
      this.deps.onStatus('offline', 0);
      return;
    }
    const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (this.failures - 1));
    const delay = this.comeBackIn ?? base / 2 + Math.random() * base;
    this.comeBackIn = null;
    this.timer = setTimeout(() => this.connect(), delay);
    const status = this.failures >= OFFLINE_AFTER ? 'offline' : 'reconnecting';
    this.deps.onStatus(status, Date.now() + delay);
    // An EventSource does not tell why it failed: a 401 (logged out elsewhere, session
    // expired) looks like a network error. Ask the API.
    fetch('/api/v1/session', { credentials: 'same-origin', cache: 'no-store' })
      .then((res) => {
        if (res.status === 401 && !this.stopped) this.deps.onLoggedOut();
      })
      .catch(() => {});
  }

  /** The browser is online again: connect now, unless another tab holds the stream. */
  networkBack() {
    if (this.deps.mayConnect() && !this.es && !this.stopped) this.connect();
  }

  /** The browser went offline: close the stream, and resume cleanly when it is back. */
  networkLost() {
    if (!this.deps.mayConnect() || this.stopped) return;
    this.watchdog.stop();
    this.es?.close();
    this.es = null;
    clearTimeout(this.timer);
    this.deps.onStatus('offline', 0);
  }
}
