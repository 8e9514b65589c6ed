import type pg from 'pg';
import { type PendingWrite, type Settle, writeBatch } from './postgres-append.js';
import { inTransaction, LOCK } from './postgres-schema.js';

/**
 * Most appends one transaction takes. The queue is bounded anyway by the requests in flight,
 * each of which waits for its append; this keeps one transaction, and so the cluster-wide
 * append lock, short.
 */
const MAX_BATCH = 256;

/**
 * PostgresStore's writes, committed in groups (see postgres-store.ts): the writes called in
 * one turn of the event loop form one batch, written in one transaction that holds the append
 * lock; writes called while a batch is being written form the next one. Batches are written
 * one after another, in call order, so ids follow the order of calls.
 */
export class AppendQueue {
  /** `BEGIN` and the append lock in one round trip (a simple query may hold several). */
  private readonly begin: string;
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private writing = false;
  /** Writes ever queued, and writes ever settled: batches settle in queue order. */
  private queued = 0;
  private settled = 0;
  private waiters: Array<{ readonly upTo: number; readonly wake: () => void }> = [];

  /** Writes through `pool`, taking the append lock of the schema whose lock key is `key`. */
  constructor(
    private readonly pool: pg.Pool,
    key: number,
    private readonly maxOfflinePerUser: number,
  ) {
    // Both are integers we chose, not input: safe to inline.
    this.begin = `BEGIN; SELECT pg_advisory_xact_lock(${LOCK.append}, ${key})`;
  }

  /** Queues the write that `make` builds around its promise's settlers; resolves after commit. */
  add<T>(make: (done: Settle<T>) => PendingWrite): Promise<T> {
    return new Promise((resolve, reject) => this.enqueue(make({ resolve, reject })));
  }

  private enqueue(write: PendingWrite): void {
    this.pending.push(write);
    this.queued++;
    // While a batch is being written, the writer picks this one up when it finishes.
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** Resolves once every write queued before the call has settled. */
  flushed(): Promise<void> {
    const upTo = this.queued;
    if (this.settled >= upTo) return Promise.resolve();
    return new Promise((wake) => this.waiters.push({ upTo, wake }));
  }

  /** Writes the queue in batches of at most MAX_BATCH, one after another, in call order. */
  private readonly drain = async (): Promise<void> => {
    this.scheduled = false;
    this.writing = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      await this.commit(batch);
      this.settled += batch.length;
      const ready = this.waiters.filter((w) => w.upTo <= this.settled);
      this.waiters = this.waiters.filter((w) => w.upTo > this.settled);
      for (const w of ready) w.wake();
    }
    this.writing = false;
  };

  /**
   * Commits a batch in one transaction and settles its promises in call order. Never throws:
   * when the transaction fails, every write of the batch is rejected with the error. A lost
   * connection during COMMIT leaves the outcome unknown; a client retrying with its clientId
   * gets the stored message back if it did commit.
   */
  private async commit(batch: PendingWrite[]): Promise<void> {
    let settlers: Array<() => void>;
    try {
      settlers = await inTransaction(
        this.pool,
        (client) => writeBatch(client, batch, this.maxOfflinePerUser),
        this.begin,
      );
    } catch (err) {
      for (const p of batch) p.done.reject(err);
      return;
    }
    for (const settle of settlers) settle();
  }
}
