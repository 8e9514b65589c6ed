import { ChatError } from './errors.js';
import type { EventId } from './events.js';

/**
 * What an audit row records (store/audit-store.ts): a server role change, a room moderation
 * (removal of another user, role change, delete of another's message), a sanction, a report's
 * outcome, an invitation, a registration-mode change, an account made by an admin.
 */
export type AuditAction =
  | 'role'
  | 'room.remove'
  | 'room.role'
  | 'message.delete'
  | 'ban'
  | 'unban'
  | 'mute'
  | 'unmute'
  | 'kick'
  | 'address.ban'
  | 'address.unban'
  | 'report.dismiss'
  | 'report.act'
  | 'invite.create'
  | 'invite.revoke'
  | 'registration'
  | 'user.create';

/** Every AuditAction, for checking a filter (`GET /api/v1/admin/audit?action=`). */
export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'role',
  'room.remove',
  'room.role',
  'message.delete',
  'ban',
  'unban',
  'mute',
  'unmute',
  'kick',
  'address.ban',
  'address.unban',
  'report.dismiss',
  'report.act',
  'invite.create',
  'invite.revoke',
  'registration',
  'user.create',
];

/** The actor of what the operator did with the command line (`ssechat user role`, `ban`). */
export const CLI_ACTOR = '(cli)';

/** Whether `raw` names an AuditAction. */
export function isAuditAction(raw: string): raw is AuditAction {
  return (AUDIT_ACTIONS as readonly string[]).includes(raw);
}

/** An audit row to write: who (`actor`, a nick or CLI_ACTOR) did what to whom, where and why. */
export interface NewAuditEntry {
  /** ms since the epoch. */
  readonly ts: number;
  readonly actor: string;
  readonly action: AuditAction;
  /** The user acted on (a nick), if any. */
  readonly target?: string;
  /** The room acted in (with `#`), if any. */
  readonly room?: string;
  /** The message acted on, if any. */
  readonly message?: EventId;
  /** Why, as the actor gave it (parseReason); '' when none was given. */
  readonly reason: string;
  /** More of what happened (a role, a duration, a report's id), kept as JSON. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** An audit row as stored: its id (increasing in the order rows were written), absent fields null. */
export interface AuditEntry {
  readonly id: number;
  readonly ts: number;
  readonly actor: string;
  readonly action: AuditAction;
  readonly target: string | null;
  readonly room: string | null;
  readonly message: EventId | null;
  readonly reason: string;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

/** Most rows one page of the audit log holds (`GET /api/v1/admin/audit?limit=`, 1..200). */
export const MAX_AUDIT_PAGE = 200;

/**
 * Longest reason of a moderation action, in code points (after NFC and trimming): a sentence
 * or two, shown to the sanctioned user and in the audit log; every audit row carries one.
 */
export const MAX_REASON_CHARS = 500;

// Control characters (a reason is one line), surrogates, private-use and unassigned ones,
// line and paragraph separators, and the bidirectional controls that could reorder the admin
// page's text around the reason. Other format characters (emoji joiners) are fine.
const FORBIDDEN =
  /[\p{Cc}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/**
 * A reason as given in a request body, checked and normalized: NFC, trimmed, at most
 * MAX_REASON_CHARS code points, none FORBIDDEN. Absent (undefined or null) or blank reads as
 * '' unless `required`; anything else that is not such a string is MOD_REASON_INVALID.
 */
export function parseReason(raw: unknown, required: boolean): string {
  if (raw === undefined || raw === null) {
    if (required) throw new ChatError('MOD_REASON_INVALID', 'a reason is required');
    return '';
  }
  if (typeof raw !== 'string') throw new ChatError('MOD_REASON_INVALID', 'reason must be a string');
  const reason = raw.normalize('NFC').trim();
  if (reason === '' && required) throw new ChatError('MOD_REASON_INVALID', 'a reason is required');
  if ([...reason].length > MAX_REASON_CHARS) {
    throw new ChatError('MOD_REASON_INVALID', `at most ${MAX_REASON_CHARS} characters`);
  }
  if (FORBIDDEN.test(reason)) {
    throw new ChatError('MOD_REASON_INVALID', 'reason contains control or invisible characters');
  }
  return reason;
}
