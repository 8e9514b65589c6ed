import type { NewAuditEntry } from '../domain/audit.js';
import type { Invite, RegistrationGate, RegistrationMode } from '../domain/registration.js';

/** A new invite: its public id, the hash of its code, who made it, when, for how long and how often. */
export interface NewInvite {
  readonly id: string;
  readonly codeHash: string;
  readonly createdBy: string;
  readonly created: number;
  readonly expires: number;
  readonly maxUses: number;
}

/** A registration through an invite: who, and when (ms since the epoch). */
export interface InviteUse {
  readonly nick: string;
  readonly ts: number;
}

/** A page of invites, newest first; `next` is the `before` of the next page. */
export interface InvitePage {
  readonly invites: Invite[];
  readonly next: string | null;
}

/**
 * Who may register (store.registration): the mode an admin set at runtime and the invite
 * links, kept by the same backend as the accounts. Each change writes its audit row in its
 * own transaction (audit-store.ts).
 *
 * Contract (registration-store.contract.ts, on every backend):
 *
 * - `mode()` is undefined until `setMode` stored one; then the last stored one.
 * - An invite's use is counted by AccountStore.createUser in the transaction that creates the
 *   account, only while it is active (not revoked, not expired, uses below maxUses): so
 *   concurrent registrations, from any process, never use it more than maxUses times.
 * - `createInvite` refuses (INVITES_FULL) when MAX_ACTIVE_INVITES are active at `created`.
 * - `revokeInvite` marks an invite revoked (it stays listed); false when there is no invite of
 *   that id, or it was revoked already (then no audit row is written).
 */
export interface RegistrationStore {
  /**
   * Throws as createUser would for `gate` at `now` (AUTH_REGISTRATION_CLOSED,
   * AUTH_INVITE_REQUIRED, AUTH_INVITE_INVALID), without writing: a refusal before the password
   * is hashed. createUser decides again in its own transaction.
   */
  admits(gate: RegistrationGate, now: number): Promise<void>;
  /** The mode an admin stored, if any. */
  mode(): Promise<RegistrationMode | undefined>;
  /** Stores the mode, with its audit row, in one transaction. */
  setMode(mode: RegistrationMode, audit: NewAuditEntry): Promise<void>;
  /** Stores an invite, with its audit row, in one transaction. */
  createInvite(invite: NewInvite, audit: NewAuditEntry): Promise<void>;
  /**
   * Invites newest first (in the order they were made), those made before the invite of id
   * `before` if given (none when there is no such invite).
   */
  invites(before: string | undefined, limit: number): Promise<InvitePage>;
  /** The invite of this id, if any. */
  invite(id: string): Promise<Invite | undefined>;
  /**
   * Who registered with the invite of this id, oldest first (at most its maxUses, so at most
   * MAX_INVITE_USES); recorded by createUser in the account's transaction, kept when an
   * account is deleted.
   */
  inviteUses(id: string): Promise<InviteUse[]>;
  /** Revokes the invite of this id, with its audit row, in one transaction; see above. */
  revokeInvite(id: string, audit: NewAuditEntry): Promise<boolean>;
}
