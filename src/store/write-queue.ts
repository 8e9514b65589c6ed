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
  /** See MAX_LINGER_TURNS (default LINGER_BUSY_MS); a test seam. */
  readonly lingerBusyMs?: number;
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
 * Turns of the event loop a lone write may wait for others while the queue is busy (its last
 * commit ended less than LINGER_BUSY_MS ago), as long as each turn brings another write. A
 * client that has several requests in flight but whose requests arrive one per turn (ab,
 * which the seed's benchmark uses, does) would otherwise get a commit per message, and with
 * the search index a commit costs as much as ten inserts (bench/store-cost.mjs). An idle
 * queue, a full batch and flushNow never wait.
 */
export const MAX_LINGER_TURNS = 3;
export const LINGER_BUSY_MS = 1;

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
  /** When the last batch finished (performance.now()), and the wait of the next (see above). */
  private lastCommitEnd = Number.NEGATIVE_INFINITY;
  private lingered = 0;
  private lingerSeen = 0;
  private readonly lingerBusyMs: number;

  constructor(options: WriteQueueOptions<W>) {
    this.commit = options.commit;
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.lingerBusyMs = options.lingerBusyMs ?? LINGER_BUSY_MS;
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
    if (!this.writing) this.start();
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
    if (this.pending.length >= this.maxBatch) this.start();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** The end of the turn: writes what is queued, unless it lingers a turn (see above). */
  private readonly drain = (): void => {
    this.scheduled = false;
    if (this.writing) return;
    if (this.lingers()) {
      this.scheduled = true;
      setImmediate(this.drain);
      return;
    }
    this.start();
  };

  /** Writes what is queued now. */
  private start(): void {
    this.scheduled = false;
    if (this.writing) return;
    this.lingered = 0;
    this.lingerSeen = 0;
    this.writing = true;
    this.next();
  }

  /** Whether the queued writes wait one more turn for others (MAX_LINGER_TURNS). */
  private lingers(): boolean {
    const n = this.pending.length;
    // It starts with a lone write, and goes on only while every turn brings one more.
    if (this.lingered === 0 ? n !== 1 : n <= this.lingerSeen) return false;
    if (this.lingered >= MAX_LINGER_TURNS) return false;
    if (this.lingered === 0 && performance.now() - this.lastCommitEnd >= this.lingerBusyMs) {
      return false;
    }
    this.lingered++;
    this.lingerSeen = n;
    return true;
  }

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
    this.lastCommitEnd = performance.now();
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
