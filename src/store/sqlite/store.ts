import Database from 'better-sqlite3';
import {
  type EventId,
  isRoom,
  type LoggedEvent,
  type NewDelete,
  type NewEdit,
  type NewMemberChange,
  type NewMessage,
  type NewReaction,
  type NewReceipt,
  type Role,
  type StoredDelete,
  type StoredEdit,
  type StoredMemberChange,
  type StoredMessage,
  type StoredReaction,
  type StoredReceipt,
} from '../../domain/events.js';
import type { SearchRequest } from '../../domain/search.js';
import { COLUMNS, type Row, toMessage } from '../rows.js';
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
import { WriteQueue } from '../write-queue.js';
import { SqliteAccounts } from './accounts.js';
import { type PendingWrite, SqliteAppender } from './append.js';
import { SqliteAudit } from './audit.js';
import { SqliteBlocks } from './blocks.js';
import { SqliteLog } from './log.js';
import { SqliteNotify } from './notify.js';
import { SqliteProfiles } from './profiles.js';
import { SqlitePush } from './push.js';
import { SqliteReactions } from './reactions.js';
import { SqliteRegistration } from './registration.js';
import { SqliteReplies } from './replies.js';
import { SqliteReports } from './reports.js';
import { SqliteRooms } from './rooms.js';
import { SqliteRoster } from './roster.js';
import { SqliteSanctions } from './sanctions.js';
import { checkIntegrity, migrate, writeProbe } from './schema.js';
import { SqliteSearch } from './search.js';
import { SqliteUploads } from './uploads.js';

/** Options for the SQLite backend. */
export interface SqliteStoreOptions extends StoreLimits {
  /** Path of the database file, or `:memory:`. */
  readonly path: string;
  /**
   * `normal` (default): in WAL mode a commit survives a crash or kill of the process but the
   * last commits may be lost if the machine loses power. `full` syncs every commit to disk.
   */
  readonly synchronous: 'normal' | 'full';
  /**
   * Check the file's integrity (PRAGMA quick_check) before using it, and throw a
   * DamagedDatabaseError when it fails. It reads the whole file: see QUICK_CHECK_MAX_BYTES.
   */
  readonly quickCheck?: boolean;
  /**
   * Called with the connection once it is set up. A test seam: PRAGMA max_page_count holds
   * for one connection only, so a test that simulates a full disk by capping the file needs
   * the store's own connection.
   */
  readonly configure?: (db: Database.Database) => void;
  /** Hears writes start failing and work again (WriteHealthListener). */
  readonly onWriteHealth?: WriteHealthListener;
}

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** The pause between two chunks of the search backfill, in ms: room for requests. */
const BACKFILL_PAUSE_MS = 1;
/** The wait before the backfill tries again after a chunk failed to write, in ms. */
const BACKFILL_RETRY_MS = 5000;

/** The default Store: one SQLite file in WAL mode, through better-sqlite3's synchronous API. */
export class SqliteStore implements Store {
  readonly accounts: SqliteAccounts;
  readonly push: SqlitePush;
  readonly notify: SqliteNotify;
  readonly uploads: SqliteUploads;
  readonly profiles: SqliteProfiles;
  readonly registration: SqliteRegistration;
  readonly audit: SqliteAudit;
  readonly sanctions: SqliteSanctions;
  readonly reports: SqliteReports;
  readonly roster: SqliteRoster;
  readonly blocks: SqliteBlocks;
  private readonly journal: SqliteLog;
  private readonly index: SqliteSearch;
  private readonly reactions: SqliteReactions;
  /** The next chunk of the search backfill (SqliteSearch.backfill), while one is due. */
  private backfillTimer: NodeJS.Timeout | undefined;
  private readonly roomState: SqliteRooms;
  private readonly replies: SqliteReplies;
  private readonly db: Database.Database;
  private readonly selectOffline: Statement<[{ viewer: string; registered: number }], Row>;
  private readonly deleteOffline: Statement<[string]>;
  private readonly anyOffline: Statement<[string]>;
  private readonly selectOne: Statement<[]>;
  private readonly takeTx: (nick: string) => StoredMessage[];
  private readonly snapshotTx: () => MembershipSnapshot;
  private readonly probeWrite: () => void;
  /** Whether the last write failed because the file cannot be written; see ping. */
  private readonly health: WriteHealth;
  /** Every write, committed in groups (WriteQueue). */
  private readonly writes: WriteQueue<PendingWrite>;

