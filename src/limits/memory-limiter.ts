import { performance } from 'node:perf_hooks';
import type { Bucket, Limiter } from './limiter.js';

/** One key's bucket: tokens left at `at` (ms, the limiter's clock). */
interface State {
  tokens: number;
  at: number;
}

/** Options of a MemoryLimiter. */
export interface MemoryLimiterOptions extends Bucket {
  /**
   * Most keys tracked at once [default 100000]. About 150 bytes each, plus the key. When the
   * table is full, the key hit least recently is forgotten (it starts full again): a client
   * cycling through fresh keys can evict entries but never grow memory.
   */
  readonly maxKeys?: number;
  /** A millisecond clock; monotonic by default so that a wall-clock step changes nothing. */
  readonly now?: () => number;
}

/**
 * A token bucket per key in this process's memory: for one process, or where a per-process
 * limit is meant. No timers: a bucket refills lazily when its key is next hit.
 */
export class MemoryLimiter implements Limiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #states = new Map<string, State>();

  constructor(options: MemoryLimiterOptions) {
    const { rate, burst, maxKeys = 100_000, now = () => performance.now() } = options;
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`invalid rate: ${rate}`);
    if (!Number.isSafeInteger(burst) || burst < 1) throw new RangeError(`invalid burst: ${burst}`);
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`invalid maxKeys: ${maxKeys}`);
    }
    this.#rate = rate;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#states.size;
  }

  /** The synchronous form of `take`, for callers in this process. */
  takeNow(key: string): number {
    const now = this.#now();
    let state = this.#states.get(key);
    if (state === undefined) {
      if (this.#states.size >= this.#maxKeys) {
        const oldest = this.#states.keys().next();
        if (!oldest.done) this.#states.delete(oldest.value);
      }
      state = { tokens: this.#burst, at: now };
    } else {
      // Re-insert: the Map's order is then least recently hit first, for eviction.
      this.#states.delete(key);
      state.tokens = Math.min(this.#burst, state.tokens + ((now - state.at) * this.#rate) / 1000);
      state.at = now;
    }
    this.#states.set(key, state);
    if (state.tokens >= 1) {
      state.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - state.tokens) * 1000) / this.#rate));
  }

  take(key: string): Promise<number> {
    return Promise.resolve(this.takeNow(key));
  }

  async close(): Promise<void> {
    this.#states.clear();
  }
}
