import { MAX_ROSTER_BATCH } from '../domain/profile.js';
import type { Logger } from '../logger.js';
import type { Presence } from '../presence/presence.js';
import type { RosterStore } from '../store/roster-store.js';

/**
 * How often the nicks seen are written (the `last_seen` column, roster-store.ts): a user's
 * last_seen is thus at most this late, and each user costs at most one row update per
 * interval per process, however often their streams open and close.
 */
export const LAST_SEEN_FLUSH_MS = 60_000;
/**
 * Most nicks held between two flushes; past it, a nick seen is not recorded until the next
 * interval (a bound on memory when a crowd reconnects at once; its members are online anyway).
 */
export const MAX_LAST_SEEN_PENDING = 100_000;

/**
 * Records when accounts were last seen: a stream of theirs opened or closed (Presence connect
 * and disconnect, watched through `watch`). Nicks are kept in memory and written in one batch
 * per LAST_SEEN_FLUSH_MS (and at close), so the hot path adds a nick to a Set and nothing else.
 * A batch that fails (store down) is kept for the next flush.
 */
export class LastSeen {
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: RosterStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    flushMs = LAST_SEEN_FLUSH_MS,
  ) {
    this.timer = setInterval(() => void this.flush(), flushMs);
    this.timer.unref();
  }

  /** Notes that `nick` was here now. */
  mark(nick: string): void {
    if (this.pending.size >= MAX_LAST_SEEN_PENDING && !this.pending.has(nick)) return;
    this.pending.set(nick, this.now());
  }

  /** Writes the nicks noted since the last flush. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops the timer and writes what is pending. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    // One `at` per batch: the latest mark, to the flush interval's precision anyway.
    let at = 0;
    for (const t of batch.values()) if (t > at) at = t;
    const nicks = [...batch.keys()];
    try {
      for (let i = 0; i < nicks.length; i += MAX_ROSTER_BATCH) {
        await this.store.seen(nicks.slice(i, i + MAX_ROSTER_BATCH), at);
      }
    } catch (err) {
      this.logger.warn('last seen not written', { err, users: nicks.length });
      for (const [nick, t] of batch) {
        if (this.pending.size >= MAX_LAST_SEEN_PENDING) break;
        if (!this.pending.has(nick)) this.pending.set(nick, t);
      }
    }
  }
}

/** `presence`, with every connect and disconnect noted in `seen`. */
export function watchPresence(presence: Presence, seen: LastSeen): Presence {
  return new Proxy(presence, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === 'connect' || prop === 'disconnect') {
        return (nick: string, ...rest: unknown[]) => {
          seen.mark(nick);
          return (value as (...a: unknown[]) => unknown).call(target, nick, ...rest);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