  constructor(options: SqliteStoreOptions) {
    this.health = new WriteHealth(options.onWriteHealth);
    this.db = new Database(options.path);
    const db = this.db;
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      // A deleted message's text is overwritten in the file, not just unlinked (appendDelete).
      db.pragma('secure_delete = ON');
      // Another process (a backup, the sqlite3 shell) may hold the lock briefly.
      db.pragma('busy_timeout = 5000');
      if (options.quickCheck && options.path !== ':memory:') checkIntegrity(options.path);
      migrate(db, options.path);
      options.configure?.(db);
    } catch (err) {
      // A file refused here is not held open by a process that goes on (a test, a retry).
      db.close();
      throw err;
    }
    this.accounts = new SqliteAccounts(db);
    this.push = new SqlitePush(db);
    this.index = new SqliteSearch(db, (nick) => this.accounts.registeredAt(nick));
    this.reactions = new SqliteReactions(db);
    this.journal = new SqliteLog(
      db,
      (nick) => this.accounts.registeredAt(nick),
      this.index,
      this.reactions,
    );
    this.roomState = new SqliteRooms(db);
    this.replies = new SqliteReplies(db, (nick) => this.accounts.registeredAt(nick));
    this.notify = new SqliteNotify(
      db,
      () => this.flush(),
      (nick) => this.accounts.registeredAt(nick),
    );
    this.uploads = new SqliteUploads(
      db,
      () => this.flush(),
      (nick) => this.accounts.registeredAt(nick),
    );
    this.sanctions = new SqliteSanctions(db);
    this.registration = new SqliteRegistration(db);
    this.profiles = new SqliteProfiles(db, () => this.flush());
    this.audit = new SqliteAudit(db);
    this.reports = new SqliteReports(db);
    this.roster = new SqliteRoster(db);
    this.blocks = new SqliteBlocks(db, () => this.flush());
    const appender = new SqliteAppender(
      db,
      this.roomState,
      this.index,
      this.reactions,
      options.maxOfflinePerUser,
    );
    // What waited for the nick before its account was made is not the account's (store.ts);
    // the whole mailbox is emptied all the same.
    this.selectOffline = db.prepare(
      `SELECT ${COLUMNS} FROM messages
        WHERE id IN (SELECT message_id FROM offline WHERE recipient = @viewer)
          AND id > @registered ORDER BY id`,
    );
    this.deleteOffline = db.prepare('DELETE FROM offline WHERE recipient = ?');
    this.anyOffline = db.prepare('SELECT 1 FROM offline WHERE recipient = ? LIMIT 1');
    this.selectOne = db.prepare('SELECT 1');
    this.probeWrite = writeProbe(db);
    if (this.index.backfilling()) this.scheduleBackfill(0);

