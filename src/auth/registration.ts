import type { NewAuditEntry } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import {
  DEFAULT_INVITE_HOURS,
  DEFAULT_INVITE_USES,
  type Invite,
  type InviteStatus,
  inviteNumber,
  inviteStatus,
  MAX_INVITE_CODE_LENGTH,
  MAX_INVITE_HOURS,
  MAX_INVITE_USES,
  type RegistrationGate,
  type RegistrationMode,
} from '../domain/registration.js';
import type { InvitePage, InviteUse, RegistrationStore } from '../store/registration-store.js';
import { hashSecret, newId, newSecret } from './secrets.js';

/** A code hash no invite has (hashSecret gives 64 hex digits). */
const NO_INVITE = 'none';
/** How long this process trusts the stored mode it read for GET /server (registration is exact). */
const MODE_CACHE_MS = 1000;

/** An invite as an admin sees it: its status at the time of asking, never its code. */
export interface InviteView extends Invite {
  readonly status: InviteStatus;
}

/**
 * Who may register (issue 23): the mode (an admin's stored choice, else --registration), the
 * invite links, and the gate a registration passes. The gate itself is checked by the Store
 * in the transaction that creates the account (AccountStore.createUser), so a mode change or
 * an invite's last use is exact across processes; this class only reads the mode for showing
 * it, makes and lists invites and writes the admins' changes with their audit rows.
 */
export class Registration {
  private cached: { mode: RegistrationMode; at: number } | undefined;

  constructor(
    private readonly store: RegistrationStore,
    /** --registration: the mode until an admin stores one. */
    private readonly fallback: RegistrationMode,
    private readonly now: () => number = Date.now,
  ) {}

  /** The mode now in force (the stored one, else the flag's), read at most once a second. */
  async mode(): Promise<RegistrationMode> {
    const now = this.now();
    if (this.cached && now - this.cached.at < MODE_CACHE_MS) return this.cached.mode;
    const mode = (await this.store.mode()) ?? this.fallback;
    this.cached = { mode, at: now };
    return mode;
  }

  /** The mode the flag gives, and the one stored by an admin (null: none yet). */
  async modes(): Promise<{
    mode: RegistrationMode;
    flag: RegistrationMode;
    stored: RegistrationMode | null;
  }> {
    const stored = (await this.store.mode()) ?? null;
    return { mode: stored ?? this.fallback, flag: this.fallback, stored };
  }

  /** Stores `mode` (it wins over the flag from now on), audited 'registration'. */
  async setMode(actor: string, mode: RegistrationMode, reason: string): Promise<void> {
    const previous = (await this.store.mode()) ?? this.fallback;
    await this.store.setMode(mode, this.audit(actor, 'registration', reason, { mode, previous }));
    this.cached = { mode, at: this.now() };
  }

  /**
   * What a registration with invite code `code` (if any) must pass, for Users.create. A code
   * that cannot be one (not a string, too long) gets a hash no invite has: in invite mode the
   * Store finds no such invite; in open mode it is not looked at, as any invite is not.
   */
  gate(code: unknown): RegistrationGate {
    if (code === undefined || code === null || code === '') return { fallback: this.fallback };
    const real = typeof code === 'string' && code.length <= MAX_INVITE_CODE_LENGTH;
    return { fallback: this.fallback, inviteHash: real ? hashSecret(code) : NO_INVITE };
  }

  /**
   * Throws when `gate` would be refused now (mode closed, no invite, an invite that cannot be
   * used), before anything costly: the password's hash waits for this. The Store decides
   * again in the account's transaction.
   */
  admits(gate: RegistrationGate): Promise<void> {
    return this.store.admits(gate, this.now());
  }

  /**
   * Makes an invite for `maxUses` registrations (1..MAX_INVITE_USES, default 1) that works for
   * `expiresInHours` (1..MAX_INVITE_HOURS, default a week); audited 'invite.create'. The code
   * is in the answer this once: only its hash is stored.
   */
  async createInvite(
    actor: string,
    maxUsesRaw: unknown,
    hoursRaw: unknown,
  ): Promise<{ invite: InviteView; code: string }> {
    const maxUses = inviteNumber(maxUsesRaw, DEFAULT_INVITE_USES, MAX_INVITE_USES);
    const hours = inviteNumber(hoursRaw, DEFAULT_INVITE_HOURS, MAX_INVITE_HOURS);
    const code = newSecret();
    const created = this.now();
    const invite = {
      id: newId(),
      codeHash: hashSecret(code),
      createdBy: actor,
      created,
      expires: created + hours * 3_600_000,
      maxUses,
    };
    await this.store.createInvite(
      invite,
      this.audit(actor, 'invite.create', '', {
        invite: invite.id,
        maxUses,
        expires: invite.expires,
      }),
    );
    const { codeHash: _, ...rest } = invite;
    return { invite: { ...rest, uses: 0, revoked: false, status: 'active' }, code };
  }

  /** A page of invites, newest first, with their status now. */
  async invites(
    before: string | undefined,
    limit: number,
  ): Promise<{ invites: InviteView[]; next: string | null }> {
    const page: InvitePage = await this.store.invites(before, limit);
    const now = this.now();
    return {
      invites: page.invites.map((invite) => ({ ...invite, status: inviteStatus(invite, now) })),
      next: page.next,
    };
  }

  /** One invite with who registered through it; INVITE_NOT_FOUND when there is none. */
  async invite(id: string): Promise<{ invite: InviteView; usedBy: InviteUse[] }> {
    const found = await this.store.invite(id);
    if (!found) throw new ChatError('INVITE_NOT_FOUND');
    const usedBy = await this.store.inviteUses(id);
    return { invite: { ...found, status: inviteStatus(found, this.now()) }, usedBy };
  }

  /** Revokes an invite, audited 'invite.revoke'; INVITE_NOT_FOUND when there is none. */
  async revoke(actor: string, id: string, reason: string): Promise<InviteView> {
    const found = await this.store.invite(id);
    if (!found) throw new ChatError('INVITE_NOT_FOUND');
    // Revoking twice changes nothing and writes no second row; the answer is the same.
    await this.store.revokeInvite(id, this.audit(actor, 'invite.revoke', reason, { invite: id }));
    const invite = (await this.store.invite(id)) ?? found;
    return { ...invite, status: inviteStatus(invite, this.now()) };
  }

  /** An audit row of `actor`'s action, now. */
  audit(
    actor: string,
    action: NewAuditEntry['action'],
    reason: string,
    detail: Record<string, unknown>,
    target?: string,
  ): NewAuditEntry {
    return { ts: this.now(), actor, action, reason, detail, ...(target ? { target } : {}) };
  }
}
