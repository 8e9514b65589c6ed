import type { NewAuditEntry } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import type { SharedEvent, StoredMemberChange } from '../domain/events.js';
import {
  type AddressBan,
  inForce,
  MAX_ADDRESS_BANS,
  parseMinutes,
  type Sanction,
  type SanctionKind,
  type SanctionView,
  sanctionView,
} from '../domain/sanctions.js';
import type { Logger } from '../logger.js';
import type { AddressBanTarget } from '../store/sanctions-store.js';
import type { Store } from '../store/store.js';
import type { ChatRooms } from './chat-rooms.js';

/**
 * How long a process trusts what it read of a user's mute, in ms, and for how many users at
 * most. A mute or unmute anywhere in the cluster clears the entry at once (the Bus's
 * `sanction` event); the time bounds how late a process that missed that event (cut off from
 * the Bus) learns of it. A send costs a Store read at most once per user per this long.
 */
export const MUTE_CACHE_MS = 5_000;
export const MUTE_CACHE_SIZE = 10_000;

/** A user's sanctions in force, as the API shows them. */
export interface SanctionStatus {
  readonly ban?: SanctionView;
  readonly mute?: SanctionView;
}

/** What Sanctions needs from the chat service. */
export interface SanctionsDeps {
  readonly store: Store;
  /** Room changes by the room rules (kick). */
  readonly rooms: Pick<ChatRooms, 'remove'>;
  readonly now: () => number;
  readonly logger: Logger;
  /** Publishes an ephemeral event on the Bus (best effort). */
  readonly publish: (event: SharedEvent) => Promise<void>;
  /** Ends the user's sessions and streams on every process (ChatService.endUser). */
  readonly endUser: (nick: string) => Promise<void>;
  /** Deletes every message the user sent, through the log, in the background. */
  readonly purge: (nick: string) => void;
}

/** Options of a ban; `minutes` absent: until lifted. */
export interface BanOptions {
  readonly reason: string;
  readonly deleteMessages?: boolean;
  readonly minutes?: number;
}

/**
 * Server admins' sanctions on accounts (issue 23): a ban ends every credential and stream of
 * the user and refuses their logins (AUTH_BANNED); a mute refuses their sends, edits and
 * reactions (CHAT_MUTED). Both are rows of the Store, written with their audit row in one
 * transaction, so they hold across processes and restarts. Who may act is the edge's call
 * (ApiAdmin.requireAdmin, the command line); the rules about whom are here.
 *
 * `by` is the acting admin's nick, or `(cli)`. Reasons arrive checked (parseReason).
 */
export class Sanctions {
  /** nick → its mute (null: none) and when that was read; see MUTE_CACHE_MS. */
  private readonly mutes = new Map<string, { mute: Sanction | null; at: number }>();

  constructor(private readonly deps: SanctionsDeps) {}

  /** Bans `nickRaw` (an account); returns their sanctions in force. */
  async ban(by: string, nickRaw: string, options: BanOptions): Promise<SanctionStatus> {
    const { store, now, logger } = this.deps;
    const nick = await this.target(by, nickRaw);
    const minutes = parseMinutes(options.minutes, true);
    const deleteMessages = options.deleteMessages === true;
    const at = now();
    const until = minutes === undefined ? 0 : at + minutes * 60_000;
    const sanction: Sanction = { nick, kind: 'ban', since: at, until, reason: options.reason, by };
    const audit = this.audit(by, 'ban', nick, options.reason, at, { until, deleteMessages });
    if (!(await store.sanctions.impose(sanction, audit))) throw new ChatError('USER_NOT_FOUND');
    await this.deps.endUser(nick).catch((err: unknown) => {
      // This process ended them; the credentials are gone from the Store, so the others stop
      // trusting theirs within CREDENTIAL_CACHE_MS (http/auth.ts).
      logger.warn('could not tell the cluster that a user was banned', { err });
    });
    if (deleteMessages) this.deps.purge(nick);
    return this.status(nick);
  }

