import type pg from 'pg';
import type { NewAuditEntry } from '../../domain/audit.js';
import { ChatError } from '../../domain/errors.js';
import {
  type Invite,
  inviteRefusal,
  inviteStatus,
  MAX_ACTIVE_INVITES,
  type RegistrationGate,
  type RegistrationMode,
} from '../../domain/registration.js';
import type { InvitePage, InviteUse, NewInvite, RegistrationStore } from '../registration-store.js';
import { insertAudit } from './audit.js';
import { inTransaction } from './client.js';

interface InviteRow {
  id: string;
  created_by: string;
  created: number;
  expires: number;
  max_uses: number;
  uses: number;
  revoked: boolean;
}

const INVITE = 'id, created_by, created, expires, max_uses, uses, revoked';

function toInvite(row: InviteRow): Invite {
  return {
    id: row.id,
    createdBy: row.created_by,
    created: Number(row.created),
    expires: Number(row.expires),
    maxUses: row.max_uses,
    uses: row.uses,
    revoked: row.revoked,
  };
}

/**
 * Checks a registration by the user themself in PostgresAccounts.createUser's transaction
 * (under the append lock, so registrations of every process are one after another): throws
 * when the mode (stored, else the gate's fallback) or the invite refuses it; true when an
 * invite's use is to be counted (countInviteUse, after the insert).
 */
export async function checkRegistration(
  client: pg.PoolClient | pg.Pool,
  gate: RegistrationGate,
  now: number,
  lock = true,
): Promise<boolean> {
  const stored = await client.query<{ registration: RegistrationMode | null }>(
    'SELECT registration FROM server_settings WHERE id = 1',
  );
  const mode = stored.rows[0]?.registration ?? gate.fallback;
  if (mode === 'closed') throw new ChatError('AUTH_REGISTRATION_CLOSED');
  if (mode === 'open') return false;
  if (gate.inviteHash === undefined) throw new ChatError('AUTH_INVITE_REQUIRED');
  const { rows } = await client.query<InviteRow>(
    `SELECT ${INVITE} FROM invite_links WHERE code_hash = $1${lock ? ' FOR UPDATE' : ''}`,
    [gate.inviteHash],
  );
  const row = rows[0];
  const status = row && inviteStatus(toInvite(row), now);
  if (status !== 'active') throw inviteRefusal(status);
  return true;
}

/** Counts the use of the gate's invite; the conditional update refuses one too many. */
export async function countInviteUse(
  client: pg.PoolClient,
  gate: RegistrationGate,
  now: number,
  nick: string,
): Promise<void> {
  const { rows } = await client.query<{ id: string }>(
    `UPDATE invite_links SET uses = uses + 1
      WHERE code_hash = $1 AND NOT revoked AND uses < max_uses AND expires >= $2 RETURNING id`,
    [gate.inviteHash ?? '', now],
  );
  const used = rows[0];
  if (used === undefined) throw inviteRefusal(undefined);
  await client.query('INSERT INTO invite_uses (invite, nick, ts) VALUES ($1, $2, $3)', [
    used.id,
    nick,
    now,
  ]);
}

/** The RegistrationStore of PostgresStore: tables server_settings and invite_links. */
export class PostgresRegistration implements RegistrationStore {
  constructor(private readonly pool: pg.Pool) {}

  async admits(gate: RegistrationGate, now: number): Promise<void> {
    await checkRegistration(this.pool, gate, now, false);
  }

  async mode(): Promise<RegistrationMode | undefined> {
    const { rows } = await this.pool.query<{ registration: RegistrationMode | null }>(
      'SELECT registration FROM server_settings WHERE id = 1',
    );
    return rows[0]?.registration ?? undefined;
  }

  async setMode(mode: RegistrationMode, audit: NewAuditEntry): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO server_settings (id, registration) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET registration = excluded.registration`,
        [mode],
      );
      await insertAudit(client, audit);
    });
  }

  async createInvite(invite: NewInvite, audit: NewAuditEntry): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      // One creation at a time, so that the count below is exact: invites are made by hand.
      await client.query('LOCK TABLE invite_links IN SHARE ROW EXCLUSIVE MODE');
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM invite_links
          WHERE NOT revoked AND uses < max_uses AND expires >= $1`,
        [invite.created],
      );
      if ((rows[0]?.n ?? 0) >= MAX_ACTIVE_INVITES) {
        throw new ChatError('INVITES_FULL', `at most ${MAX_ACTIVE_INVITES}`);
      }
      await client.query(
        `INSERT INTO invite_links (id, code_hash, created_by, created, expires, max_uses)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          invite.id,
          invite.codeHash,
          invite.createdBy,
          invite.created,
          invite.expires,
          invite.maxUses,
        ],
      );
      await insertAudit(client, audit);
    });
  }

  async invites(before: string | undefined, limit: number): Promise<InvitePage> {
    const { rows } = await this.pool.query<InviteRow>(
      `SELECT ${INVITE} FROM invite_links
        WHERE $1::text IS NULL OR seq < (SELECT seq FROM invite_links WHERE id = $1)
        ORDER BY seq DESC LIMIT $2`,
      [before ?? null, limit + 1],
    );
    const page = rows.slice(0, limit).map(toInvite);
    return { invites: page, next: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
  }

  async invite(id: string): Promise<Invite | undefined> {
    const { rows } = await this.pool.query<InviteRow>(
      `SELECT ${INVITE} FROM invite_links WHERE id = $1`,
      [id],
    );
    return rows[0] && toInvite(rows[0]);
  }

  async inviteUses(id: string): Promise<InviteUse[]> {
    const { rows } = await this.pool.query<{ nick: string; ts: string | number }>(
      'SELECT nick, ts FROM invite_uses WHERE invite = $1 ORDER BY ts, nick',
      [id],
    );
    return rows.map((r) => ({ nick: r.nick, ts: Number(r.ts) }));
  }

  async revokeInvite(id: string, audit: NewAuditEntry): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        'UPDATE invite_links SET revoked = true WHERE id = $1 AND NOT revoked',
        [id],
      );
      if (rowCount !== 1) return false;
      await insertAudit(client, audit);
      return true;
    });
  }
}
