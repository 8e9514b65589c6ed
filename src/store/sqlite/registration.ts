import type Database from 'better-sqlite3';
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

interface InviteRow {
  id: string;
  created_by: string;
  created: number;
  expires: number;
  max_uses: number;
  uses: number;
  revoked: number;
}

const INVITE = 'id, created_by, created, expires, max_uses, uses, revoked';

function toInvite(row: InviteRow): Invite {
  return {
    id: row.id,
    createdBy: row.created_by,
    created: row.created,
    expires: row.expires,
    maxUses: row.max_uses,
    uses: row.uses,
    revoked: row.revoked !== 0,
  };
}

/**
 * The check of a registration by the user themself, for SqliteAccounts.createUser's
 * transaction: `check` throws when the mode (stored, else the gate's fallback) or the invite
 * refuses it, and returns whether an invite's use is to be counted; `count` counts it. Both
 * run in the same IMMEDIATE transaction as the insert, so no other process registers between.
 */
export function registrationGate(db: Database.Database) {
  const selectMode = db.prepare<[], { registration: RegistrationMode | null }>(
    'SELECT registration FROM server_settings WHERE id = 1',
  );
  const selectInvite = db.prepare<[string], InviteRow>(
    `SELECT ${INVITE} FROM invite_links WHERE code_hash = ?`,
  );
  const countUse = db.prepare<[string, number], { id: string }>(
    `UPDATE invite_links SET uses = uses + 1
      WHERE code_hash = ? AND revoked = 0 AND uses < max_uses AND expires >= ? RETURNING id`,
  );
  const recordUse = db.prepare<[string, string, number]>(
    'INSERT INTO invite_uses (invite, nick, ts) VALUES (?, ?, ?)',
  );
  return {
    check(gate: RegistrationGate, now: number): boolean {
      const mode = selectMode.get()?.registration ?? gate.fallback;
      if (mode === 'closed') throw new ChatError('AUTH_REGISTRATION_CLOSED');
      if (mode === 'open') return false;
      if (gate.inviteHash === undefined) throw new ChatError('AUTH_INVITE_REQUIRED');
      const row = selectInvite.get(gate.inviteHash);
      const status = row && inviteStatus(toInvite(row), now);
      if (status !== 'active') throw inviteRefusal(status);
      return true;
    },
    count(gate: RegistrationGate, now: number, nick: string): void {
      const used = countUse.get(gate.inviteHash ?? '', now);
      if (used === undefined) throw inviteRefusal(undefined);
      recordUse.run(used.id, nick, now);
    },
  };
}

/** The RegistrationStore of SqliteStore: tables server_settings and invite_links. */
export class SqliteRegistration implements RegistrationStore {
  private readonly selectMode: Database.Statement<[], { registration: RegistrationMode | null }>;
  private readonly setModeTx: (mode: RegistrationMode, audit: NewAuditEntry) => void;
  private readonly createTx: (invite: NewInvite, audit: NewAuditEntry) => void;
  private readonly revokeTx: (id: string, audit: NewAuditEntry) => boolean;
  private readonly selectInvite: Database.Statement<[string], InviteRow>;
  private readonly selectPage: Database.Statement<
    [{ before: string | null; limit: number }],
    InviteRow & { seq: number }
  >;

  private readonly gate: ReturnType<typeof registrationGate>;
  private readonly selectUses: Database.Statement<[string], InviteUse>;

  constructor(db: Database.Database) {
    this.gate = registrationGate(db);
    this.selectUses = db.prepare(
      'SELECT nick, ts FROM invite_uses WHERE invite = ? ORDER BY ts, nick',
    );
    this.selectMode = db.prepare('SELECT registration FROM server_settings WHERE id = 1');
    const upsertMode = db.prepare<[RegistrationMode]>(
      `INSERT INTO server_settings (id, registration) VALUES (1, ?)
       ON CONFLICT (id) DO UPDATE SET registration = excluded.registration`,
    );
    const setMode = db.transaction((mode: RegistrationMode, audit: NewAuditEntry) => {
      upsertMode.run(mode);
      insertAudit(db, audit);
    });
    this.setModeTx = (mode, audit) => setMode.immediate(mode, audit);
    const countActive = db.prepare<[number], { n: number }>(
      `SELECT count(*) AS n FROM invite_links
        WHERE revoked = 0 AND uses < max_uses AND expires >= ?`,
    );
    const insertInvite = db.prepare<[NewInvite]>(
      `INSERT INTO invite_links (id, code_hash, created_by, created, expires, max_uses)
       VALUES (@id, @codeHash, @createdBy, @created, @expires, @maxUses)`,
    );
    const create = db.transaction((invite: NewInvite, audit: NewAuditEntry) => {
      if ((countActive.get(invite.created)?.n ?? 0) >= MAX_ACTIVE_INVITES) {
        throw new ChatError('INVITES_FULL', `at most ${MAX_ACTIVE_INVITES}`);
      }
      insertInvite.run(invite);
      insertAudit(db, audit);
    });
    this.createTx = (invite, audit) => create.immediate(invite, audit);
    const revoke = db.prepare<[string]>(
      'UPDATE invite_links SET revoked = 1 WHERE id = ? AND revoked = 0',
    );
    const revokeTx = db.transaction((id: string, audit: NewAuditEntry) => {
      if (revoke.run(id).changes !== 1) return false;
      insertAudit(db, audit);
      return true;
    });
    this.revokeTx = (id, audit) => revokeTx.immediate(id, audit);
    this.selectInvite = db.prepare(`SELECT ${INVITE} FROM invite_links WHERE id = ?`);
    // Newest first by seq (the order of creation); `before` is an invite's id (an unknown one:
    // nothing before it).
    this.selectPage = db.prepare(
      `SELECT seq, ${INVITE} FROM invite_links
        WHERE @before IS NULL OR seq < (SELECT seq FROM invite_links WHERE id = @before)
        ORDER BY seq DESC LIMIT @limit`,
    );
  }

  async admits(gate: RegistrationGate, now: number): Promise<void> {
    this.gate.check(gate, now);
  }

  async mode(): Promise<RegistrationMode | undefined> {
    return this.selectMode.get()?.registration ?? undefined;
  }

  async setMode(mode: RegistrationMode, audit: NewAuditEntry): Promise<void> {
    this.setModeTx(mode, audit);
  }

  async createInvite(invite: NewInvite, audit: NewAuditEntry): Promise<void> {
    this.createTx(invite, audit);
  }

  async invites(before: string | undefined, limit: number): Promise<InvitePage> {
    const rows = this.selectPage.all({ before: before ?? null, limit: limit + 1 });
    const page = rows.slice(0, limit).map(toInvite);
    return { invites: page, next: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
  }

  async invite(id: string): Promise<Invite | undefined> {
    const row = this.selectInvite.get(id);
    return row && toInvite(row);
  }

  async inviteUses(id: string): Promise<InviteUse[]> {
    return this.selectUses.all(id);
  }

  async revokeInvite(id: string, audit: NewAuditEntry): Promise<boolean> {
    return this.revokeTx(id, audit);
  }
}
