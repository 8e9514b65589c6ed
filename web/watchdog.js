// Notices a stream that died without a word. A sleeping laptop, a NAT or proxy that dropped
// the connection, or a server killed with its host can leave an EventSource open forever:
// no error fires because nothing arrives. The server sends a `ping` event on idle streams
// every `heartbeatMs` (it says how often in `hello`), so silence for a few of those means
// the connection is gone.

/** Beats missed before the stream counts as dead. */
const MISSED_BEATS = 2.5;
/** The longest heartbeat a server may be set to (--heartbeat-ms), until hello says. */
const MAX_HEARTBEAT_MS = 30_000;

/** A countdown restarted by every event; calls `onDead` when it runs out. */
export class Watchdog {
  /** @param {() => void} onDead */
  constructor(onDead) {
    this.onDead = onDead;
    this.heartbeatMs = MAX_HEARTBEAT_MS;
    this.timer = 0;
  }

  /**
   * Uses the interval a `hello` announced (ignored when it is not a sane number).
   * @param {unknown} ms
   */
  setHeartbeat(ms) {
    if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 100 && ms <= MAX_HEARTBEAT_MS)
      this.heartbeatMs = ms;
  }

  /** Something arrived: the stream is alive; start counting again. */
  feed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onDead(), this.heartbeatMs * MISSED_BEATS);
  }

  stop() {
    clearTimeout(this.timer);
  }
}
