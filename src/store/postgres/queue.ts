import type pg from 'pg';
import { type PendingWrite, type Settle, writeBatch } from './append.js';
import { inTransaction, type Stage, type TransactionOptions } from './client.js';
import { appendLock } from './schema.js';

/**
 * Most appends one transaction takes. The queue is bounded anyway by the requests in flight,
 * each of which waits for its append; this keeps one transaction, and so the cluster-wide
 * append lock, short.
 */
const MAX_BATCH = 256;

/**
 * How long a batch may spend in one stage other than the append lock's wait before readiness
 * takes the append path as stuck (stalled). BEGIN (with the wait for a pooled connection and
 * its retries on other connections), the batch's statements and COMMIT take milliseconds;
 * only the lock may legitimately wait long, behind another node's batch (up to LOCK_WAIT_MS),
 * and that wait is not counted. Long enough that a burst which keeps every pooled connection
 * busy for a moment (a reconnect storm's reads) does not take the node out of rotation; short
 * enough to be seen before a silent connection's BEGIN and query timeouts run out.
 */
export const APPEND_STALL_MS = 2_500;

/** A readiness probe waiting in the queue: a write of its own, through the append path. */
interface Probe {
  readonly kind: 'probe';
  readonly write: (client: pg.PoolClient) => Promise<unknown>;
  readonly done: Settle<void>;
}

/**
 * PostgresStore's writes, committed in groups (see postgres-store.ts): the writes called in
 * one turn of the event loop form one batch, written in one transaction that holds the append
 * lock; writes called while a batch is being written form the next one. Batches are written
 * one after another, in call order, so ids follow the order of calls.
 */
export class AppendQueue {
  /** The append lock, taken right after BEGIN (appendLock). */
  private readonly transaction: TransactionOptions;
  private pending: Array<PendingWrite | Probe> = [];
  /** The stage of the batch being written, and since when (performance.now()). */
  private stage: { readonly name: Stage; readonly since: number } | undefined;
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
    this.transaction = {
      lock: appendLock(key),
      onStage: (name) => {
        // A BEGIN tried again on another connection goes on counting from the first try.
        if (name === 'begin' && this.stage?.name === 'begin') return;
        this.stage = name && { name, since: performance.now() };
      },
    };
  }

  /**
   * Why the append path looks stuck, or undefined: the batch being written has waited more
   * than APPEND_STALL_MS for an answer that should take milliseconds (a silent connection),
   * or longer than the lock may be waited for.
   */
  stalled(): string | undefined {
    const stage = this.stage;
    if (!stage) return undefined;
    const ms = performance.now() - stage.since;
    const bound = stage.name === 'lock' ? (this.transaction.lock?.timeoutMs ?? 0) : APPEND_STALL_MS;
    if (ms <= bound) return undefined;
    return `an append has waited ${Math.round(ms)} ms at ${stage.name}`;
  }

  /**
   * Goes through the append path as a batch would, after the writes queued before it: takes
   * the append lock and runs `write` (a small write of readiness's own) in the batch's
   * transaction. Resolves after commit.
   */
  probe(write: (client: pg.PoolClient) => Promise<unknown>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'probe', write, done: { resolve, reject } });
    });
  }

  /** Queues the write that `make` builds around its promise's settlers; resolves after commit. */
  add<T>(make: (done: Settle<T>) => PendingWrite): Promise<T> {
    return new Promise((resolve, reject) => this.enqueue(make({ resolve, reject })));
  }

  private enqueue(write: PendingWrite | Probe): void {
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
  private async commit(batch: Array<PendingWrite | Probe>): Promise<void> {
    const writes = batch.filter((p): p is PendingWrite => p.kind !== 'probe');
    const probes = batch.filter((p): p is Probe => p.kind === 'probe');
    let settlers: Array<() => void>;
    try {
      settlers = await inTransaction(
        this.pool,
        async (client) => {
          const settle = await writeBatch(client, writes, this.maxOfflinePerUser);
          for (const probe of probes) await probe.write(client);
          return settle;
        },
        this.transaction,
      );
    } catch (err) {
      for (const p of batch) p.done.reject(err);
      return;
    }
    for (const settle of settlers) settle();
    for (const probe of probes) probe.done.resolve();
  }
}
