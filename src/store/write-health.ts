import { isStoreUnavailable } from '../domain/store-unavailable.js';

/**
 * Hears a store's writes start failing because the backend cannot write (`failure`, the
 * first error) and work again (undefined): once per change, however many writes fail, so
 * that the log says it once (ops/store-outage-log.ts).
 */
export type WriteHealthListener = (failure: Error | undefined) => void;

/**
 * What a Store engine remembers of its last write, for readiness. A write that failed
 * because the backend cannot write (isStoreUnavailable) marks the store failing; a write that
 * succeeds clears it. While failing, the engine's ping makes a small write of its own instead
 * of its usual read, and fails with the last error until one succeeds: a process that left
 * its load balancer for a full disk gets no traffic to prove that space came back, so it has
 * to find out itself. A healthy store pings with its usual read, so the write costs nothing
 * under normal load; while failing it costs one small write per readiness check (at most one
 * a second, see ops/readiness.ts), in each process of a cluster.
 */
export class WriteHealth {
  private lastFailure: Error | undefined;

  /** `onChange` hears each change of state, not each write (see WriteHealthListener). */
  constructor(private readonly onChange?: WriteHealthListener) {}

  /** The error that made the store failing, or undefined when its last write succeeded. */
  get failure(): Error | undefined {
    return this.lastFailure;
  }

  /** Records a write that succeeded. */
  succeeded(): void {
    if (this.lastFailure === undefined) return;
    this.lastFailure = undefined;
    this.onChange?.(undefined);
  }

  /** Records a write that failed; only a failure of the backend makes the store failing. */
  failed(err: unknown): void {
    if (!isStoreUnavailable(err)) return;
    const was = this.lastFailure;
    this.lastFailure = err as Error;
    if (was === undefined) this.onChange?.(this.lastFailure);
  }

  /**
   * Runs `probe` (a small write) while the store is failing: clears the failure when it
   * succeeds, else throws an error naming what failed. Does nothing while healthy.
   */
  async check(probe: () => unknown): Promise<void> {
    if (this.lastFailure === undefined) return;
    try {
      await probe();
    } catch (err) {
      this.failed(err);
      const reason = err instanceof Error ? err.message : String(err);
      const code = (err as { code?: unknown }).code;
      throw new Error(
        `the store cannot write: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`,
      );
    }
    this.succeeded();
  }
}
