import Database from 'better-sqlite3';
import {
  type EventId,
  type LoggedEvent,
  type NewMessage,
  type NewReceipt,
  type StoredMessage,
  type StoredReceipt,
  storedMessage,
} from '../core/events.js';
import { ChatError } from '../errors.js';
import { SqliteAccounts } from './sqlite-accounts.js';
import { COLUMNS, type Row, SqliteLog, toMessage } from './sqlite-log.js';
import { migrate } from './sqlite-schema.js';
import type { Appended, RetentionPolicy, Store, StoreLimits } from './store.js';

/** Options for the SQLite backend. */
export interface SqliteStoreOptions extends StoreLimits {
  /** Path of the database file, or `:memory:`. */
  readonly path: string;
  /**
   * `normal` (default): in WAL mode a commit survives a crash or kill of the process but the
   * last commits may be lost if the machine loses power. `full` syncs every commit to disk.
   */
  readonly synchronous: 'normal' | 'full';
}

/**
 * Most appends one transaction takes. The queue is bounded anyway by the requests in flight,
 * each of which waits for its append; this keeps one commit's write lock short.
 */
const MAX_BATCH = 256;

interface Settle<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

type PendingWrite =
  | { readonly kind: 'message'; readonly message: NewMessage; readonly done: Settle<Appended> }
  | { readonly kind: 'read'; readonly receipt: NewReceipt; readonly done: Settle<StoredReceipt> };

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** The default Store: one SQLite file in WAL mode, through better-sqlite3's synchronous API. */
export class SqliteStore implements Store {
  readonly accounts: SqliteAccounts;
  private readonly journal: SqliteLog;
  private readonly db: Database.Database;
  private readonly insertMessage: Statement<
    [number, string, string, string, number, string | null]
  >;
  private readonly insertReceipt: Statement<[number, string, string, number]>;
  private readonly selectByClientId: Statement<[string, string], Row>;
  private readonly countOffline: Statement<[string], { n: number }>;
  private readonly insertOffline: Statement<[string, number]>;
  private readonly selectOffline: Statement<[string], Row>;
  private readonly deleteOffline: Statement<[string]>;
  private readonly selectOne: Statement<[]>;
  private readonly commitBatch: (batch: PendingWrite[]) => Array<() => void>;
  private readonly takeTx: (nick: string) => StoredMessage[];
  private pending: PendingWrite[] = [];
  private flushScheduled = false;

  constructor(private readonly options: SqliteStoreOptions) {
    this.db = new Database(options.path);
    const db = this.db;
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    // Another process (a backup, the sqlite3 shell) may hold the lock briefly.
    db.pragma('busy_timeout = 5000');
    migrate(db, options.path);
    this.accounts = new SqliteAccounts(db);
    this.journal = new SqliteLog(db);

    // DO NOTHING only fires for the (sender, client_id) index: a second process that stored
    // the same clientId after our lookup (see writeMessage). The id never conflicts.
    this.insertMessage = db.prepare(
      `INSERT INTO messages (ts, sender, recipient, text, offline, client_id)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.insertReceipt = db.prepare(
      `INSERT INTO messages (kind, ts, sender, recipient, text, up_to)
       VALUES ('read', ?, ?, ?, '', ?)`,
    );
    this.selectByClientId = db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE sender = ? AND client_id = ?`,
    );
    this.countOffline = db.prepare('SELECT count(*) AS n FROM offline WHERE recipient = ?');
    this.insertOffline = db.prepare('INSERT INTO offline (recipient, message_id) VALUES (?, ?)');
    this.selectOffline = db.prepare(
      `SELECT ${COLUMNS} FROM messages
        WHERE id IN (SELECT message_id FROM offline WHERE recipient = ?) ORDER BY id`,
    );
    this.deleteOffline = db.prepare('DELETE FROM offline WHERE recipient = ?');
    this.selectOne = db.prepare('SELECT 1');

    // One transaction for a whole batch; a full mailbox fails only its own message, checked
    // before that message writes anything. IMMEDIATE takes the write lock before the lookups
    // (mailbox size, clientId), so another process cannot change what they saw.
    const inTransaction = db.transaction((batch: PendingWrite[]) => this.write(batch));
    // A lone live message or receipt is one INSERT, atomic on its own (autocommit): BEGIN and
    // COMMIT would only add work. An offline one also checks and fills the mailbox.
    this.commitBatch = (batch) =>
      batch.length === 1 && !(batch[0]?.kind === 'message' && batch[0].message.offline)
        ? this.write(batch)
        : inTransaction.immediate(batch);
    // IMMEDIATE, so two processes sharing the file cannot both read the same mailbox before
    // either deletes it.
    const take = db.transaction((nick: string) => {
      const rows = this.selectOffline.all(nick);
      if (rows.length > 0) this.deleteOffline.run(nick);
      return rows.map(toMessage);
    });
    this.takeTx = (nick) => take.immediate(nick);
  }

