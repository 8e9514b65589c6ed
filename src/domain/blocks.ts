// Blocks (issue 23): a user (the blocker) stops another (the blocked) from reaching them. The
// blocked user is never told: their own view is unchanged. What is stored is decided when it
// is written (StoredMessage.withheld, in the append's transaction) and honoured by each
// engine's queries; what is live (typing, a room's reactions) is decided where it is sent.

/**
 * Most users one user may block: bounds the blocks table per user, and the look-ups a
 * block list costs. A block past it is refused with BLOCKS_FULL.
 */
export const MAX_BLOCKS_PER_USER = 1000;

/** One user the viewer blocked, and since when (ms since the epoch). */
export interface Block {
  readonly nick: string;
  readonly since: number;
}
