import Database from 'better-sqlite3';
import type { NewMessage, StoredMessage } from '../core/events.js';
import { ChatError } from '../errors.js';
import type { Store, StoreLimits } from './store.js';

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

// Each entry migrates the schema from version i to i+1; PRAGMA user_version records how many
// ran. Append new steps, never edit old ones: databases in the field have run them.
const MIGRATIONS = [
  `CREATE TABLE messages (
     -- A plain rowid: the next id is the highest plus one. Rows are never deleted, so ids
     -- are never reused. A future retention job must keep the newest row, or switch to
     -- AUTOINCREMENT, which costs about a third more per insert (measured on this machine).
     id        INTEGER PRIMARY KEY,
     ts        INTEGER NOT NULL,
     sender    TEXT    NOT NULL,
     recipient TEXT    NOT NULL,
     text      TEXT    NOT NULL
   );
   CREATE TABLE offline (
     recipient  TEXT    NOT NULL,
     message_id INTEGER NOT NULL REFERENCES messages(id),
     PRIMARY KEY (recipient, message_id)
   ) WITHOUT ROWID;`,
];

/**
 * Most appends one transaction takes. The queue is bounded anyway by the requests in flight,
 * each of which waits for its append; this keeps one commit's write lock short.
 */
const MAX_BATCH = 256;

interface PendingAppend {
  readonly message: NewMessage;
  resolve(stored: StoredMessage): void;
  reject(err: unknown): void;
}

interface MessageRow {
  id: number;
  ts: number;
  sender: string;
  recipient: string;
  text: string;
}

/** The default Store: one SQLite file in WAL mode, through better-sqlite3's synchronous API. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly insertMessage: Database.Statement<[number, string, string, string]>;
  private readonly countOffline: Database.Statement<[string], { n: number }>;
  private readonly insertOffline: Database.Statement<[string, number]>;
  private readonly selectOffline: Database.Statement<[string], MessageRow>;
  private readonly deleteOffline: Database.Statement<[string]>;
  private readonly commitBatch: (batch: PendingAppend[]) => Array<StoredMessage | ChatError>;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly takeTx: (nick: string) => StoredMessage[];

  constructor(private readonly options: SqliteStoreOptions) {
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    // Another process (a backup, the sqlite3 shell) may hold the lock briefly.
    this.db.pragma('busy_timeout = 5000');
    this.migrate();

    this.insertMessage = this.db.prepare(
      'INSERT INTO messages (ts, sender, recipient, text) VALUES (?, ?, ?, ?)',
    );
    this.countOffline = this.db.prepare('SELECT count(*) AS n FROM offline WHERE recipient = ?');
    this.insertOffline = this.db.prepare(
      'INSERT INTO offline (recipient, message_id) VALUES (?, ?)',
    );
    this.selectOffline = this.db.prepare(
      `SELECT m.id, m.ts, m.sender, m.recipient, m.text
         FROM offline o JOIN messages m ON m.id = o.message_id
        WHERE o.recipient = ? ORDER BY o.message_id`,
    );
    this.deleteOffline = this.db.prepare('DELETE FROM offline WHERE recipient = ?');

    // One transaction for a whole batch; a full mailbox fails only its own message, checked
    // before that message writes anything.
    const inTransaction = this.db.transaction((batch: PendingAppend[]) => this.write(batch));
    // A lone live message is one INSERT, atomic on its own (autocommit): BEGIN and COMMIT
    // would only add work. An offline one also checks and fills the mailbox: a transaction.
    this.commitBatch = (batch) =>
      batch.length === 1 && !batch[0]?.message.offline ? this.write(batch) : inTransaction(batch);
    // IMMEDIATE takes the write lock up front, so two processes sharing the file cannot both
    // read the same mailbox before either deletes it.
    const take = this.db.transaction((nick: string) => {
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
  append(message: NewMessage): Promise<StoredMessage> {
    return new Promise((resolve, reject) => {
      this.pending.push({ message, resolve, reject });
      if (this.pending.length >= MAX_BATCH) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  async takeOffline(nick: string): Promise<StoredMessage[]> {
    // Appends already requested commit first, so a message queued for an offline user just
    // before that user logs in is in this mailbox, not left for the next login.
    this.flush();
    return this.takeTx(nick);
  }

  async close(): Promise<void> {
    this.flush();
    if (this.db.open) this.db.close();
  }

  /** Commits every queued append and settles their promises, in append order. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let outcomes: Array<StoredMessage | ChatError>;
    try {
      outcomes = this.commitBatch(batch);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const outcome = outcomes[i] as StoredMessage | ChatError;
      if (outcome instanceof ChatError) p.reject(outcome);
      else p.resolve(outcome);
    });
  };

  /** Writes a batch; the caller provides the transaction (or a lone statement is atomic). */
  private write(batch: PendingAppend[]): Array<StoredMessage | ChatError> {
    const outcomes: Array<StoredMessage | ChatError> = [];
    for (const { message } of batch) {
      if (message.offline) {
        const waiting = this.countOffline.get(message.to)?.n ?? 0;
        if (waiting >= this.options.maxOfflinePerUser) {
          outcomes.push(new ChatError('CHAT_MAILBOX_FULL'));
          continue;
        }
      }
      const { lastInsertRowid } = this.insertMessage.run(
        message.ts,
        message.from,
        message.to,
        message.text,
      );
      const stored = { ...message, id: Number(lastInsertRowid) };
      if (message.offline) this.insertOffline.run(message.to, stored.id);
      outcomes.push(stored);
    }
    return outcomes;
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `database ${this.options.path} has schema version ${current}, newer than this ssechat supports (${MIGRATIONS.length})`,
      );
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version] as string);
        this.db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    ts: row.ts,
    from: row.sender,
    to: row.recipient,
    text: row.text,
    offline: true,
  };
}
