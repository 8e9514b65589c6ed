/**
 * The PostgreSQL Store, for several ssechat processes ("nodes") sharing one database.
 *
 * How resume stays gap-free. Ids come from one sequence, messages_id_seq. A sequence alone
 * hands out ids in the order nodes ask, not in the order their transactions commit: node A
 * could draw 10, node B draw 11 and commit first, and a reader (a resuming client, or a
 * Sequencer filling a gap) would see 11, move its cursor past 10, and never see 10 when it
 * commits a moment later. So every append transaction takes one advisory lock (LOCK.append,
 * per schema) *before* it draws ids, and holds it until it commits. PostgreSQL makes a commit
 * visible before it releases the transaction's locks, so the next transaction draws its ids
 * only after the previous one is visible, and ids become visible in id order. Hence:
 *
 * - Any snapshot sees a prefix of the ids: when a reader sees id n, every id below n is
 *   committed or will never exist (a hole left by a transaction that failed and rolled back,
 *   whose ids the sequence does not give back).
 * - head() = max(id) is safe as a resume point, and since()/log() after a cursor never miss a
 *   row that commits later.
 *
 * The lock serializes writers, which group commit makes cheap: each node writes the appends
 * called in one turn of its event loop as one batch in one transaction, so the lock is taken
 * once per batch, not once per message. The same lock makes the mailbox limit and the clientId
 * check exact across nodes: no other node can append between the lookup and the insert.
 */
