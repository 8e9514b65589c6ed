import type Database from 'better-sqlite3';
import type { NewAuditEntry } from '../../domain/audit.js';
import { nickKey } from '../../domain/confusables.js';
import type { AccountStore, Credential, CredentialKind, NewUserOptions } from '../accounts.js';
import { CREDENTIAL, type CredentialRow, toCredential } from '../credential-row.js';
import { SqliteAdmins } from './admins.js';
import { insertAudit } from './audit.js';
import { registrationGate } from './registration.js';

// `expires` is the last ms at which a credential works; 0 means it never expires.
const UNEXPIRED = '(expires = 0 OR expires >= ?)';

// Rows of `table` whose `column` names no account (exactly), for the purge at a switch.
const NO_ACCOUNT = (table: string, column: string) =>
  `NOT EXISTS (SELECT 1 FROM users u WHERE u.nick = ${table}.${column}
    AND u.nick = ${table}.${column} COLLATE BINARY)`;

/** The tables of a nick's notification state, emptied at registration and at deletion. */
const NOTIFY_TABLES = ['read_markers', 'notify_levels', 'attention', 'user_settings'];

/** The AccountStore of SqliteStore: the users and credentials tables of the same database. */
export class SqliteAccounts implements AccountStore {
  private readonly createTx: (
    nick: string,
    passwordHash: string,
    now: number,
    options: NewUserOptions,
  ) => boolean;
  private readonly selectRegistered: Database.Statement<[{ nick: string }], { registered: number }>;
  private readonly selectLookAlike: Database.Statement<[string], { nick: string }>;
  private readonly selectCanonical: Database.Statement<[string], { nick: string }>;
  private readonly selectPassword: Database.Statement<[{ nick: string }], { password: string }>;
  private readonly updatePassword: Database.Statement<[{ nick: string; password: string }]>;
  private readonly insertCredential: Database.Statement<[string, CredentialRow]>;
  private readonly selectCredential: Database.Statement<[string, number], CredentialRow>;
  private readonly deleteTicket: Database.Statement<[string], CredentialRow>;
  private readonly selectCredentials: Database.Statement<
    [string, CredentialKind, number],
    CredentialRow
  >;
  private readonly deleteById: Database.Statement<[string, string]>;
  private readonly deleteAll: Database.Statement<[string, CredentialKind, string | null]>;
  private readonly deleteExpired: Database.Statement<[number]>;
  private readonly dropOrphans: Database.Statement<[string, string]>;
  private readonly dropAllOrphans: Database.Statement<[]>;
  private readonly selectCreated: Database.Statement<[{ nick: string }], { created: number }>;
  private readonly deleteTx: (nick: string, until: number, now: number) => boolean;
  private readonly selectDeparted: Database.Statement<[string, number], { nick: string }>;
  private readonly selectSent: Database.Statement<[number, string, number], { id: number }>;
  private readonly db: Database.Database;
  private readonly adminRole: SqliteAdmins;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(db: Database.Database) {
    this.db = db;
    this.adminRole = new SqliteAdmins(db);
    // The column's NOCASE collation makes a nick taken in any ASCII case a conflict, and the
    // unique index on nick_key a look-alike one: DO NOTHING without a target covers both. The
    // head is read in the same statement, and the mailbox and invitations are dropped in the
    // same IMMEDIATE transaction: no append of any process falls between.
    const insertUser = db.prepare(
      `INSERT INTO users (nick, password, created, registered, nick_key)
       SELECT ?, ?, ?, coalesce(max(id), 0), ? FROM messages WHERE true ON CONFLICT DO NOTHING`,
    );
    const dropMailbox = db.prepare('DELETE FROM offline WHERE recipient = ?');
    const dropInvites = db.prepare('DELETE FROM invites WHERE nick = ?');
    // Notification state a nick had before its account (an open-mode user's, anyone's):
    // levels, markers (the baseline too), attention and push settings (accounts.ts).
    const dropNotify = NOTIFY_TABLES.map((table) =>
      db.prepare(`DELETE FROM ${table} WHERE nick = ?`),
    );
    const reserved = db.prepare('SELECT 1 FROM departed WHERE nick_key = ? AND until > ?');
    // Registration modes and invites (registration.ts): checked first, counted after the
    // insert, all in this transaction.
    const gate = registrationGate(db);
    const makeAdmin = db.prepare(
      'UPDATE users SET admin = 1 WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    const create = db.transaction(
      (nick: string, passwordHash: string, now: number, options: NewUserOptions) => {
        const invited = options.gate !== undefined && gate.check(options.gate, now);
        if (reserved.get(nickKey(nick), now) !== undefined) return false;
        if (insertUser.run(nick, passwordHash, now, nickKey(nick)).changes !== 1) return false;
        if (invited && options.gate) gate.count(options.gate, now, nick);
        if (options.admin) makeAdmin.run({ nick });
        if (options.audit) insertAudit(db, options.audit);
        dropMailbox.run(nick);
        dropInvites.run(nick);
        for (const drop of dropNotify) drop.run(nick);
        return true;
      },
    );
    this.createTx = (nick, passwordHash, now, options) =>
      create.immediate(nick, passwordHash, now, options);
    // Deleting an account (accounts.ts): everything keyed by the nick, in one transaction.
    const deleteUser = db.prepare(
      'DELETE FROM users WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    const dropOwn = ['credentials', 'push_subscriptions', ...NOTIFY_TABLES].map((table) =>
      db.prepare(`DELETE FROM ${table} WHERE nick = ?`),
    );
    const reserve = db.prepare(
      `INSERT INTO departed (nick_key, nick, until) VALUES (?, ?, ?)
       ON CONFLICT (nick_key) DO UPDATE SET nick = excluded.nick, until = excluded.until`,
    );
    const remove = db.transaction((nick: string, until: number, now: number) => {
      if (deleteUser.run({ nick }).changes !== 1) return false;
      for (const drop of [...dropOwn, dropMailbox]) drop.run(nick);
      if (until > now) reserve.run(nickKey(nick), nick, until);
      return true;
    });
    this.deleteTx = (nick, until, now) => remove.immediate(nick, until, now);
    this.selectDeparted = db.prepare('SELECT nick FROM departed WHERE nick_key = ? AND until > ?');
    // In id order from `after` (the rowid), stopping at the limit: the pages of one deletion
    // read the log once between them. Room messages have no sender index in this engine.
    this.selectSent = db.prepare(
      `SELECT id FROM messages WHERE id > ? AND sender = ? AND kind = 'message' AND deleted = 0
        ORDER BY id LIMIT ?`,
    );
    this.selectLookAlike = db.prepare('SELECT nick FROM users WHERE nick_key = ?');
    this.selectCanonical = db.prepare('SELECT nick FROM users WHERE nick = ?');
    // The first comparison (NOCASE) finds the row through the primary key; the second makes
    // a login use the exact nick.
    this.selectRegistered = db.prepare(
      'SELECT registered FROM users WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    this.selectCreated = db.prepare(
      'SELECT created FROM users WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
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
    this.deleteTicket = db.prepare(
      `DELETE FROM credentials WHERE secret_hash = ? AND kind = 'ticket' RETURNING ${CREDENTIAL}`,
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
    // A push subscription belongs to the session or token that made it (push-store.ts): when
    // that credential goes, however it goes, so does the subscription.
    this.dropOrphans = db.prepare(
      `DELETE FROM push_subscriptions WHERE nick = ?
         AND session NOT IN (SELECT id FROM credentials WHERE nick = ?)`,
    );
    this.dropAllOrphans = db.prepare(
      'DELETE FROM push_subscriptions WHERE session NOT IN (SELECT id FROM credentials)',
    );
  }

  async isAdmin(nick: string): Promise<boolean> {
    return this.adminRole.isAdmin(nick);
  }

  async setAdmin(nick: string, admin: boolean, audit: NewAuditEntry): Promise<boolean> {
    return this.adminRole.setAdmin(nick, admin, audit);
  }

  async admins(): Promise<string[]> {
    return this.adminRole.admins();
  }

  async createUser(
    nick: string,
    passwordHash: string,
    now: number,
    options: NewUserOptions = {},
  ): Promise<boolean> {
    return this.createTx(nick, passwordHash, now, options);
  }

  async lookAlike(nick: string): Promise<string | undefined> {
    return this.selectLookAlike.get(nickKey(nick))?.nick;
  }

  /**
   * The registration point (store.ts) of exactly this nick, 0 when it has no account. The
   * log's reads bind it as @registered rather than asking in a subquery, which SQLite ran per
   * row (a sixth slower replay, measured). An account's point never changes once made, and
   * only a registered viewer can be logged in in accounts mode, so reading it in its own
   * statement before the query cannot pair a query with a stale point that matters.
   */
  registeredAt(nick: string): number {
    return this.selectRegistered.get({ nick })?.registered ?? 0;
  }

  async created(nick: string): Promise<number | undefined> {
    return this.selectCreated.get({ nick })?.created;
  }

  async registration(nick: string): Promise<number | undefined> {
    return this.selectRegistered.get({ nick })?.registered;
  }

  async registrations(nicks: readonly string[]): Promise<Map<string, number>> {
    // In-process lookups on the primary key: a loop costs microseconds a nick.
    const found = new Map<string, number>();
    for (const nick of nicks) {
      const row = this.selectRegistered.get({ nick });
      if (row) found.set(nick, row.registered);
    }
    return found;
  }

  async canonicalNick(nick: string): Promise<string | undefined> {
    // The NOCASE primary key matches any ASCII case.
    return this.selectCanonical.get(nick)?.nick;
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

  async takeTicket(secretHash: string, now: number): Promise<Credential | undefined> {
    // An expired one is deleted too: it could never be used again anyway.
    const row = this.deleteTicket.get(secretHash);
    return row && (row.expires === 0 || row.expires >= now) ? toCredential(row) : undefined;
  }

  async credentials(nick: string, kind: CredentialKind, now: number): Promise<Credential[]> {
    return this.selectCredentials.all(nick, kind, now).map(toCredential);
  }

  async revoke(nick: string, id: string): Promise<boolean> {
    return this.db.transaction(() => {
      const gone = this.deleteById.run(nick, id).changes > 0;
      this.dropOrphans.run(nick, nick);
      return gone;
    })();
  }

  async revokeAll(nick: string, kind: CredentialKind, except?: string): Promise<number> {
    return this.db.transaction(() => {
      // `id IS NOT NULL` holds for every row: no exception.
      const gone = this.deleteAll.run(nick, kind, except ?? null).changes;
      this.dropOrphans.run(nick, nick);
      return gone;
    })();
  }

  async deleteUser(nick: string, until: number, now: number): Promise<boolean> {
    return this.deleteTx(nick, until, now);
  }

  async departed(nick: string, now: number): Promise<string | undefined> {
    return this.selectDeparted.get(nickKey(nick), now)?.nick;
  }

  async sentMessages(nick: string, after: number, limit: number): Promise<number[]> {
    return this.selectSent.all(after, nick, limit).map((r) => r.id);
  }

  async pruneCredentials(now: number): Promise<number> {
    return this.db.transaction(() => {
      const gone = this.deleteExpired.run(now).changes;
      if (gone > 0) this.dropAllOrphans.run();
      return gone;
    })();
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
        if (mode === 'accounts' && row?.value !== 1) {
          this.db.prepare(`DELETE FROM offline WHERE ${NO_ACCOUNT('offline', 'recipient')}`).run();
          this.db.prepare(`DELETE FROM invites WHERE ${NO_ACCOUNT('invites', 'nick')}`).run();
        }
        if (row === undefined || row.value === value) return 0;
        // A browser subscribed under the other mode's nick must not be pushed this mode's.
        this.db.prepare('DELETE FROM push_subscriptions').run();
        return this.db.prepare('DELETE FROM credentials').run().changes;
      })
      .immediate();
  }
}
