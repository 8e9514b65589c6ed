import type { NewAuditEntry } from '../domain/audit.js';
import type { AddressBan, Sanction, SanctionKind } from '../domain/sanctions.js';

/** A new address ban: the Store gives it its id. */
export type NewAddressBan = Omit<AddressBan, 'id'>;

/** Which address bans `liftAddress` lifts: one by id, or every one of a network. */
export type AddressBanTarget = { readonly id: number } | { readonly prefix: string };

/**
 * Bans, mutes and address bans (Store.sanctions; core/sanctions.ts), in the same backend as
 * the accounts. Every change writes its audit row in the same transaction (domain/audit.ts).
 *
 * Contract (sanctions.contract.ts):
 * - `impose` writes the (nick, kind) row, replacing any earlier one of that kind, with the
 *   audit row; a ban also deletes every credential (sessions, tokens, tickets) and push
 *   subscription of the nick, in the same transaction. False, and nothing written, when the
 *   nick has no account (exactly that nick, as registered).
 * - `lift` deletes the (nick, kind) row when it is in force at `now`, with the audit row;
 *   false, and nothing written, when none is in force. An expired row is deleted silently.
 * - `status` returns the rows of `nick` in force at `now` (at most one of each kind).
 * - `imposeAddress` adds an address ban with its audit row and returns it; null when
 *   MAX_ADDRESS_BANS are in force already (nothing written).
 * - `liftAddress` deletes the bans `target` names that are in force, with one audit row each,
 *   and returns them (empty when none).
 * - `addressBans` returns the address bans in force at `now`, oldest first.
 */
export interface SanctionStore {
  impose(sanction: Sanction, audit: NewAuditEntry): Promise<boolean>;
  lift(nick: string, kind: SanctionKind, now: number, audit: NewAuditEntry): Promise<boolean>;
  status(nick: string, now: number): Promise<Sanction[]>;
  imposeAddress(ban: NewAddressBan, audit: NewAuditEntry): Promise<AddressBan | null>;
  liftAddress(target: AddressBanTarget, now: number, audit: NewAuditEntry): Promise<AddressBan[]>;
  addressBans(now: number): Promise<AddressBan[]>;
}

/** What an address ban's audit row details: which ban, and its network. */
export function addressDetail(ban: AddressBan): { id: number; prefix: string; until: number } {
  return { id: ban.id, prefix: ban.prefix, until: ban.until };
}
