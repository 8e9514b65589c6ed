import type { Settle } from './pending-write.js';
import type { WriteHealth } from './write-health.js';

/** A write waiting in a WriteQueue: whatever the engine needs, and how to fail its promise. */
export interface Queued {
  readonly done: Pick<Settle<never>, 'reject'>;
}

/** How each write of a committed batch is settled, in call order. */
export type Settlers = ReadonlyArray<() => void>;

/**
 * What differs between engines: how one batch is written. `commit` writes `batch` in one
 * transaction and returns how to settle each write once it has committed. A write the engine
 * refuses (a full mailbox, a change the room rules forbid) settles through its settler without
 * spoiling the batch; a throw (or a rejection) fails every write of the batch with that error.
 * SQLite commits synchronously (better-sqlite3), PostgreSQL asynchronously.
 */
export type CommitBatch<W> = (batch: W[]) => Settlers | Promise<Settlers>;

/** Options of a WriteQueue. */
export interface WriteQueueOptions<W> {
  /** Writes one batch; see CommitBatch. */
  readonly commit: CommitBatch<W>;
  /**
   * Most writes one transaction takes (default MAX_BATCH). A full batch is written at once,
   * without waiting for the end of the turn.
   */
  readonly maxBatch?: number;
  /** Hears each batch's outcome (a Store engine's WriteHealth, for readiness). */
  readonly health?: Pick<WriteHealth, 'succeeded' | 'failed'>;
}

/**
 * Most writes one transaction takes by default. The queue is bounded anyway by the requests in
 * flight, each of which waits for its write; this keeps one commit's write lock (SQLite's file
 * lock, PostgreSQL's cluster-wide append lock) short.
 */
export const MAX_BATCH = 256;

/**
 * The group commit both engines share: the writes called in one turn of the event loop form
 * one batch, written in one transaction, so concurrent senders share a commit (a commit costs
 * about as much as all the inserts of a small batch together). Writes called while a batch is
 * being written form the next one. Batches are written one after another, in call order, so
 * ids follow the order of calls whatever the kind of write; promises settle in that order too.
 */
export class WriteQueue<W extends Queued> {
  private readonly commit: CommitBatch<W>;
  private readonly maxBatch: number;
  private readonly health: WriteQueueOptions<W>['health'];
  private pending: W[] = [];
  private scheduled = false;
  private writing = false;
  /** Writes ever queued, and writes ever settled: batches settle in queue order. */
  private queued = 0;
  private settled = 0;
  private waiters: Array<{ readonly upTo: number; readonly wake: () => void }> = [];

  constructor(options: WriteQueueOptions<W>) {
    this.commit = options.commit;
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.health = options.health;
  }

  /** Queues the write that `make` builds around its promise's settlers; settles after commit. */
  add<T>(make: (done: Settle<T>) => W): Promise<T> {
    return new Promise((resolve, reject) => this.enqueue(make({ resolve, reject })));
  }

  /**
   * Starts writing what is queued now instead of at the end of the turn. With an engine that
   * commits synchronously (SQLite) everything queued has settled when it returns, so a read
   * that follows sees it; an asynchronous engine's reads wait for `flushed` instead.
   */
  flushNow(): void {
    if (!this.writing) this.drain();
  }

  /** Resolves once every write queued before the call has settled. */
  flushed(): Promise<void> {
    const upTo = this.queued;
    if (this.settled >= upTo) return Promise.resolve();
    return new Promise((wake) => this.waiters.push({ upTo, wake }));
  }

  private enqueue(write: W): void {
    this.pending.push(write);
    this.queued++;
    // While a batch is being written, the writer picks this one up when it finishes.
    if (this.writing) return;
    if (this.pending.length >= this.maxBatch) this.drain();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    if (this.writing) return;
    this.writing = true;
    this.next();
  };

  /**
   * Writes batches of at most maxBatch until the queue is empty. A synchronous commit goes on
   * in this call; an asynchronous one goes on when its promise settles.
   */
  private next(): void {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      let outcome: Settlers | Promise<Settlers>;
      try {
        outcome = this.commit(batch);
      } catch (err) {
        this.failed(batch, err);
        continue;
      }
      if (outcome instanceof Promise) {
        outcome
          .then(
            (settlers) => this.committed(batch, settlers),
            (err: unknown) => this.failed(batch, err),
          )
          .then(() => this.next());
        return;
      }
      this.committed(batch, outcome);
    }
    this.writing = false;
  }

  private committed(batch: W[], settlers: Settlers): void {
    this.tellHealth(() => this.health?.succeeded());
    for (const settle of settlers) settle();
    this.done(batch.length);
  }

  private failed(batch: W[], err: unknown): void {
    this.tellHealth(() => this.health?.failed(err));
    for (const w of batch) w.done.reject(err);
    this.done(batch.length);
  }

  /**
   * Tells write health how a batch went. Its listeners log (ops/store-outage-log.ts); one that
   * threw here would leave `writing` set and every later write waiting forever, unanswered,
   * so what it throws is dropped: the batch's writes are settled all the same.
   */
  private tellHealth(tell: () => void): void {
    try {
      tell();
    } catch {
      // Dropped on purpose; see above.
    }
  }

  private done(n: number): void {
    this.settled += n;
    // Most batches have nobody waiting on them: no filtering, no new arrays.
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.upTo <= this.settled);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.upTo > this.settled);
    for (const w of ready) w.wake();
  }
}
