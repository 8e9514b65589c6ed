import { ChatError } from './errors.js';

/**
 * Who may register an account (accounts mode): anyone (`open`), only with an invite link an
 * admin made (`invite`), or nobody but admins and the command line (`closed`).
 */
export type RegistrationMode = 'open' | 'invite' | 'closed';

export const REGISTRATION_MODES: readonly RegistrationMode[] = ['open', 'invite', 'closed'];

/** Uses one invite may allow, and its default (a link for one person). */
export const MAX_INVITE_USES = 1000;
export const DEFAULT_INVITE_USES = 1;
/** How long an invite may work, in hours (a year at most), and its default (a week). */
export const MAX_INVITE_HOURS = 8760;
export const DEFAULT_INVITE_HOURS = 168;
/**
 * Invites that may be active (neither expired, used up nor revoked) at once: an admin's
 * account in the wrong hands cannot fill the database with them (INVITES_FULL, 409).
 */
export const MAX_ACTIVE_INVITES = 1000;
/** Longest invite code the server looks at (a real one has 43 characters). */
export const MAX_INVITE_CODE_LENGTH = 128;

/** What an invite is now. */
export type InviteStatus = 'active' | 'expired' | 'used' | 'revoked';

/**
 * An invite link as stored: its code is never kept, only its hash (auth/secrets.ts hashSecret),
 * so the link is shown once, when it is made.
 */
export interface Invite {
  /** Short public id: lists and revocation use it; it is not the code. */
  readonly id: string;
  readonly createdBy: string;
  /** ms since the epoch */
  readonly created: number;
  /** ms since the epoch: the last moment the invite works. */
  readonly expires: number;
  readonly maxUses: number;
  readonly uses: number;
  readonly revoked: boolean;
}

/** An invite's status at `now`: revoked first, then used up, then expired. */
export function inviteStatus(invite: Invite, now: number): InviteStatus {
  if (invite.revoked) return 'revoked';
  if (invite.uses >= invite.maxUses) return 'used';
  if (invite.expires < now) return 'expired';
  return 'active';
}

/** Why an invite cannot be used, for AUTH_INVITE_INVALID's message (about this invite only). */
export function inviteRefusal(status: InviteStatus | undefined): ChatError {
  switch (status) {
    case 'revoked':
      return new ChatError('AUTH_INVITE_INVALID', 'it was revoked');
    case 'used':
      return new ChatError('AUTH_INVITE_INVALID', 'it has been used as often as it allows');
    case 'expired':
      return new ChatError('AUTH_INVITE_INVALID', 'it has expired');
    default:
      return new ChatError('AUTH_INVITE_INVALID', 'no such invite');
  }
}

/** A registration mode from a request body, or REGISTRATION_MODE_INVALID. */
export function parseRegistrationMode(raw: unknown): RegistrationMode {
  if (typeof raw !== 'string' || !(REGISTRATION_MODES as readonly string[]).includes(raw)) {
    throw new ChatError('REGISTRATION_MODE_INVALID');
  }
  return raw as RegistrationMode;
}

/** A whole number from a body field in [min, max], `def` when absent; else INVITE_INVALID. */
export function inviteNumber(raw: unknown, def: number, max: number): number {
  if (raw === undefined || raw === null) return def;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 1 || raw > max) {
    throw new ChatError('INVITE_INVALID');
  }
  return raw;
}

/**
 * What a registration is checked against, in the transaction that creates the account
 * (AccountStore.createUser): the mode is read there, so that an admin's change and the
 * invite's uses are exact across processes.
 */
export interface RegistrationGate {
  /** The mode when none is stored (the --registration flag). */
  readonly fallback: RegistrationMode;
  /** The hash of the invite code given, if any. */
  readonly inviteHash?: string;
}
