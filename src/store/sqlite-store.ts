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
     -- AUTOINCREMENT: an id is never reused, even after the highest row is deleted, so a
     -- client's Last-Event-ID can never point at a different message later.
     id        INTEGER PRIMARY KEY AUTOINCREMENT,
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
  private readonly appendTx: (message: NewMessage) => StoredMessage;
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

    this.appendTx = this.db.transaction((message: NewMessage) => {
      if (message.offline) {
        const waiting = this.countOffline.get(message.to)?.n ?? 0;
        if (waiting >= this.options.maxOfflinePerUser) throw new ChatError('CHAT_MAILBOX_FULL');
      }
      const stored = this.insert(message);
      if (message.offline) this.insertOffline.run(message.to, stored.id);
      return stored;
    });
    // IMMEDIATE takes the write lock up front, so two processes sharing the file cannot both
    // read the same mailbox before either deletes it.
    const take = this.db.transaction((nick: string) => {
      const rows = this.selectOffline.all(nick);
      if (rows.length > 0) this.deleteOffline.run(nick);
      return rows.map(toMessage);
    });
    this.takeTx = (nick) => take.immediate(nick);
  }

  async append(message: NewMessage): Promise<StoredMessage> {
    // A lone insert is atomic in autocommit mode, and skipping BEGIN/COMMIT keeps the hot path
    // short; an offline message needs its mailbox check and row in the same transaction.
    return message.offline ? this.appendTx(message) : this.insert(message);
  }

  async takeOffline(nick: string): Promise<StoredMessage[]> {
    return this.takeTx(nick);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private insert(message: NewMessage): StoredMessage {
    const { lastInsertRowid } = this.insertMessage.run(
      message.ts,
      message.from,
      message.to,
      message.text,
    );
    return { ...message, id: Number(lastInsertRowid) };
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
