import type { EventId, LoggedEvent } from '../domain/events.js';
import type { NotifyLevel } from '../domain/notify.js';

export type { NotifyLevel };

/**
 * A conversation as notification state names it: a peer's nick (a DM), a room (`#name`) or
 * `all` (the broadcasts), the same `with` the history API takes.
 */
export type Conversation = string;

/** Unread state of one conversation for one user. */
export interface UnreadCount {
  /** The conversation (see Conversation). */
  readonly with: Conversation;
  /** The user's read marker there: every message up to this id counts as read. */
  readonly marker: EventId;
  /**
   * Messages above the marker the user sees there and did not send, not deleted; at most
   * MAX_UNREAD_COUNT (a client shows "999+").
   */
  readonly unread: number;
  /** Of those, the ones that mention the user (a message, or an edit that added them). */
  readonly mentions: number;
}

/** The most an unread count counts: beyond it, reading the log costs more than it tells. */
export const MAX_UNREAD_COUNT = 1000;

/**
 * How far back unread counts look, in log rows: the newest UNREAD_SCAN rows addressed to the
 * user (their DMs from everyone, with receipts and edits) above their baseline, the newest
 * UNREAD_SCAN of each room's and `all`'s rows above the marker, and the newest UNREAD_SCAN of
 * the user's mentions. A call so reads at most a few windows of rows, whatever the log holds
 * and however many peers wrote (a peer whose unread DMs all lie below the window is not
 * listed): 10,000 rows are milliseconds, and more unread than that is "999+" anyway.
 */
export const UNREAD_SCAN = 10_000;

/** A user to consider for a push of one logged event (NotifyStore.pushAudience). */
export interface PushCandidate {
  readonly nick: string;
  /** Their level for the event's conversation, null when they never set one (defaults apply). */
  readonly level: NotifyLevel | null;
  /** Whether the event mentions them (a message's mentions; an edit's newly added ones). */
  readonly mentioned: boolean;
}

/**
 * Read markers, notification levels, attention and the push cursor, kept by the same backend
 * as the log (Store.notify).
 *
 * Contract (checked for every backend by notify.contract.ts):
 *
 * - `setMarker` only moves a marker forward: a lower `upTo` leaves it where it is. It returns
 *   the marker after the call. A user with no marker in a conversation has their baseline
 *   there: the log's head when they first asked for `unread` or set any marker (so a long
 *   history is not all unread the first time), and never below their registration point.
 * - `unread` lists, for each conversation the user sees with a message above its marker, the
 *   counts (UnreadCount). It decides who sees what in its query, with the rule of `history`:
 *   a DM to the user's nick from before their registration is not theirs, a room's messages
 *   count only within the user's spans and for rooms they are a member of now, the user's
 *   own messages never count, deleted ones neither. Counts look only within the windows of
 *   UNREAD_SCAN rows (DMs: one window for all peers), so a call's cost is bounded.
 * - `unreadTotal` is the sum of `unread`'s counts, at most MAX_UNREAD_COUNT (the app badge),
 *   from the same windows: it reads no more than `unread`, and less once it has that many
 *   (no mentions; no room once the DMs reach it). It never writes: a user with no baseline yet has 0 (their
 *   baseline would be the head). Unlike `unread`, it does not wait for appends still queued in
 *   this process (the push path calls it, and must not commit the write queue early).
 * - `levels` returns only levels the user set; `setLevel(…, null)` removes one.
 * - `setAttention(nick, client, until)` records that `client` (a browser of `nick`) is looking
 *   until `until` (ms since the epoch); `attentive(nicks, now)` returns those of `nicks` with
 *   any client looking at `now`.
 * - `claimPushWork(limit)` hands out the logged messages and edits above the cluster's push
 *   cursor, oldest first, at most `limit`, and moves the cursor past them in the same
 *   transaction: two processes never get the same event. The first call on a new store sets
 *   the cursor at the head and hands out nothing (no pushes for history).
 * - `skipPushWork()` moves the push cursor to the head (setting it on a new store) and hands
 *   out nothing: what a process does when nobody has a push subscription, without reading
 *   the events it passes.
 * - `pushAudience(id)` returns, for the message or edit `id`, every user who sees it (the rule
 *   of `since`: a DM's two parties, the room's members whose span covers it, everyone for
 *   `all`) and has at least one push subscription, except its sender.
 */
export interface NotifyStore {
  /** Moves `nick`'s marker in `conversation` forward to `upTo`; returns the marker now. */
  setMarker(nick: string, conversation: Conversation, upTo: EventId): Promise<EventId>;
  /** `nick`'s unread counts, by conversation (see the contract). */
  unread(nick: string): Promise<UnreadCount[]>;
  /** The sum of `nick`'s unread counts, at most MAX_UNREAD_COUNT (see the contract). */
  unreadTotal(nick: string): Promise<number>;
  /** The levels `nick` set, by conversation. */
  levels(nick: string): Promise<Map<Conversation, NotifyLevel>>;
  /** Sets (or with null removes) `nick`'s level in `conversation`. */
  setLevel(nick: string, conversation: Conversation, level: NotifyLevel | null): Promise<void>;
  /** Records that `client` of `nick` is looking until `until` (ms since the epoch). */
  setAttention(nick: string, client: string, until: number): Promise<void>;
  /** Those of `nicks` with a client looking at `now`. */
  attentive(nicks: readonly string[], now: number): Promise<Set<string>>;
  /**
   * Deletes attention reports that ran out at or before `now` (the maintenance job): each
   * nick keeps a few, but open mode makes nicks free, and their rows would pile up.
   */
  pruneAttention(now: number): Promise<number>;
  /** Logged messages and edits above the push cursor, which moves past them (see above). */
  claimPushWork(limit: number): Promise<LoggedEvent[]>;
  /** Moves the push cursor to the head without handing anything out (see above). */
  skipPushWork(): Promise<void>;
  /** Who to consider pushing logged message or edit `id` to (see the contract). */
  pushAudience(id: EventId): Promise<PushCandidate[]>;
}
