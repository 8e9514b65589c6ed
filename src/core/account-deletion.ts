import { ChatError } from '../domain/errors.js';
import type { SharedEvent } from '../domain/events.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import type { ChatRooms } from './chat-rooms.js';

/**
 * Messages one page of a deletion's purge deletes (`--account-delete-messages delete`): each
 * is one logged delete, so a page is a bounded burst of appends, and the purge yields to
 * other work between pages.
 */
export const PURGE_PAGE = 100;

/**
 * The reservation of a nick whose account's messages were kept (`until`, ms): for good. Those
 * messages stand under the nick, so a later account of it would appear to have written them,
 * and would read the direct messages it sent (a registration point bounds only what was sent
 * TO a nick: store.ts), which the open-to-accounts switch relies on.
 */
export const RESERVED_FOR_GOOD = Number.MAX_SAFE_INTEGER;

/** What deleting an account does, as configured (config-options.ts). */
export interface DeletionPolicy {
  /**
   * How long the nick and its look-alikes stay reserved, in ms, when the messages are deleted;
   * 0 for not at all. With the messages kept they stay reserved for good (RESERVED_FOR_GOOD).
   */
  readonly reserveMs: number;
  /** Whether the account's messages are deleted (through the log) or kept. */
  readonly deleteMessages: boolean;
}

/** What AccountDeletion needs from the chat service. */
export interface AccountDeletionDeps {
  readonly store: Store;
  readonly rooms: ChatRooms;
  readonly policy: DeletionPolicy;
  readonly now: () => number;
  readonly logger: Logger;
  /** Publishes a logged event (ChatService.publish: a Bus failure is caught up from the Store). */
  readonly publish: (event: SharedEvent) => Promise<void>;
  /** Ends the user's sessions and streams on every process (ChatService.endUser). */
  readonly endUser: (nick: string) => Promise<void>;
}

/**
 * Deleting an account (issue 22): the Store removes the account with its credentials, push
 * subscriptions and notification state in one transaction and reserves the nick
 * (accounts.ts); every process then ends the user's streams and forgets their credentials
 * (the Bus's `ended`). The rest goes through the log, like any change a user makes, so that
 * replay, the cluster and retention stay right: they leave their rooms (an owner first hands
 * the room to its longest-standing member, as stray-members.ts does), decline their
 * invitations, and, when so configured, their messages are deleted in the background.
 *
 * A crash between the transaction and the end of the room changes leaves memberships no
 * account owns: the next start ends them (endStrayMemberships). A purge cut short by a
 * shutdown is not resumed; the messages left are shown under the departed nick, as in `keep`.
 */
export class AccountDeletion {
  private closed = false;
  /** Purges running in the background, for tests and shutdown to wait on. */
  private readonly purges = new Set<Promise<void>>();

  constructor(private readonly deps: AccountDeletionDeps) {}

  /**
   * Deletes the account of exactly `nick`; false when it has none. Resolves once the account
   * is gone, its streams ended and its room memberships ended; a purge of its messages goes
   * on in the background.
   */
  async delete(nick: string): Promise<boolean> {
    const { store, policy, now, logger } = this.deps;
    const at = now();
    const until = !policy.deleteMessages
      ? RESERVED_FOR_GOOD
      : policy.reserveMs > 0
        ? at + policy.reserveMs
        : 0;
    if (!(await store.accounts.deleteUser(nick, until, at))) return false;
    // Its own transaction: the avatar's blob goes to the collector's list with the row.
    await store.profiles.remove(nick, at);
    await this.deps.endUser(nick).catch((err: unknown) => {
      // This process ended them; the others drop their cached credentials within
      // CREDENTIAL_CACHE_MS (http/auth.ts), and the credentials are gone from the Store.
      logger.warn('could not tell the cluster that a user ended', { err });
    });
    await this.leaveRooms(nick);
    if (policy.deleteMessages) this.startPurge(nick);
    return true;
  }

  /** Waits for the background purges (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.purges.size > 0) await Promise.all([...this.purges]);
  }

  /** Stops the purges between pages (shutdown). */
  close(): void {
    this.closed = true;
  }

  /**
   * Leaves every room, through the room rules: a last owner of a room with other members
   * first makes its longest-standing member an owner (a room with members keeps an owner).
   * A change the rules refuse, or another process made first, is skipped.
   */
  private async leaveRooms(nick: string): Promise<void> {
    const { store, rooms } = this.deps;
    for (const room of await store.rooms(nick)) {
      try {
        if (room.role === 'owner') {
          const members = await store.members(room.name);
          const others = members.filter((m) => m.user !== nick);
          const [heir] = others;
          if (heir && !others.some((m) => m.role === 'owner')) {
            await rooms.setRole(nick, room.name, heir.user, 'owner', 'their account was deleted');
          }
        }
        if (room.role !== null) await rooms.leave(nick, room.name);
        else if (room.invited) await rooms.decline(nick, room.name);
      } catch (err) {
        if (!(err instanceof ChatError)) throw err;
      }
    }
  }

  private startPurge(nick: string): void {
    const run = this.purge(nick)
      .catch((err: unknown) => {
        this.deps.logger.warn('deleting a deleted account’s messages stopped', { err });
      })
      .finally(() => this.purges.delete(run));
    this.purges.add(run);
  }

  /**
   * Deletes every message `nick` sent, PURGE_PAGE at a time, each a logged delete by its
   * sender. A message already deleted, or in an earlier life of a room (the Store refuses it),
   * is skipped.
   */
  private async purge(nick: string): Promise<void> {
    const { store, now, publish } = this.deps;
    let after = 0;
    while (!this.closed) {
      const ids = await store.accounts.sentMessages(nick, after, PURGE_PAGE);
      if (ids.length === 0) return;
      for (const id of ids) {
        after = id;
        const message = await store.message(id);
        if (!message || message.deleted) continue;
        try {
          const del = await store.appendDelete({
            target: id,
            from: nick,
            to: message.to,
            ts: now(),
          });
          await publish({ kind: 'delete', delete: del });
        } catch (err) {
          if (!(err instanceof ChatError)) throw err;
        }
      }
      // Let requests in between pages.
      await new Promise((ok) => setImmediate(ok));
    }
  }
}