  /** Lifts the ban of `nickRaw`; MOD_SANCTION_NOT_FOUND when none is in force. */
  async unban(by: string, nickRaw: string, options: { reason: string }): Promise<void> {
    await this.lift(by, nickRaw, 'ban', options.reason);
  }

  /** Mutes `nickRaw` for `minutes` (1..MAX_SANCTION_MINUTES); returns their sanctions. */
  async mute(
    by: string,
    nickRaw: string,
    options: { reason: string; minutes: number },
  ): Promise<SanctionStatus> {
    const { store, now } = this.deps;
    const nick = await this.target(by, nickRaw);
    const minutes = parseMinutes(options.minutes, false) ?? 1;
    const at = now();
    const until = at + minutes * 60_000;
    const sanction: Sanction = { nick, kind: 'mute', since: at, until, reason: options.reason, by };
    const audit = this.audit(by, 'mute', nick, options.reason, at, { until });
    if (!(await store.sanctions.impose(sanction, audit))) throw new ChatError('USER_NOT_FOUND');
    this.forget(nick);
    await this.tell({ kind: 'sanction', nick, action: 'mute', until, reason: options.reason });
    return this.status(nick);
  }

  /** Lifts the mute of `nickRaw`; MOD_SANCTION_NOT_FOUND when none is in force. */
  async unmute(by: string, nickRaw: string, options: { reason: string }): Promise<void> {
    const nick = await this.lift(by, nickRaw, 'mute', options.reason);
    this.forget(nick);
    await this.tell({ kind: 'sanction', nick, action: 'unmute', until: null, reason: '' });
  }

  /** The sanctions of exactly `nick` in force now. */
  async status(nick: string): Promise<SanctionStatus> {
    const rows = await this.deps.store.sanctions.status(nick, this.deps.now());
    const status: { ban?: SanctionView; mute?: SanctionView } = {};
    for (const row of rows) status[row.kind] = sanctionView(row);
    return status;
  }

  /** Throws AUTH_BANNED, with `until` and `reason`, when `nick` is banned now. */
  async requireNotBanned(nick: string): Promise<void> {
    const ban = (await this.status(nick)).ban;
    if (ban) {
      throw new ChatError('AUTH_BANNED', undefined, undefined, {
        until: ban.until,
        reason: ban.reason,
      });
    }
  }

  /**
   * The mute of `nick` in force now, if any, from this process's cache (MUTE_CACHE_MS). The
   * send path's check: one Map lookup while the entry is fresh.
   */
  async muted(nick: string): Promise<SanctionView | undefined> {
    const now = this.deps.now();
    let hit = this.mutes.get(nick);
    if (!hit || now - hit.at >= MUTE_CACHE_MS) {
      const rows = await this.deps.store.sanctions.status(nick, now);
      hit = { mute: rows.find((r) => r.kind === 'mute') ?? null, at: now };
      this.mutes.delete(nick);
      if (this.mutes.size >= MUTE_CACHE_SIZE) {
        this.mutes.delete(this.mutes.keys().next().value as string);
      }
      this.mutes.set(nick, hit);
    }
    return hit.mute && inForce(hit.mute, now) ? sanctionView(hit.mute) : undefined;
  }

  /** Throws CHAT_MUTED, with `until` and `reason`, when `nick` is muted now. */
  async requireUnmuted(nick: string): Promise<void> {
    const mute = await this.muted(nick);
    if (mute) {
      throw new ChatError('CHAT_MUTED', undefined, undefined, {
        until: mute.until,
        reason: mute.reason,
      });
    }
  }

  /**
   * Removes `nickRaw` from `room` by the room's rules (owners and moderators, server admins as
   * owners: ChatRooms.remove), audited as a 'kick' with `reason` in the removal's transaction.
   * The user's streams get the removal's `member` event; a kick of oneself is a leave (not
   * audited), one of a non-member CHAT_NOT_MEMBER.
   */
  async kick(
    by: string,
    room: string,
    nickRaw: string,
    options: { reason: string },
  ): Promise<StoredMemberChange | undefined> {
    return this.deps.rooms.remove(by, room, nickRaw, options.reason, 'kick');
  }