    // One transaction for a whole batch; a refused write (a full mailbox, a membership change
    // the rules forbid, an edit of a missing message) fails only its own promise, decided
    // before it writes anything. IMMEDIATE takes the write lock before the lookups (mailbox
    // size, clientId, a room's state), so another process cannot change what they saw: that
    // is also what decides one room's changes one at a time across processes.
    const inTransaction = db.transaction((batch: PendingWrite[]) => appender.write(batch));
    // A lone live message or receipt is one INSERT, atomic on its own (autocommit): BEGIN and
    // COMMIT would only add work. Anything else reads before it writes, or writes twice.
    this.writes = new WriteQueue<PendingWrite>({
      commit: (batch) =>
        SqliteAppender.needsTransaction(batch)
          ? inTransaction.immediate(batch)
          : appender.write(batch),
      health: this.health,
    });
    // IMMEDIATE, so two processes sharing the file cannot both read the same mailbox before
    // either deletes it.
    const take = db.transaction((nick: string) => {
      const registered = this.accounts.registeredAt(nick);
      const rows = this.selectOffline.all({ viewer: nick, registered });
      this.deleteOffline.run(nick);
      return this.replies.messages(nick, rows.map(toMessage));
    });
    this.takeTx = (nick) => take.immediate(nick);
    // A read transaction: the members and the head come from one snapshot, also when another
    // process writes in between.
    const snapshot = db.transaction(
      (): MembershipSnapshot => ({
        head: this.journal.head(),
        members: this.roomState.all(),
      }),
    );
    this.snapshotTx = () => snapshot.deferred();
  }

  /**
   * Queues the message and commits it with every other append of this turn of the event loop,
   * in one transaction (group commit, WriteQueue). Resolves after the commit.
   */
  append(message: NewMessage): Promise<Appended> {
    return this.writes.add((done) => ({ kind: 'message', message, done }));
  }

  /** Queues the receipt with the messages, so that its id follows the order of calls. */
  appendReceipt(receipt: NewReceipt): Promise<StoredReceipt> {
    return this.writes.add((done) => ({ kind: 'read', receipt, done }));
  }

  /** Queued with the messages, so that its id follows the order of calls (see SqliteRooms). */
  appendMember(change: NewMemberChange): Promise<StoredMemberChange[]> {
    return this.writes.add((done) => ({ kind: 'member', change, done }));
  }

  /** Queued with the messages; the target is updated in the same transaction. */
  appendEdit(edit: NewEdit): Promise<StoredEdit> {
    return this.writes.add((done) => ({ kind: 'edit', edit, done }));
  }

  /** Queued with the messages; the target and its edits are emptied in the same transaction. */
  appendDelete(del: NewDelete): Promise<StoredDelete> {
    return this.writes.add((done) => ({ kind: 'delete', delete: del, done }));
  }

  /** Queued with the messages; the reactions row changes in the same transaction. */
  appendReaction(reaction: NewReaction): Promise<StoredReaction | null> {
    return this.writes.add((done) => ({ kind: 'react', reaction, done }));
  }

  async takeOffline(nick: string): Promise<StoredMessage[]> {
    // Appends already requested commit first, so a message queued for an offline user just
    // before that user logs in is in this mailbox, not left for the next login.
    this.flush();
    // Most logins find the mailbox empty (every tab after a user's first): a plain read says
    // so without taking the write lock and committing. A message mailed after this read
    // waits for the next login, as one mailed after the transaction below would.
    if (this.anyOffline.get(nick) === undefined) return [];
    try {
      const taken = this.takeTx(nick);
      this.health.succeeded();
      return taken;
    } catch (err) {
      this.health.failed(err);
      throw err;
    }
  }

  // Reads of the log flush first: they must see every append called before them.

  async head(): Promise<EventId> {
    this.flush();
    return this.journal.head();
  }

  async prunedThrough(): Promise<EventId> {
    return this.journal.prunedThrough();
  }

  async since(viewer: string, after: EventId, limit: number): Promise<LoggedEvent[]> {
    this.flush();
    return this.replies.events(viewer, this.journal.since(viewer, after, limit));
  }

  async log(after: EventId, limit: number): Promise<LoggedEvent[]> {
    this.flush();
    return this.journal.all(after, limit);
  }

  async history(
    viewer: string,
    peer: string,
    before: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    this.flush();
    const page = isRoom(peer)
      ? this.roomState.history(viewer, peer, before, limit)
      : this.journal.history(viewer, peer, before, limit);
    return this.reactions.attach(this.replies.messages(viewer, page), viewer);
  }

  async historyAfter(
    viewer: string,
    peer: string,
    after: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    this.flush();
    const page = isRoom(peer)
      ? this.roomState.historyAfter(viewer, peer, after, limit)
      : this.journal.historyAfter(viewer, peer, after, limit);
    return this.reactions.attach(this.replies.messages(viewer, page), viewer);
  }

  async search(viewer: string, request: SearchRequest): Promise<SearchPage> {
    this.flush();
    const page = await this.index.search(viewer, request);
    return { ...page, messages: this.replies.messages(viewer, page.messages) };
  }

  async message(id: EventId): Promise<StoredMessage | undefined> {
    this.flush();
    return this.journal.message(id);
  }

  // Room reads flush too: a membership change called before them is in what they read.

  async room(name: string): Promise<RoomInfo | undefined> {
    this.flush();
    return this.roomState.room(name);
  }

  async rooms(viewer: string): Promise<RoomListing[]> {
    this.flush();
    return this.roomState.rooms(viewer);
  }

  async role(room: string, user: string): Promise<Role | null> {
    this.flush();
    return this.roomState.role(room, user);
  }

  async members(room: string): Promise<Member[]> {
    this.flush();
    return this.roomState.members(room);
  }

  async memberships(): Promise<MembershipSnapshot> {
    this.flush();
    return this.snapshotTx();
  }

  /** See SqliteLog.prune: oldest first, in chunks. */
  prune(policy: RetentionPolicy): Promise<number> {
    return this.journal.prune(policy);
  }

  /**
   * A read of no table, which fails only when the connection is closed or broken; and, while
   * the last write failed because the file cannot be written (a full disk, an I/O error, a
   * read-only file), a small write that fails until writing works again (WriteHealth).
   */
  async ping(): Promise<void> {
    this.selectOne.get();
    await this.health.check(this.probeWrite);
  }

  async close(): Promise<void> {
    clearTimeout(this.backfillTimer);
    this.flush();
    if (this.db.open) this.db.close();
  }

  /**
   * Runs the search backfill (SqliteSearch.backfill) one chunk at a time, each its own short
   * transaction with a pause after it, so that the server answers while a large database is
   * being indexed. A chunk that fails (a full disk) is tried again after BACKFILL_RETRY_MS.
   */
  private scheduleBackfill(delay: number): void {
    this.backfillTimer = setTimeout(() => {
      let next = BACKFILL_PAUSE_MS;
      try {
        if (this.index.backfill() === 0) return;
      } catch {
        next = BACKFILL_RETRY_MS;
      }
      if (this.db.open) this.scheduleBackfill(next);
    }, delay);
    this.backfillTimer.unref();
  }

  /** Commits every queued write now (synchronously) and settles their promises, in call order. */
  private flush(): void {
    this.writes.flushNow();
  }
}
