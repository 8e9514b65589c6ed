import type pg from 'pg';
import type { NewAuditEntry } from '../../domain/audit.js';
import { ChatError } from '../../domain/errors.js';
import { insertAudit } from './audit.js';
import { inTransaction } from './client.js';

/** Whether exactly this nick's account is a server admin (the primary key compares exactly). */
export async function isAdmin(pool: pg.Pool, nick: string): Promise<boolean> {
  const { rows } = await pool.query<{ admin: boolean }>('SELECT admin FROM users WHERE nick = $1', [
    nick,
  ]);
  return rows[0]?.admin === true;
}

/** The nicks of every server admin, in nick order (ASCII letters folded, as SQLite's NOCASE). */
export async function admins(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ nick: string }>(
    'SELECT nick FROM users WHERE admin ORDER BY lower(nick COLLATE "C"), nick',
  );
  return rows.map((r) => r.nick);
}

/** AccountStore.setAdmin of PostgresAccounts (accounts.ts). */
export function setAdmin(
  pool: pg.Pool,
  nick: string,
  admin: boolean,
  audit: NewAuditEntry,
): Promise<boolean> {
  return inTransaction(pool, async (client) => {
    // Every admin row is locked first, so that two demotions at once are decided one after
    // the other: the second re-reads the rows the first changed and sees one admin left.
    const held = await client.query<{ nick: string }>(
      'SELECT nick FROM users WHERE admin ORDER BY nick FOR UPDATE',
    );
    const { rows } = await client.query<{ admin: boolean }>(
      'SELECT admin FROM users WHERE nick = $1 FOR UPDATE',
      [nick],
    );
    const row = rows[0];
    if (!row) return false;
    if (row.admin === admin) return true;
    if (!admin && held.rows.length <= 1) throw new ChatError('ADMIN_LAST');
    await client.query('UPDATE users SET admin = $2 WHERE nick = $1', [nick, admin]);
    await insertAudit(client, audit);
    return true;
  });
}
