import { performance } from 'node:perf_hooks';

/** Options of a RateLimiter. */
export interface RateLimiterOptions {
  /** Most hits allowed per key within any `windowMs` span; a positive integer. */
  readonly limit: number;
  /** Length of the sliding window in ms; positive. */
  readonly windowMs: number;
  /**
   * Most keys tracked at once; a positive integer. Memory is about
   * maxKeys × (limit × 8 bytes + key length + ~150 bytes of overhead).
   */
  readonly maxKeys: number;
}

/** One key's recent allowed hits: a ring buffer of timestamps, oldest at `head`. */
interface Entry {
  readonly times: Float64Array;
  head: number;
  count: number;
}

/**
 * Counts hits per key (a nick, an IP address) in an exact sliding window: a hit is allowed when
 * fewer than `limit` allowed hits happened in the last `windowMs`. Each key keeps the times of
 * its last `limit` allowed hits, so there is no burst at a window boundary as with fixed windows,
 * and the Retry-After it reports is exact. Refused hits are not recorded, so waiting the reported
 * time always works, however hard a client hammers meanwhile.
 *
 * Memory is bounded by `maxKeys`. When a new key arrives and the table is full, the key hit least
 * recently goes (every hit moves its key to the end of the Map's insertion order). So an attacker
 * who cycles through fresh keys can only evict entries, never grow memory. The price: to reset a
 * victim key's count, they must send `maxKeys` hits on other keys after the victim's last hit, so
 * size maxKeys well above what one client can send in a window, and pair a per-account limiter
 * with a per-address one.
 *
 * There are no timers (entries expire lazily when next looked at), so a limiter never keeps the
 * process alive and costs nothing while idle.
 *
 * `now` is a millisecond clock; it defaults to `performance.now()`, which is monotonic, unlike
 * `Date.now()`, so a wall-clock step cannot lock everyone out. Pass the same clock on every call.
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #entries = new Map<string, Entry>();

  constructor(options: RateLimiterOptions) {
    const { limit, windowMs, maxKeys } = options;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`invalid limit: ${limit}`);
    if (!Number.isFinite(windowMs) || windowMs <= 0) {
      throw new RangeError(`invalid windowMs: ${windowMs}`);
    }
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`invalid maxKeys: ${maxKeys}`);
    }
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /** How many keys are tracked now (expired ones included until they are evicted or touched). */
  get size(): number {
    return this.#entries.size;
  }

  /** Records a hit when allowed and returns 0, or returns the ms until a hit would be allowed. */
  hit(key: string, now: number = performance.now()): number {
    let entry = this.#entries.get(key);
    if (entry) {
      // Move to the end: the Map's insertion order is then least recently hit first.
      this.#entries.delete(key);
    } else {
      if (this.#entries.size >= this.#maxKeys) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
      entry = { times: new Float64Array(this.#limit), head: 0, count: 0 };
    }
    this.#entries.set(key, entry);
    const wait = this.#wait(entry, now);
    if (wait === 0) {
      entry.times[(entry.head + entry.count) % this.#limit] = now;
      entry.count++;
    }
    return wait;
  }

  /** Returns what `hit` would return, without recording anything. */
  check(key: string, now: number = performance.now()): number {
    const entry = this.#entries.get(key);
    return entry ? this.#wait(entry, now) : 0;
  }

  /** Forgets a key, e.g. after a successful login. */
  reset(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops hits that left the window, then returns 0 or the ms until the oldest one leaves. */
  #wait(entry: Entry, now: number): number {
    // A hit at time t counts while now < t + windowMs.
    while (entry.count > 0 && (entry.times[entry.head] ?? 0) + this.#windowMs <= now) {
      entry.head = (entry.head + 1) % this.#limit;
      entry.count--;
    }
    if (entry.count < this.#limit) return 0;
    const wait = (entry.times[entry.head] ?? 0) + this.#windowMs - now;
    // Whole ms, at least 1 so that a refusal is never 0; at most windowMs should an injected
    // clock go backwards.
    return Math.min(Math.max(1, Math.ceil(wait)), Math.ceil(this.#windowMs));
  }
}
