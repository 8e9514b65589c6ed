import type Database from 'better-sqlite3';
import { nickKey } from '../core/confusables.js';
import type { AccountStore, Credential, CredentialKind } from './accounts.js';
import { CREDENTIAL, type CredentialRow, toCredential } from './credential-row.js';

// `expires` is the last ms at which a credential works; 0 means it never expires.
const UNEXPIRED = '(expires = 0 OR expires >= ?)';

/** The AccountStore of SqliteStore: the users and credentials tables of the same database. */
export class SqliteAccounts implements AccountStore {
  private readonly insertUser: Database.Statement<[string, string, number, string]>;
  private readonly selectLookAlike: Database.Statement<[string], { nick: string }>;
  private readonly selectPassword: Database.Statement<[{ nick: string }], { password: string }>;
  private readonly updatePassword: Database.Statement<[{ nick: string; password: string }]>;
  private readonly insertCredential: Database.Statement<[string, CredentialRow]>;
  private readonly selectCredential: Database.Statement<[string, number], CredentialRow>;
  private readonly deleteCredential: Database.Statement<[string], CredentialRow>;
  private readonly selectCredentials: Database.Statement<
    [string, CredentialKind, number],
    CredentialRow
  >;
  private readonly deleteById: Database.Statement<[string, string]>;
  private readonly deleteAll: Database.Statement<[string, CredentialKind, string | null]>;
  private readonly deleteExpired: Database.Statement<[number]>;
  private readonly db: Database.Database;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(db: Database.Database) {
    this.db = db;
    // The column's NOCASE collation makes a nick taken in any ASCII case a conflict, and the
    // unique index on nick_key a look-alike one: DO NOTHING without a target covers both.
    this.insertUser = db.prepare(
      `INSERT INTO users (nick, password, created, nick_key) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    this.selectLookAlike = db.prepare('SELECT nick FROM users WHERE nick_key = ?');
    // The first comparison (NOCASE) finds the row through the primary key; the second makes
    // a login use the exact nick.
    this.selectPassword = db.prepare(
      'SELECT password FROM users WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    this.updatePassword = db.prepare(
      'UPDATE users SET password = @password WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    this.insertCredential = db.prepare(
      `INSERT INTO credentials (secret_hash, ${CREDENTIAL})
       VALUES (?, @kind, @id, @nick, @label, @created, @expires)`,
    );
    this.selectCredential = db.prepare(
      `SELECT ${CREDENTIAL} FROM credentials WHERE secret_hash = ? AND ${UNEXPIRED}`,
    );
    // One statement, so that two takers (even in two processes) cannot both get the row.
    this.deleteCredential = db.prepare(
      `DELETE FROM credentials WHERE secret_hash = ? RETURNING ${CREDENTIAL}`,
    );
    this.selectCredentials = db.prepare(
      `SELECT ${CREDENTIAL} FROM credentials WHERE nick = ? AND kind = ? AND ${UNEXPIRED}
        ORDER BY created, rowid`,
    );
    this.deleteById = db.prepare('DELETE FROM credentials WHERE nick = ? AND id = ?');
    this.deleteAll = db.prepare(
      'DELETE FROM credentials WHERE nick = ? AND kind = ? AND id IS NOT ?',
    );
    this.deleteExpired = db.prepare('DELETE FROM credentials WHERE expires <> 0 AND expires < ?');
  }

  async createUser(nick: string, passwordHash: string, now: number): Promise<boolean> {
    return this.insertUser.run(nick, passwordHash, now, nickKey(nick)).changes === 1;
  }

  async lookAlike(nick: string): Promise<string | undefined> {
    return this.selectLookAlike.get(nickKey(nick))?.nick;
  }

  async passwordHash(nick: string): Promise<string | undefined> {
    return this.selectPassword.get({ nick })?.password;
  }

  async setPasswordHash(nick: string, passwordHash: string): Promise<void> {
    this.updatePassword.run({ nick, password: passwordHash });
  }

  async addCredential(secretHash: string, credential: Credential): Promise<void> {
    const { kind, id, nick, label, created, expires } = credential;
    this.insertCredential.run(secretHash, { kind, id, nick, label, created, expires });
  }

  async credential(secretHash: string, now: number): Promise<Credential | undefined> {
    const row = this.selectCredential.get(secretHash, now);
    return row && toCredential(row);
  }

  async takeCredential(secretHash: string, now: number): Promise<Credential | undefined> {
    // An expired one is deleted too: it could never be used again anyway.
    const row = this.deleteCredential.get(secretHash);
    return row && (row.expires === 0 || row.expires >= now) ? toCredential(row) : undefined;
  }

  async credentials(nick: string, kind: CredentialKind, now: number): Promise<Credential[]> {
    return this.selectCredentials.all(nick, kind, now).map(toCredential);
  }

  async revoke(nick: string, id: string): Promise<boolean> {
    return this.deleteById.run(nick, id).changes > 0;
  }

  async revokeAll(nick: string, kind: CredentialKind, except?: string): Promise<number> {
    // `id IS NOT NULL` holds for every row: no exception.
    return this.deleteAll.run(nick, kind, except ?? null).changes;
  }

  async pruneCredentials(now: number): Promise<number> {
    return this.deleteExpired.run(now).changes;
  }

  async authMode(): Promise<'open' | 'accounts' | undefined> {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'auth_mode'").get() as
      | { value: number }
      | undefined;
    return row === undefined ? undefined : row.value === 1 ? 'accounts' : 'open';
  }

  async setAuthMode(mode: 'open' | 'accounts'): Promise<number> {
    // meta holds integers: 0 is open, 1 is accounts.
    const value = mode === 'accounts' ? 1 : 0;
    return this.db
      .transaction(() => {
        const row = this.db.prepare("SELECT value FROM meta WHERE key = 'auth_mode'").get() as
          | { value: number }
          | undefined;
        this.db
          .prepare(
            "INSERT INTO meta (key, value) VALUES ('auth_mode', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          )
          .run(value);
        if (row === undefined || row.value === value) return 0;
        return this.db.prepare('DELETE FROM credentials').run().changes;
      })
      .immediate();
  }
}
