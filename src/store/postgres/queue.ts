import type pg from 'pg';
import type { WriteHealth } from '../write-health.js';
import { type Settlers, WriteQueue } from '../write-queue.js';
import { type PendingWrite, type Settle, writeBatch } from './append.js';
import { inTransaction, type Stage, type TransactionOptions } from './client.js';
import { appendLock } from './schema.js';

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
 * PostgresStore's writes, committed in groups by the shared WriteQueue (see store.ts in this
 * folder): each batch is written in one transaction that holds the append lock. This adds
 * what only PostgreSQL needs: the stage a batch waits at (for readiness) and probes.
 */
export class AppendQueue {
  /** The append lock, taken right after BEGIN (appendLock). */
  private readonly transaction: TransactionOptions;
  /** The stage of the batch being written, and since when (performance.now()). */
  private stage: { readonly name: Stage; readonly since: number } | undefined;
  private readonly queue: WriteQueue<PendingWrite | Probe>;

  /**
   * Writes through `pool`, taking the append lock of the schema whose lock key is `key`;
   * `health` hears each batch's outcome.
   */
  constructor(
    private readonly pool: pg.Pool,
    key: number,
    private readonly maxOfflinePerUser: number,
    health: WriteHealth,
  ) {
    this.queue = new WriteQueue({ commit: (batch) => this.commit(batch), health });
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
    return this.queue.add((done) => ({ kind: 'probe', write, done }));
  }

  /** Queues the write that `make` builds around its promise's settlers; resolves after commit. */
  add<T>(make: (done: Settle<T>) => PendingWrite): Promise<T> {
    return this.queue.add(make);
  }

  /** Resolves once every write queued before the call has settled. */
  flushed(): Promise<void> {
    return this.queue.flushed();
  }

  /**
   * Writes a batch in one transaction and returns how to settle its writes, probes last.
   * A lost connection during COMMIT leaves the outcome unknown (the WriteQueue rejects the
   * batch); a client retrying with its clientId gets the stored message back if it did commit.
   */
  private async commit(batch: Array<PendingWrite | Probe>): Promise<Settlers> {
    const writes = batch.filter((p): p is PendingWrite => p.kind !== 'probe');
    const probes = batch.filter((p): p is Probe => p.kind === 'probe');
    const settlers = await inTransaction(
      this.pool,
      async (client) => {
        const settle = await writeBatch(client, writes, this.maxOfflinePerUser);
        for (const probe of probes) await probe.write(client);
        return settle;
      },
      this.transaction,
    );
    return [...settlers, ...probes.map((probe) => () => probe.done.resolve())];
  }
}
