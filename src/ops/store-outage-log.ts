import type { Logger } from '../logger.js';

/**
 * Least time between two lines about requests refused for a store that cannot write, in ms.
 * A full disk refuses every send of every user; a line per request would fill the rest of
 * that disk with the same words. One line per interval, with the count, says as much.
 */
export const STORE_REFUSED_LOG_INTERVAL_MS = 10_000;

/** The code and first line of a store's error: what an operator needs, without a stack. */
function describe(err: unknown): { code?: string; reason: string } {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: typeof code === 'string' ? code : undefined,
    reason: message.split('\n')[0] ?? '',
  };
}

/**
 * The log of a store that cannot write (a full disk, a read-only file, a lost database). It
 * is a known condition, not a bug, so no line carries a stack: one line when writes start
 * failing and one when they work again (from the engine's WriteHealth, via `changed`), and
 * for the requests refused meanwhile (503 SERVER_STORE_UNAVAILABLE, via `refused`) at most
 * one line per STORE_REFUSED_LOG_INTERVAL_MS saying how many were refused since the last
 * line. Requests refused by an error the engine does not count as a failed write (a read on
 * a lost connection) are logged the same way. Lines are written as refusals arrive, with no
 * timer: the count of the last ones is in the line that says writes work again.
 */
export class StoreOutageLog {
  /** When the last line about the store was written (ms, per `now`); -Infinity before. */
  private lastLineAt = Number.NEGATIVE_INFINITY;
  /** Requests refused since that line. */
  private refusedSince = 0;
  /** When writes started failing, while they do. */
  private failingSince: number | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = STORE_REFUSED_LOG_INTERVAL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A WriteHealthListener: writes started failing with `failure`, or work again (undefined). */
  readonly changed = (failure: Error | undefined): void => {
    const now = this.now();
    if (failure !== undefined) {
      this.failingSince = now;
      this.logger.warn('store cannot write', { ...describe(failure), refused: this.refusedSince });
    } else {
      const seconds =
        this.failingSince === undefined ? undefined : Math.round((now - this.failingSince) / 1000);
      this.failingSince = undefined;
      this.logger.warn('store writes again', { refused: this.refusedSince, seconds });
    }
    this.lastLineAt = now;
    this.refusedSince = 0;
  };

  /** Counts a request answered 503 SERVER_STORE_UNAVAILABLE because of `err`. */
  refused(err: unknown): void {
    this.refusedSince++;
    const now = this.now();
    if (now - this.lastLineAt < this.intervalMs) return;
    this.logger.warn('requests refused: the store is unavailable', {
      ...describe(err),
      refused: this.refusedSince,
    });
    this.lastLineAt = now;
    this.refusedSince = 0;
  }
}
