import type pg from 'pg';
import type { NewAuditEntry } from '../../domain/audit.js';
import { nickKey } from '../../domain/confusables.js';
import type { AccountStore, Credential, CredentialKind, NewUserOptions } from '../accounts.js';
import { CREDENTIAL, type CredentialRow, toCredential } from '../credential-row.js';
import { admins, isAdmin, setAdmin } from './admins.js';
import { insertAudit } from './audit.js';
import { inTransaction } from './client.js';
import { checkRegistration, countInviteUse } from './registration.js';
import { appendLock, LOCK } from './schema.js';

// `expires` is the last ms at which a credential works; 0 means it never expires.
const UNEXPIRED = '(expires = 0 OR expires >= $2)';

/**
 * The registration point (store.ts) of the nick bound as parameter `$n`, 0 when it has no
 * account; the primary key compares exactly.
 */
export function registered(n: number): string {
  return `coalesce((SELECT registered FROM users WHERE nick = $${n}), 0)`;
}

/** The AccountStore of PostgresStore: the users and credentials tables of the same schema. */
export class PostgresAccounts implements AccountStore {
  /**
   * Queries through `pool`, whose connections already use the store's schema; `lockKey` is the
   * schema's advisory-lock key (schemaKey in postgres-schema.ts).
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly lockKey: number,
  ) {}

  isAdmin(nick: string): Promise<boolean> {
    return isAdmin(this.pool, nick);
  }

  setAdmin(nick: string, admin: boolean, audit: NewAuditEntry): Promise<boolean> {
    return setAdmin(this.pool, nick, admin, audit);
  }

  admins(): Promise<string[]> {
    return admins(this.pool);
  }

  async createUser(
    nick: string,
    passwordHash: string,
    now: number,
    options: NewUserOptions = {},
  ): Promise<boolean> {
    // Under the append lock no append is in flight (store.ts), so max(id) is the
    // exact head, and no message or invitation to the nick lands between that read and the
    // deletes. The unique index on lower(nick) makes a nick taken in any ASCII case a conflict,
    // and the one on nick_key a look-alike one: DO NOTHING without a target covers both, and a
    // concurrent insert of the same key waits for this one's commit and then does nothing.
    return inTransaction(
      this.pool,
      async (client) => {
        // Registration modes and invites (registration.ts): checked first, counted after the
        // insert, in this transaction, under the lock every registration takes.
        const { gate } = options;
        const invited = gate !== undefined && (await checkRegistration(client, gate, now));
        const held = await client.query(
          'SELECT 1 FROM departed WHERE nick_key = $1 AND until > $2',
          [nickKey(nick), now],
        );
        if (held.rowCount !== 0) return false;
        const { rowCount } = await client.query(
          `INSERT INTO users (nick, password, created, registered, nick_key)
         SELECT $1, $2, $3, coalesce(max(id), 0), $4 FROM messages ON CONFLICT DO NOTHING`,
          [nick, passwordHash, now, nickKey(nick)],
        );
        if (rowCount !== 1) return false;
        if (invited && gate) await countInviteUse(client, gate, now, nick);
        if (options.admin)
          await client.query('UPDATE users SET admin = true WHERE nick = $1', [nick]);
        if (options.audit) await insertAudit(client, options.audit);
        await client.query('DELETE FROM offline WHERE recipient = $1', [nick]);
        await client.query('DELETE FROM invites WHERE nick = $1', [nick]);
        // Notification state the nick had before its account (accounts.ts): one statement.
        await client.query(
          `WITH m AS (DELETE FROM read_markers WHERE nick = $1),
                l AS (DELETE FROM notify_levels WHERE nick = $1),
                a AS (DELETE FROM attention WHERE nick = $1)
           DELETE FROM user_settings WHERE nick = $1`,
          [nick],
        );
        return true;
      },
      { lock: appendLock(this.lockKey) },
    );
  }

  async deleteUser(nick: string, until: number, now: number): Promise<boolean> {
    // Under the append lock, as createUser: a registration of a look-alike either commits
    // before (and is a different account) or sees the departed row.
    return inTransaction(
      this.pool,
      async (client) => {
        const { rowCount } = await client.query('DELETE FROM users WHERE nick = $1', [nick]);
        if (rowCount !== 1) return false;
        await client.query(
          `WITH c AS (DELETE FROM credentials WHERE nick = $1),
                p AS (DELETE FROM push_subscriptions WHERE nick = $1),
                m AS (DELETE FROM read_markers WHERE nick = $1),
                l AS (DELETE FROM notify_levels WHERE nick = $1),
                a AS (DELETE FROM attention WHERE nick = $1),
                s AS (DELETE FROM user_settings WHERE nick = $1)
           DELETE FROM offline WHERE recipient = $1`,
          [nick],
        );
        if (until > now) {
          await client.query(
            `INSERT INTO departed (nick_key, nick, until) VALUES ($1, $2, $3)
             ON CONFLICT (nick_key) DO UPDATE SET nick = excluded.nick, until = excluded.until`,
            [nickKey(nick), nick, until],
          );
        }
        return true;
      },
      { lock: appendLock(this.lockKey) },
    );
  }

  async departed(nick: string, now: number): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ nick: string }>(
      'SELECT nick FROM departed WHERE nick_key = $1 AND until > $2',
      [nickKey(nick), now],
    );
    return rows[0]?.nick;
  }

  async sentMessages(nick: string, after: number, limit: number): Promise<number[]> {
    const { rows } = await this.pool.query<{ id: number }>(
      `SELECT id FROM messages WHERE sender = $1 AND id > $2 AND kind = 'message' AND NOT deleted
        ORDER BY id LIMIT $3`,
      [nick, after, limit],
    );
    return rows.map((r) => r.id);
  }

  async lookAlike(nick: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ nick: string }>(
      'SELECT nick FROM users WHERE nick_key = $1',
      [nickKey(nick)],
    );
    return rows[0]?.nick;
  }

  async created(nick: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ created: number }>(
      'SELECT created FROM users WHERE nick = $1',
      [nick],
    );
    return rows[0]?.created;
  }

  async registration(nick: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ registered: string }>(
      'SELECT registered FROM users WHERE nick = $1',
      [nick],
    );
    const found = rows[0];
    return found === undefined ? undefined : Number(found.registered);
  }

  async registrations(nicks: readonly string[]): Promise<Map<string, number>> {
    // One round trip, not one a nick: a start may ask about every member of every room.
    const { rows } = await this.pool.query<{ nick: string; registered: string }>(
      'SELECT nick, registered FROM users WHERE nick = ANY($1::text[])',
      [nicks],
    );
    return new Map(rows.map((r) => [r.nick, Number(r.registered)]));
  }

  async canonicalNick(nick: string): Promise<string | undefined> {
    // users_nick_folded: lower() under "C" folds ASCII letters only, as the contract says.
    const { rows } = await this.pool.query<{ nick: string }>(
      'SELECT nick FROM users WHERE lower(nick COLLATE "C") = lower($1 COLLATE "C")',
      [nick],
    );
    return rows[0]?.nick;
  }

  async passwordHash(nick: string): Promise<string | undefined> {
    // The primary key compares exactly: a login must use the exact nick.
    const { rows } = await this.pool.query<{ password: string }>(
      'SELECT password FROM users WHERE nick = $1',
      [nick],
    );
    return rows[0]?.password;
  }

  async setPasswordHash(nick: string, passwordHash: string): Promise<void> {
    await this.pool.query('UPDATE users SET password = $2 WHERE nick = $1', [nick, passwordHash]);
  }

  async addCredential(secretHash: string, credential: Credential): Promise<void> {
    const { kind, id, nick, label, created, expires } = credential;
    await this.pool.query(
      `INSERT INTO credentials (secret_hash, ${CREDENTIAL}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [secretHash, kind, id, nick, label, created, expires],
    );
  }

  async credential(secretHash: string, now: number): Promise<Credential | undefined> {
    const { rows } = await this.pool.query<CredentialRow>(
      `SELECT ${CREDENTIAL} FROM credentials WHERE secret_hash = $1 AND ${UNEXPIRED}`,
      [secretHash, now],
    );
    return rows[0] && toCredential(rows[0]);
  }

  async takeTicket(secretHash: string, now: number): Promise<Credential | undefined> {
    // One statement, so that two takers (even on two nodes) cannot both get the row: the
    // second blocks on the row lock and then finds it gone. An expired one is deleted too: it
    // could never be used again anyway.
    const { rows } = await this.pool.query<CredentialRow>(
      `DELETE FROM credentials WHERE secret_hash = $1 AND kind = 'ticket'
        RETURNING ${CREDENTIAL}`,
      [secretHash],
    );
    const row = rows[0];
    return row && (row.expires === 0 || row.expires >= now) ? toCredential(row) : undefined;
  }

  async credentials(nick: string, kind: CredentialKind, now: number): Promise<Credential[]> {
    const { rows } = await this.pool.query<CredentialRow>(
      `SELECT ${CREDENTIAL} FROM credentials WHERE nick = $1 AND ${UNEXPIRED} AND kind = $3
        ORDER BY created, seq`,
      [nick, now, kind],
    );
    return rows.map(toCredential);
  }

  // A push subscription belongs to the session or token that made it (push-store.ts): when
  // that credential goes, however it goes, so does the subscription, in the same statement.

  async revoke(nick: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `WITH gone AS (DELETE FROM credentials WHERE nick = $1 AND id = $2 RETURNING id),
            subs AS (DELETE FROM push_subscriptions WHERE session IN (SELECT id FROM gone))
       SELECT 1 FROM gone`,
      [nick, id],
    );
    return (rowCount ?? 0) > 0;
  }

  async revokeAll(nick: string, kind: CredentialKind, except?: string): Promise<number> {
    // IS DISTINCT FROM NULL holds for every row: no exception.
    const { rowCount } = await this.pool.query(
      `WITH gone AS (
         DELETE FROM credentials WHERE nick = $1 AND kind = $2 AND id IS DISTINCT FROM $3::text
         RETURNING id),
            subs AS (DELETE FROM push_subscriptions WHERE session IN (SELECT id FROM gone))
       SELECT 1 FROM gone`,
      [nick, kind, except ?? null],
    );
    return rowCount ?? 0;
  }

  async pruneCredentials(now: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `WITH gone AS (DELETE FROM credentials WHERE expires <> 0 AND expires < $1 RETURNING id),
            subs AS (DELETE FROM push_subscriptions WHERE session IN (SELECT id FROM gone))
       SELECT 1 FROM gone`,
      [now],
    );
    return rowCount ?? 0;
  }

  async authMode(): Promise<'open' | 'accounts' | undefined> {
    const { rows } = await this.pool.query<{ value: number }>(
      "SELECT value FROM meta WHERE key = 'auth_mode'",
    );
    const value = rows[0]?.value;
    return value === undefined ? undefined : value === 1 ? 'accounts' : 'open';
  }

  async setAuthMode(mode: 'open' | 'accounts'): Promise<number> {
    // meta holds integers: 0 is open, 1 is accounts. The lock makes the read and the write one
    // step even when nodes start at once and no row exists yet (FOR UPDATE cannot lock a row
    // that is missing).
    const value = mode === 'accounts' ? 1 : 0;
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK.authMode, this.lockKey]);
      const { rows } = await client.query<{ value: number }>(
        "SELECT value FROM meta WHERE key = 'auth_mode'",
      );
      await client.query(
        `INSERT INTO meta (key, value) VALUES ('auth_mode', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [value],
      );
      const recorded = rows[0]?.value;
      if (mode === 'accounts' && recorded !== 1) {
        const noAccount = (column: string) =>
          `NOT EXISTS (SELECT 1 FROM users u WHERE u.nick = ${column})`;
        await client.query(`DELETE FROM offline o WHERE ${noAccount('o.recipient')}`);
        await client.query(`DELETE FROM invites i WHERE ${noAccount('i.nick')}`);
      }
      if (recorded === undefined || recorded === value) return 0;
      // A browser subscribed under the other mode's nick must not be pushed this mode's.
      await client.query('DELETE FROM push_subscriptions');
      return (await client.query('DELETE FROM credentials')).rowCount ?? 0;
    });
  }
}