import pg from 'pg';
import type {
  EventId,
  LoggedEvent,
  NewMessage,
  NewReceipt,
  StoredMessage,
  StoredReceipt,
} from '../core/events.js';
import { ChatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { PostgresAccounts } from './postgres-accounts.js';
import { COLUMNS, PostgresLog, type Row, toMessage } from './postgres-log.js';
import {
  checkSchemaName,
  effectiveSchema,
  inTransaction,
  LOCK,
  migrate,
  poolConfig,
  schemaKey,
} from './postgres-schema.js';
import type { Appended, RetentionPolicy, Store, StoreLimits } from './store.js';

/** Options for the PostgreSQL backend. */
export interface PostgresStoreOptions extends StoreLimits {
  /** Connection string, e.g. `postgres://user@host:5432/db`. */
  readonly url: string;
  /**
   * Schema that holds the tables, created if missing (see checkSchemaName for the allowed
   * names); without it, the connection's default search_path (usually `public`).
   */
  readonly schema?: string;
  /** Most connections this process opens; default DEFAULT_POOL_SIZE. */
  readonly poolSize?: number;
  /** Where a connection that fails while idle in the pool is reported. */
  readonly logger?: Logger;
}

/**
 * Connections per process by default. Appends use one at a time (batches are written one
 * after another); the rest serve reads, takeOffline and accounts concurrently.
 */
export const DEFAULT_POOL_SIZE = 10;

/**
 * Most appends one transaction takes. The queue is bounded anyway by the requests in flight,
 * each of which waits for its append; this keeps one transaction, and so the cluster-wide
 * append lock, short.
 */
const MAX_BATCH = 256;

interface Settle<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

type PendingWrite =
  | { readonly kind: 'message'; readonly message: NewMessage; readonly done: Settle<Appended> }
  | { readonly kind: 'read'; readonly receipt: NewReceipt; readonly done: Settle<StoredReceipt> };

/** A row mailbox or clientId lookup found; `waiting` is set only on mailbox sizes. */
type LookupRow = Row & { waiting: number | null };

// Both lookups a batch needs, in one round trip: the first messages of the batch's
// (sender, clientId) pairs, and the size of each mailbox the batch adds to.
const LOOKUP: pg.QueryConfig = {
  name: 'ssechat_append_lookup',
  text: `
  SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')}, NULL::int8 AS waiting
    FROM unnest($1::text[], $2::text[]) AS k (sender, client_id)
    JOIN messages m ON m.sender = k.sender AND m.client_id = k.client_id
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, recipient, NULL, NULL, NULL, NULL, count(*)
    FROM offline WHERE recipient = ANY ($3::text[]) GROUP BY recipient`,
};

// Draws $1 ids and pairs the k-th smallest with the k-th row, so ids follow the order of the
// arrays (the order of calls) whatever order nextval() ran in; the caller sorts the returned
// ids to match. Rows of offline messages go to the mailbox in the same statement. The
// ranking is needed: nothing in SQL promises that nextval() runs in generate_series order.
const INSERT: pg.QueryConfig = {
  name: 'ssechat_append',
  text: `
  WITH ids AS MATERIALIZED (
    SELECT nextval('messages_id_seq') AS id FROM generate_series(1, $1::int)
  ), ranked AS (
    SELECT id, row_number() OVER (ORDER BY id) AS ord FROM ids
  ), stored AS (
    INSERT INTO messages (id, kind, ts, sender, recipient, text, offline, client_id, up_to)
    SELECT r.id, u.kind, u.ts, u.sender, u.recipient, u.text, u.offline, u.client_id, u.up_to
      FROM unnest($2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::bool[],
                  $8::text[], $9::int8[])
             WITH ORDINALITY AS u (kind, ts, sender, recipient, text, offline, client_id,
                                   up_to, ord)
      JOIN ranked r ON r.ord = u.ord
    RETURNING id, recipient, offline
  ), mailed AS (
    INSERT INTO offline (recipient, message_id) SELECT recipient, id FROM stored WHERE offline
  )
  SELECT id FROM stored`,
};

/** The Store for a cluster of ssechat processes: one PostgreSQL database (or schema of one). */
export class PostgresStore implements Store {
  readonly accounts: PostgresAccounts;
  private readonly journal: PostgresLog;
  /** `BEGIN` and the append lock in one round trip (a simple query may hold several). */
  private readonly begin: string;
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private writing = false;
  /** Writes ever queued, and writes ever settled: batches settle in queue order. */
  private queued = 0;
  private settled = 0;
  private waiters: Array<{ readonly upTo: number; readonly wake: () => void }> = [];
  private closing: Promise<void> | undefined;

  /**
   * Connects, creates the schema if it is given and missing, and migrates it (see migrate in
   * postgres-schema.ts); throws, with the pool closed, when any of that fails.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    if (options.schema !== undefined) checkSchemaName(options.schema);
    const pool = new pg.Pool(
      poolConfig(options.url, options.schema, options.poolSize ?? DEFAULT_POOL_SIZE),
    );
    // Without a listener, a server that drops an idle pooled connection (a restart, a
    // failover) would crash the process. The pool discards that connection; the next query
    // opens a new one, or fails and reports it.
    pool.on('error', (err) => {
      options.logger?.warn('PostgreSQL connection lost while idle', { err });
    });
    let schema: string;
    try {
      const client = await pool.connect();
      try {
        schema = await effectiveSchema(client, options.schema);
        await migrate(client, schema, options.schema !== undefined);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresStore(pool, options, schemaKey(schema));
  }

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresStoreOptions,
    key: number,
  ) {
    this.accounts = new PostgresAccounts(pool, key);
    this.journal = new PostgresLog(pool);
    // Both are integers we chose, not input: safe to inline.
    this.begin = `BEGIN; SELECT pg_advisory_xact_lock(${LOCK.append}, ${key})`;
  }

  /**
   * Queues the message and commits it with every other append of this turn of the event loop,
   * in one transaction (group commit); appends called while a batch is being written form the
   * next one. Resolves after the commit.
   */
  append(message: NewMessage): Promise<Appended> {
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'message', message, done: { resolve, reject } });
    });
  }

  /** Queues the receipt with the messages, so that its id follows the order of calls. */
  appendReceipt(receipt: NewReceipt): Promise<StoredReceipt> {
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'read', receipt, done: { resolve, reject } });
    });
  }

  // Reads wait for the appends queued before them: the contract says they see every append
  // called before them (a message queued for a user who is logging in lands in that login's
  // mailbox or replay, not the next one).

  async takeOffline(nick: string): Promise<StoredMessage[]> {
    await this.flushed();
    return this.journal.takeOffline(nick);
  }

  async head(): Promise<EventId> {
    await this.flushed();
    return this.journal.head();
  }

  async prunedThrough(): Promise<EventId> {
    return this.journal.prunedThrough();
  }

  async since(viewer: string, after: EventId, limit: number): Promise<LoggedEvent[]> {
    await this.flushed();
    return this.journal.since(viewer, after, limit);
  }

  async log(after: EventId, limit: number): Promise<LoggedEvent[]> {
    await this.flushed();
    return this.journal.all(after, limit);
  }

  async history(
    viewer: string,
    peer: string,
    before: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    await this.flushed();
    return this.journal.history(viewer, peer, before, limit);
  }

  async message(id: EventId): Promise<StoredMessage | undefined> {
    await this.flushed();
    return this.journal.message(id);
  }

  /** See PostgresLog.prune: oldest first, in chunks; close() ends it between chunks. */
  prune(policy: RetentionPolicy): Promise<number> {
    return this.journal.prune(policy, () => this.closing !== undefined);
  }

  /** Writes the queued appends, then closes every connection. Calling it again is harmless. */
  close(): Promise<void> {
    this.closing ??= this.flushed().then(() => this.pool.end());
    return this.closing;
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
  private flushed(): Promise<void> {
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
      await this.writeBatch(batch);
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
  private async writeBatch(batch: PendingWrite[]): Promise<void> {
    let settlers: Array<() => void>;
    try {
      settlers = await inTransaction(this.pool, (client) => this.write(client, batch), this.begin);
    } catch (err) {
      for (const p of batch) p.done.reject(err);
      return;
    }
    for (const settle of settlers) settle();
  }

  /**
   * Writes a batch inside the caller's transaction, which holds the append lock, and returns
   * for each write how to settle its promise once the batch has committed.
   */
  private async write(client: pg.PoolClient, batch: PendingWrite[]): Promise<Array<() => void>> {
    const { firsts, waiting } = await this.lookup(client, batch);
    // What each write becomes: a row of this batch (new, or a clientId retry of an earlier
    // one), a message stored before, or an error.
    type Outcome = { readonly row: number; readonly created: boolean } | Row | ChatError;
    const rows: PendingWrite[] = [];
    const outcomes: Outcome[] = [];
    for (const p of batch) {
      if (p.kind === 'read') {
        outcomes.push({ row: rows.push(p) - 1, created: true });
        continue;
      }
      const { from, to, offline, clientId } = p.message;
      // Checked before the mailbox, so that a retry neither fills nor is refused by a mailbox
      // the first send already counts in. `firsts` also learns this batch's new rows.
      const key = clientId === undefined ? undefined : pairKey(from, clientId);
      const first = key === undefined ? undefined : firsts.get(key);
      if (first !== undefined) {
        outcomes.push(typeof first === 'number' ? { row: first, created: false } : first);
        continue;
      }
      if (offline) {
        const n = waiting.get(to) ?? 0;
        if (n >= this.options.maxOfflinePerUser) {
          outcomes.push(new ChatError('CHAT_MAILBOX_FULL'));
          continue;
        }
        waiting.set(to, n + 1);
      }
      const row = rows.push(p) - 1;
      if (key !== undefined) firsts.set(key, row);
      outcomes.push({ row, created: true });
    }
    const ids = rows.length === 0 ? [] : await insert(client, rows);
    const stored = rows.map((p, i) => toStored(p, ids[i] as number));
    return batch.map((p, i) => {
      const outcome = outcomes[i] as Outcome;
      if (outcome instanceof ChatError) return () => p.done.reject(outcome);
      if (p.kind === 'read') {
        const receipt = stored[(outcome as { row: number }).row] as StoredReceipt;
        return () => p.done.resolve(receipt);
      }
      const appended: Appended =
        'row' in outcome
          ? { message: stored[outcome.row] as StoredMessage, created: outcome.created }
          : { message: toMessage(outcome), created: false };
      return () => p.done.resolve(appended);
    });
  }

  /** The stored first message of each (sender, clientId) in the batch, and mailbox sizes. */
  private async lookup(
    client: pg.PoolClient,
    batch: PendingWrite[],
  ): Promise<{ firsts: Map<string, Row | number>; waiting: Map<string, number> }> {
    const senders: string[] = [];
    const clientIds: string[] = [];
    const mailboxes = new Set<string>();
    for (const p of batch) {
      if (p.kind !== 'message') continue;
      const { from, to, offline, clientId } = p.message;
      if (clientId !== undefined) {
        senders.push(from);
        clientIds.push(clientId);
      }
      if (offline) mailboxes.add(to);
    }
    const firsts = new Map<string, Row | number>();
    const waiting = new Map<string, number>();
    if (senders.length === 0 && mailboxes.size === 0) return { firsts, waiting };
    const { rows } = await client.query<LookupRow>({
      ...LOOKUP,
      values: [senders, clientIds, [...mailboxes]],
    });
    for (const row of rows) {
      if (row.waiting !== null) waiting.set(row.recipient, row.waiting);
      else firsts.set(pairKey(row.sender, row.client_id ?? ''), row);
    }
    return { firsts, waiting };
  }
}

/** Inserts the rows in one statement and returns their ids, in the order of `rows`. */
async function insert(client: pg.PoolClient, rows: PendingWrite[]): Promise<number[]> {
  const columns = {
    kind: [] as string[],
    ts: [] as number[],
    sender: [] as string[],
    recipient: [] as string[],
    text: [] as string[],
    offline: [] as boolean[],
    clientId: [] as Array<string | null>,
    upTo: [] as Array<number | null>,
  };
  for (const p of rows) {
    const m = p.kind === 'message' ? p.message : undefined;
    const r = p.kind === 'read' ? p.receipt : undefined;
    const { from, to, ts } = m ?? (r as NewReceipt);
    columns.kind.push(p.kind);
    columns.ts.push(ts);
    columns.sender.push(from);
    columns.recipient.push(to);
    columns.text.push(m?.text ?? '');
    columns.offline.push(m?.offline ?? false);
    columns.clientId.push(m?.clientId ?? null);
    columns.upTo.push(r?.upTo ?? null);
  }
  const { rows: ids } = await client.query<{ id: number }>({
    ...INSERT,
    values: [rows.length, ...Object.values(columns)],
  });
  if (ids.length !== rows.length) throw new Error('the append stored fewer rows than it was given');
  return ids.map((r) => r.id).sort((a, b) => a - b);
}

function toStored(p: PendingWrite, id: EventId): StoredMessage | StoredReceipt {
  if (p.kind === 'read') {
    const { from, to, upTo, ts } = p.receipt;
    return { from, to, upTo, ts, id };
  }
  const { from, to, text, ts, offline, clientId } = p.message;
  return { from, to, text, ts, offline, ...(clientId !== undefined && { clientId }), id };
}

/** One string per (sender, clientId); nicks cannot hold NUL (core/events.ts). */
function pairKey(sender: string, clientId: string): string {
  return `${sender}\u0000${clientId}`;
}
