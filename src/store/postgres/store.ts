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
 * check exact across nodes: no other node can append between the lookup and the insert. And it
 * makes room membership exact: a membership change is decided against the room's state read
 * in the transaction that writes it (postgres-changes.ts), so changes of one room are decided
 * one at a time across nodes. Membership changes, edits and deletes take the same queue as
 * messages, so that ids follow the order of calls whatever their kind.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type {
  EventId,
  LoggedEvent,
  NewDelete,
  NewEdit,
  NewMemberChange,
  NewMessage,
  NewReaction,
  NewReceipt,
  Role,
  StoredDelete,
  StoredEdit,
  StoredMemberChange,
  StoredMessage,
  StoredReaction,
  StoredReceipt,
} from '../../domain/events.js';
import type { SearchRequest } from '../../domain/search.js';
import type { Logger } from '../../logger.js';
import type {
  Appended,
  Member,
  MembershipSnapshot,
  RetentionPolicy,
  RoomInfo,
  RoomListing,
  SearchPage,
  Store,
  StoreLimits,
} from '../store.js';
import { WriteHealth, type WriteHealthListener } from '../write-health.js';
import { PostgresAccounts } from './accounts.js';
import { PostgresAudit } from './audit.js';
import { PostgresBlocks } from './blocks.js';
import { PostgresLog } from './log.js';
import { PostgresNotify } from './notify.js';
import { PostgresProfiles } from './profiles.js';
import { PostgresPush } from './push.js';
import { AppendQueue } from './queue.js';
import { withReactions } from './reactions.js';
import { PostgresRegistration } from './registration.js';
import { PostgresReplies } from './replies.js';
import { PostgresReports } from './reports.js';
import { PostgresRooms } from './rooms.js';
import { PostgresRoster } from './roster.js';
import { PostgresSanctions } from './sanctions.js';
import { checkSchemaName, effectiveSchema, migrate, poolConfig, schemaKey } from './schema.js';
import { type BackfillStep, PostgresSearch } from './search.js';
import { PostgresUploads } from './uploads.js';

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
  /** Hears writes start failing and work again (WriteHealthListener). */
  readonly onWriteHealth?: WriteHealthListener;
}

/**
 * Connections per process by default. Appends use one at a time (batches are written one
 * after another); the rest serve reads, takeOffline and accounts concurrently.
 */
export const DEFAULT_POOL_SIZE = 10;

/**
 * How long one statement of the migration at open may run: a step over a large log rewrites
 * tables (postgres-schema.ts), which takes seconds to minutes, not the milliseconds of the
 * pool's QUERY_TIMEOUT_MS; a connection silent for longer fails the start.
 */
const MIGRATE_QUERY_TIMEOUT_MS = 10 * 60_000;

/**
 * Connects `client`, brings the schema up to date (migrate) and returns its effective name;
 * always ends the client. Its `error` is listened to throughout, so that a connection lost
 * mid-migration fails the start with that error rather than killing the process unreported.
 */
