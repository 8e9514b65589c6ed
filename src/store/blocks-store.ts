import type { Block } from '../domain/blocks.js';

/**
 * The blocks table (issue 23, domain/blocks.ts), kept in the Store's backend.
 *
 * Contract (blocks.contract.ts, on both engines):
 * - `block` resolves its target as an account in any ASCII letter case and stores the
 *   account's own nick; it returns undefined, storing nothing, when there is no such account.
 *   Blocking a user already blocked changes nothing and returns the first block. A user
 *   holding MAX_BLOCKS_PER_USER blocks cannot add one (BLOCKS_FULL), decided in the
 *   transaction that adds it, so concurrent blocks cannot pass the bound.
 * - While X blocks Y, the Store writes what Y addresses to X (a direct message, and a receipt,
 *   edit, delete or reaction sent to X) as `withheld`, in its own transaction: `since`,
 *   `history`, `historyAfter`, `search`, `takeOffline` (it never enters the mailbox, though a
 *   full mailbox refuses it as it would any message) and unread counts never give it to X,
 *   even after an unblock; so is an edit, delete or reaction of a withheld message. Y sees all
 *   of it as before. An invitation Y gives X is withheld from X the same way (X's own
 *   membership changes), and `rooms(X)` does not list it. Mentions resolve without X. In
 *   rooms, X's replay and history pages leave out Y's reactions while X blocks Y.
 */
export interface BlockStore {
  /** Blocks `nick` for `blocker` (see the contract); undefined when no such account. */
  block(blocker: string, nick: string, now: number): Promise<Block | undefined>;
  /** Lifts a block; false when there was none. `nick` is compared in any ASCII case. */
  unblock(blocker: string, nick: string): Promise<boolean>;
  /** The users `blocker` blocks, oldest block first (at most MAX_BLOCKS_PER_USER). */
  list(blocker: string): Promise<Block[]>;
  /** Whether `blocker` blocks `nick` (exact nicks, as the accounts hold them). */
  blocks(blocker: string, nick: string): Promise<boolean>;
  /** The members of `room` who block `nick`, for live delivery (typing in a room). */
  blockersIn(room: string, nick: string): Promise<string[]>;
}