  /**
   * Queues the message and commits it with every other append of this turn of the event loop,
   * in one transaction: a commit costs about as much as all the inserts of a small batch
   * together, so concurrent senders share it (group commit). Resolves after the commit.
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

  async takeOffline(nick: string): Promise<StoredMessage[]> {
    // Appends already requested commit first, so a message queued for an offline user just
    // before that user logs in is in this mailbox, not left for the next login.
    this.flush();
    return this.takeTx(nick);
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
    return this.journal.since(viewer, after, limit);
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
    return this.journal.history(viewer, peer, before, limit);
  }

  async message(id: EventId): Promise<StoredMessage | undefined> {
    this.flush();
    return this.journal.message(id);
  }

  /** See SqliteLog.prune: oldest first, in chunks. */
  prune(policy: RetentionPolicy): Promise<number> {
    return this.journal.prune(policy);
  }

  /** A read of no table: it fails only when the connection is closed or broken. */
  async ping(): Promise<void> {
    this.selectOne.get();
  }

  async close(): Promise<void> {
    this.flush();
    if (this.db.open) this.db.close();
  }

  private enqueue(write: PendingWrite): void {
    this.pending.push(write);
    if (this.pending.length >= MAX_BATCH) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Commits every queued write and settles their promises, in call order. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let settlers: Array<() => void>;
    try {
      settlers = this.commitBatch(batch);
    } catch (err) {
      for (const p of batch) p.done.reject(err);
      return;
    }
    for (const settle of settlers) settle();
  };

  /**
   * Writes a batch and returns, for each write, how to settle its promise once the batch has
   * committed. The caller provides the transaction (or a lone statement is atomic).
   */
  private write(batch: PendingWrite[]): Array<() => void> {
    return batch.map((p) => {
      if (p.kind === 'message') return this.writeMessage(p.message, p.done);
      const { from, to, upTo, ts } = p.receipt;
      const { lastInsertRowid } = this.insertReceipt.run(ts, from, to, upTo);
      const stored: StoredReceipt = { from, to, upTo, ts, id: Number(lastInsertRowid) };
      return () => p.done.resolve(stored);
    });
  }

  private writeMessage(message: NewMessage, done: Settle<Appended>): () => void {
    const { from, to, text, ts, offline, clientId } = message;
    // Looked up before the mailbox check, so that a retry neither fills nor is refused by a
    // mailbox the first send already counts in. It also sees an earlier write of this batch.
    if (clientId !== undefined) {
      const first = this.selectByClientId.get(from, clientId);
      if (first) return () => done.resolve({ message: toMessage(first), created: false });
    }
    if (offline) {
      const waiting = this.countOffline.get(to)?.n ?? 0;
      if (waiting >= this.options.maxOfflinePerUser) {
        return () => done.reject(new ChatError('CHAT_MAILBOX_FULL'));
      }
    }
    const { changes, lastInsertRowid } = this.insertMessage.run(
      ts,
      from,
      to,
      text,
      offline ? 1 : 0,
      clientId ?? null,
    );
    if (changes === 0) {
      // Only the clientId index can refuse the row: another process stored it since the lookup.
      const first = clientId === undefined ? undefined : this.selectByClientId.get(from, clientId);
      if (!first) throw new Error('the message insert stored nothing');
      return () => done.resolve({ message: toMessage(first), created: false });
    }
    const stored = storedMessage(message, Number(lastInsertRowid));
    if (offline) this.insertOffline.run(to, stored.id);
    return () => done.resolve({ message: stored, created: true });
  }
}