async function migrateOnce(client: pg.Client, named: string | undefined): Promise<string> {
  let lost: Error | undefined;
  client.on('error', (err) => {
    lost ??= err;
  });
  try {
    await client.connect();
    const schema = await effectiveSchema(client, named);
    await migrate(client, schema, named !== undefined);
    return schema;
  } catch (err) {
    throw lost ?? err;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The shortest pause between two chunks of the search backfill (PostgresSearch.backfill), in
 * ms. The pause is as long as the chunk took, at least: the backfill keeps one connection (and
 * about one core of the database server and of this process) busy half the time at most,
 * leaving the rest to the appends and reads it would otherwise slow down.
 */
const BACKFILL_PAUSE_MS = 5;
/**
 * How long a process waits before it tries the backfill again: after another process of the
 * cluster held its cursor (it takes over if that one stops), or after a chunk failed (the
 * database unreachable, a full disk).
 */
const BACKFILL_RETRY_MS = 5_000;

/** How often the server checks that the client of a running query is still there, in ms. */
const CHECK_CLIENT_MS = 1_000;

/** The Store for a cluster of ssechat processes: one PostgreSQL database (or schema of one). */
export class PostgresStore implements Store {
  readonly accounts: PostgresAccounts;
  readonly push: PostgresPush;
  readonly notify: PostgresNotify;
  readonly uploads: PostgresUploads;
  readonly profiles: PostgresProfiles;
  readonly registration: PostgresRegistration;
  readonly audit: PostgresAudit;
  readonly sanctions: PostgresSanctions;
  readonly reports: PostgresReports;
  readonly roster: PostgresRoster;
  readonly blocks: PostgresBlocks;
  private readonly journal: PostgresLog;
  private readonly index: PostgresSearch;
  /** The search backfill's loop (runBackfill): ends when nothing is left, or at close(). */
  private readonly backfill: Promise<void>;
  /** Interrupts the backfill's pause when close() is called. */
  private readonly stopBackfill = new AbortController();
  private readonly logger: Logger | undefined;
  private readonly roomReads: PostgresRooms;
  private readonly replies: PostgresReplies;
  private readonly writes: AppendQueue;
  /** Whether the last write failed because the database cannot write; see ping. */
  private readonly health: WriteHealth;
  private closing: Promise<void> | undefined;

  /**
   * Connects, creates the schema if it is given and missing, and migrates it (see migrate in
   * postgres-schema.ts); throws, with the pool closed, when any of that fails.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    if (options.schema !== undefined) checkSchemaName(options.schema);
    const config = poolConfig(options.url, options.schema, options.poolSize ?? DEFAULT_POOL_SIZE);
    // Migrated on a connection of its own, whose statements may take as long as a step over a
    // large log needs (MIGRATE_QUERY_TIMEOUT_MS), not the pool's QUERY_TIMEOUT_MS.
    const schema = await migrateOnce(
      new pg.Client({ ...config, query_timeout: MIGRATE_QUERY_TIMEOUT_MS }),
      options.schema,
    );
    const pool = new pg.Pool(config);
    // Without a listener, a server that drops an idle pooled connection (a restart, a
    // failover) would crash the process. The pool discards that connection; the next query
    // opens a new one, or fails and reports it. A connection checked out is watched by
    // withClient (client.ts) instead.
    pool.on('error', (err) => {
      options.logger?.warn('PostgreSQL connection lost while idle', { err });
    });
    // A query this process gave up on (a client-side timeout) ends with its connection, but
    // the server would go on running it, holding its locks (the append lock, every node's
    // appends), until it next writes to the socket; this has it check every CHECK_CLIENT_MS.
    // PostgreSQL 14 and later; an older server refuses the setting, which changes nothing.
    pool.on('connect', (client) => {
      client.query(`SET client_connection_check_interval = ${CHECK_CLIENT_MS}`).catch(() => {});
    });
    return new PostgresStore(pool, options, schemaKey(schema));
  }

  private constructor(
    private readonly pool: pg.Pool,
    options: PostgresStoreOptions,
    key: number,
  ) {
    this.health = new WriteHealth(options.onWriteHealth);
    this.accounts = new PostgresAccounts(pool, key);
    this.push = new PostgresPush(pool, key);
    this.journal = new PostgresLog(pool);
    this.replies = new PostgresReplies(pool);
    this.index = new PostgresSearch(pool);
    this.logger = options.logger;
    this.roomReads = new PostgresRooms(pool);
    this.writes = new AppendQueue(pool, key, options.maxOfflinePerUser, this.health);
    this.notify = new PostgresNotify(pool, () => this.writes.flushed());
    this.uploads = new PostgresUploads(pool, () => this.writes.flushed());
    this.sanctions = new PostgresSanctions(pool);
    this.registration = new PostgresRegistration(pool);
    this.profiles = new PostgresProfiles(pool, () => this.writes.flushed());
    this.audit = new PostgresAudit(pool);
    this.reports = new PostgresReports(pool);
    this.roster = new PostgresRoster(pool);
    this.blocks = new PostgresBlocks(pool, () => this.writes.flushed());
    this.backfill = this.runBackfill();
  }

  /**
   * Queues the message and commits it with every other append of this turn of the event loop,
   * in one transaction (group commit); appends called while a batch is being written form the
   * next one. Resolves after the commit.
   */
  append(message: NewMessage): Promise<Appended> {
    return this.writes.add((done) => ({ kind: 'message', message, done }));
  }

  // The other writes go through the same queue, so that their ids follow the order of calls.

  appendReceipt(receipt: NewReceipt): Promise<StoredReceipt> {
    return this.writes.add((done) => ({ kind: 'read', receipt, done }));
  }

  /** Decided inside its batch's transaction, under the append lock (postgres-changes.ts). */
  appendMember(change: NewMemberChange): Promise<StoredMemberChange[]> {
    return this.writes.add((done) => ({ kind: 'member', change, done }));
  }

  appendEdit(edit: NewEdit): Promise<StoredEdit> {
    return this.writes.add((done) => ({ kind: 'edit', edit, done }));
  }

  appendDelete(del: NewDelete): Promise<StoredDelete> {
    return this.writes.add((done) => ({ kind: 'delete', delete: del, done }));
  }

  appendReaction(reaction: NewReaction): Promise<StoredReaction | null> {
    return this.writes.add((done) => ({ kind: 'react', reaction, done }));
  }

  // Reads wait for the appends queued before them: the contract says they see every append
  // called before them (a message queued for a user who is logging in lands in that login's
  // mailbox or replay, not the next one).

  async takeOffline(nick: string): Promise<StoredMessage[]> {
    await this.writes.flushed();
    return this.replies.messages(nick, await this.journal.takeOffline(nick));
  }

  async head(): Promise<EventId> {
    await this.writes.flushed();
    return this.journal.head();
  }

  async prunedThrough(): Promise<EventId> {
    return this.journal.prunedThrough();
  }

  async since(viewer: string, after: EventId, limit: number): Promise<LoggedEvent[]> {
    await this.writes.flushed();
    return this.replies.events(viewer, await this.journal.since(viewer, after, limit));
  }

  async log(after: EventId, limit: number): Promise<LoggedEvent[]> {
    await this.writes.flushed();
    return this.journal.all(after, limit);
  }

  async history(
    viewer: string,
    peer: string,
    before: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    await this.writes.flushed();
    const page = await this.journal.history(viewer, peer, before, limit);
    return withReactions(this.pool, await this.replies.messages(viewer, page), viewer);
  }

  async historyAfter(
    viewer: string,
    peer: string,
    after: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    await this.writes.flushed();
    const page = await this.journal.historyAfter(viewer, peer, after, limit);
    return withReactions(this.pool, await this.replies.messages(viewer, page), viewer);
  }

  async search(viewer: string, request: SearchRequest): Promise<SearchPage> {
    await this.writes.flushed();
    const page = await this.index.search(viewer, request);
    return { ...page, messages: await this.replies.messages(viewer, page.messages) };
  }

  /**
   * Resolves when this process's search backfill has ended: nothing is left to index (in
   * this database, whichever process indexed it), or close() was called.
   */
  backfilled(): Promise<void> {
    return this.backfill;
  }

  async message(id: EventId): Promise<StoredMessage | undefined> {
    await this.writes.flushed();
    return this.journal.message(id);
  }

  async room(name: string): Promise<RoomInfo | undefined> {
    await this.writes.flushed();
    return this.roomReads.room(name);
  }

  async rooms(viewer: string): Promise<RoomListing[]> {
    await this.writes.flushed();
    return this.roomReads.rooms(viewer);
  }

  async role(room: string, user: string): Promise<Role | null> {
    await this.writes.flushed();
    return this.roomReads.role(room, user);
  }

  async members(room: string): Promise<Member[]> {
    await this.writes.flushed();
    return this.roomReads.members(room);
  }

  async memberships(): Promise<MembershipSnapshot> {
    await this.writes.flushed();
    return this.roomReads.memberships();
  }

  /** See PostgresLog.prune: oldest first, in chunks; close() ends it between chunks. */
  prune(policy: RetentionPolicy): Promise<number> {
    return this.journal.prune(policy, () => this.closing !== undefined);
  }

  /**
   * One round trip on a pooled connection. It waits for a free connection like any query
   * (up to the pool's connect timeout), so a pool saturated by slow queries reads as not ready.
   * While the last append failed because the database cannot write, it also writes (probeWrite).
   */
  async ping(): Promise<void> {
    if (this.closing) throw new Error('ping on a closed store');
    const stalled = this.writes.stalled();
    if (stalled) throw new Error(`the append path is stuck: ${stalled}`);
    await this.pool.query('SELECT 1');
    await this.health.check(() => this.writes.probe((client) => this.probeWrite(client)));
  }

  /**
   * The write readiness tries while the last append failed (WriteHealth), through the append
   * path (AppendQueue.probe: the append lock, in a batch's transaction, on the connection
   * appends would use): one committed row of meta, so that a read-only database (25006, a standby after a failover), a full disk
   * where the row needs a new page or the WAL cannot grow (53100), or a lost connection fails
   * it. Each process of a cluster writes the same row, at most once a second, only while its
   * own writes fail.
   */
  private async probeWrite(client: pg.PoolClient): Promise<void> {
    await client.query(
      `INSERT INTO meta (key, value) VALUES ('write_probe', $1)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [Date.now()],
    );
  }

  /**
   * Writes the queued appends and lets a chunk of the backfill being written commit, then
   * closes every connection. Calling it again is harmless.
   */
  close(): Promise<void> {
    if (!this.closing) this.stopBackfill.abort();
    this.closing ??= Promise.all([this.writes.flushed(), this.backfill]).then(() =>
      this.pool.end(),
    );
    return this.closing;
  }

  /**
   * Indexes the messages of a database from before the search index (PostgresSearch.backfill),
   * one chunk per transaction with a pause between chunks, until none is left or close() is
   * called. Every process runs it; one at a time holds the cursor and indexes, the others try
   * again every BACKFILL_RETRY_MS and take over when it stops. Never rejects: a failed chunk
   * is logged and tried again.
   */
  private async runBackfill(): Promise<void> {
    const { signal } = this.stopBackfill;
    while (!signal.aborted) {
      let step: BackfillStep | 'failed';
      const start = performance.now();
      try {
        step = await this.index.backfill();
      } catch (err) {
        if (signal.aborted) return;
        this.logger?.warn('Search backfill failed', { err });
        step = 'failed';
      }
      if (step === 'done') return;
      const took = performance.now() - start;
      const pause = step === 'indexed' ? Math.max(BACKFILL_PAUSE_MS, took) : BACKFILL_RETRY_MS;
      await sleep(pause, undefined, { signal, ref: false }).catch(() => {});
    }
  }
}