  /** The address bans in force, oldest first (at most MAX_ADDRESS_BANS). */
  addressBans(): Promise<AddressBan[]> {
    return this.deps.store.sanctions.addressBans(this.deps.now());
  }

  /**
   * Bans the network `prefix` (addressPrefix's form) for `minutes`, or until lifted; every
   * process refuses it within ADDRESS_BANS_RELOAD_MS. MOD_ADDRESS_BANS_FULL at
   * MAX_ADDRESS_BANS.
   */
  async banAddress(
    by: string,
    prefix: string,
    options: { reason: string; minutes?: number | undefined },
  ): Promise<AddressBan> {
    const at = this.deps.now();
    const minutes = parseMinutes(options.minutes, true);
    const until = minutes === undefined ? 0 : at + minutes * 60_000;
    const ban = await this.deps.store.sanctions.imposeAddress(
      { prefix, since: at, until, reason: options.reason, by },
      { ts: at, actor: by, action: 'address.ban', reason: options.reason },
    );
    if (ban === null) throw new ChatError('MOD_ADDRESS_BANS_FULL', `at most ${MAX_ADDRESS_BANS}`);
    return ban;
  }

  /** Lifts the address bans `target` names; returns them (empty when none was in force). */
  unbanAddress(
    by: string,
    target: AddressBanTarget,
    options: { reason: string },
  ): Promise<AddressBan[]> {
    const at = this.deps.now();
    return this.deps.store.sanctions.liftAddress(target, at, {
      ts: at,
      actor: by,
      action: 'address.unban',
      reason: options.reason,
    });
  }

  /** The nick of exactly one account, as registered, for `nickRaw` in any letter case. */
  canonical(nickRaw: string): Promise<string | undefined> {
    return this.deps.store.accounts.canonicalNick(nickRaw);
  }

  /** Forgets what this process read of `nick`'s mute (a `sanction` event from the Bus). */
  forget(nick: string): void {
    this.mutes.delete(nick);
  }

  /**
   * The account a sanction is for, as registered: USER_NOT_FOUND for none, MOD_TARGET_ADMIN
   * for the actor themselves or a server admin.
   */
  private async target(by: string, nickRaw: string): Promise<string> {
    const { accounts } = this.deps.store;
    const nick = await accounts.canonicalNick(nickRaw);
    if (nick === undefined) throw new ChatError('USER_NOT_FOUND');
    if (nick === by || (await accounts.isAdmin(nick))) throw new ChatError('MOD_TARGET_ADMIN');
    return nick;
  }

  private async lift(
    by: string,
    nickRaw: string,
    kind: SanctionKind,
    reason: string,
  ): Promise<string> {
    const { store, now } = this.deps;
    const nick = (await store.accounts.canonicalNick(nickRaw)) ?? nickRaw;
    const at = now();
    const action = kind === 'ban' ? 'unban' : 'unmute';
    const audit = this.audit(by, action, nick, reason, at);
    if (!(await store.sanctions.lift(nick, kind, at, audit))) {
      throw new ChatError('MOD_SANCTION_NOT_FOUND');
    }
    return nick;
  }

  private audit(
    actor: string,
    action: 'ban' | 'unban' | 'mute' | 'unmute',
    target: string,
    reason: string,
    ts: number,
    detail?: Record<string, unknown>,
  ): NewAuditEntry {
    return { ts, actor, action, target, reason, ...(detail && { detail }) };
  }

  private async tell(event: SharedEvent): Promise<void> {
    await this.deps.publish(event).catch((err: unknown) => {
      this.deps.logger.warn('could not tell the cluster of a mute', { err });
    });
  }
}
