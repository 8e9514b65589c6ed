import type {
  EventId,
  LoggedEvent,
  NewDelete,
  NewEdit,
  NewMemberChange,
  NewMessage,
  NewReaction,
  NewReceipt,
  Role,
  RoomSettings,
  StoredDelete,
  StoredEdit,
  StoredMemberChange,
  StoredMessage,
  StoredReaction,
  StoredReceipt,
} from '../domain/events.js';
import type { SearchRequest } from '../domain/search.js';
import type { AccountStore } from './accounts.js';
import type { AuditStore } from './audit-store.js';
import type { BlockStore } from './blocks-store.js';
import type { NotifyStore } from './notify-store.js';
import type { ProfileStore } from './profiles-store.js';
import type { PushStore } from './push-store.js';
import type { RegistrationStore } from './registration-store.js';
import type { ReportStore } from './reports-store.js';
import type { RosterStore } from './roster-store.js';
import type { SanctionStore } from './sanctions-store.js';
import type { UploadStore } from './uploads-store.js';

/** What `append` did: stored the message, or found an earlier one with the same clientId. */
export interface Appended {
  /** `withheld` set when its recipient blocks its sender (blocks-store.ts). */
  readonly message: StoredMessage;
  /** False when (from, clientId) was already stored: `message` is that first one. */
  readonly created: boolean;
}

/** What retention removes; a zero turns that bound off. */
export interface RetentionPolicy {
  /** Remove entries whose ts is older than this (ms since the epoch); 0 keeps any age. */
  readonly olderThan: number;
  /** Keep at most this many newest entries; 0 keeps any number. */
  readonly keep: number;
}

/** A room as the Store describes it. */
export interface RoomInfo extends RoomSettings {
  /** With its `#`. */
  readonly name: string;
  readonly createdBy: string;
  /** When it was created, ms since the epoch. */
  readonly created: number;
  /** How many members it has now. */
  readonly members: number;
}

/** A room as one user sees it in their list. */
export interface RoomListing extends RoomInfo {
  /** The user's role in it; null when not a member. */
  readonly role: Role | null;
  /** Whether the user holds an invitation to it. */
  readonly invited: boolean;
}

/** One member of a room. */
export interface Member {
  readonly user: string;
  readonly role: Role;
}

/** Every room's members as of `head`, for a process's room directory (core/rooms.ts). */
export interface MembershipSnapshot {
  /** Every membership change up to this id is reflected, none above it. */
  readonly head: EventId;
  readonly members: ReadonlyArray<{
    readonly room: string;
    readonly user: string;
    readonly role: Role;
    /** The id of the change that made them a member this time (their open span's start). */
    readonly since: EventId;
  }>;
}

/** One page of search results: the matching messages the viewer sees, newest first. */
export interface SearchPage {
  readonly messages: StoredMessage[];
  /** Where the next page starts (its `before`); null when nothing older matches. */
  readonly next: EventId | null;
}

/** Most rooms `Store.rooms` lists. */
export const MAX_ROOM_LISTING = 1000;

/**
 * The Store is ssechat's durable truth, in roles: the EventLog, the Mailbox, the RoomStore and
 * the accounts (AccountStore), sharing one backend and one id sequence. Every accepted message is appended here before it is
 * published on the Bus, so a message the server acknowledged (a 2xx) survives a crash of the
 * process: that is the whole point of the order "append, then publish".
 *
 * Contract (checked for every backend by store.contract.ts):
 *
 * - `append` and `appendReceipt` assign ids from one sequence. Ids are positive safe integers
 *   and strictly increase in the order the appends were called; an id is never reused, even
 *   after its entry left a mailbox or was pruned.
 * - When `message.offline` is true, `append` also puts the message in the recipient's mailbox,
 *   in the same transaction: either both happen or neither does. A full mailbox (more than
 *   `maxOfflinePerUser` waiting) rejects the append with CHAT_MAILBOX_FULL and stores nothing.
 * - A message with a `clientId` that its sender already used is not stored again: `append`
 *   returns the first one with `created: false`, even for appends racing in one batch.
 * - `takeOffline(nick)` returns the messages waiting for `nick`, oldest first, and removes them
 *   from the mailbox in the same transaction, so each is handed out once. Concurrent calls for
 *   one nick never both receive the same message.
 * - `takeOffline`, `head` and `since` see every append that was called before them, even one
 *   whose promise has not resolved yet. The chat service relies on this (see core/chat.ts): a
 *   message queued for a user who is logging in lands in that login's greeting or replay.
 * - A viewer sees a message sent to `all`, to them or by them, and a receipt sent to them or
 *   by them. `since` and `history` return only what the viewer sees.
 * - A registered viewer does not see, through their nick, what was addressed to it before
 *   they registered (accounts.ts, createUser): a message, edit, delete or receipt sent to
 *   them whose subject (the message itself, the edited or deleted one, the one read) has an
 *   id at or below their registration point, nor a change of their own room membership
 *   logged at or below it. `since`, `history` and `takeOffline` all apply this rule in their
 *   query; what the viewer sent, and what reached them through a room span, is unaffected.
 * - `prune` never removes the newest entry (so the sequence cannot restart) and records the
 *   highest id it removed in `prunedThrough`; it also empties those entries from mailboxes.
 * - Rooms. `appendMember` decides a membership change with decideMembership (room-rules.ts)
 *   against the room's state read in the same transaction that logs it, and writes the
 *   outcome there: the room (for create), the member's role, their invitation (and who gave
 *   it), and their membership spans. It returns the changes it logged, in id order: first the
 *   invitations the change withdrew, then the change itself, last. It returns none, logging
 *   nothing, when the rules say the change changes nothing, and rejects with the rules'
 *   ChatError when they forbid it. Changes of one room are decided one at a time, also across
 *   processes. The rules' state includes the ts of the user's newest `create` changes in the
 *   log (the room creation rate).
 * - Withdrawn invitations. When a member leaves or is removed, the invitations they gave to
 *   the room lapse: each is logged as a `remove` of the invitee `by` that member (role null),
 *   before the change, so the invitee and the room's members see it like any removal of an
 *   invitation. An invitee declines by a `remove` of themselves. An invitation to a user
 *   holding MAX_INVITES_PER_USER withdraws their oldest (the lowest id of its `invite`) the
 *   same way, logged as a `remove` of the invitee by its inviter, in its room.
 * - The lives of a room. When a room's last member leaves, the room is removed in the same
 *   transaction, with every invitation to it (withdrawn as above), and its name is free: a
 *   later `create` starts a new life of the name, which begins at that create's id. Nothing
 *   of an earlier life is seen through a later one: spans lie within one life (they start at
 *   a create or join and end at the leave that closed the room at the latest), `history` of a
 *   room returns only messages of its current life (whatever its history mode), and
 *   `appendEdit` and `appendDelete` reject a target sent to a room in an earlier life of its
 *   name (CHAT_MESSAGE_NOT_FOUND). Spans of a removed room stay, so that a replay still
 *   shows its members what they saw live.
 * - A span is a stretch of ids during which a user was a member of a room: from the id of the
 *   change that made them one (create or join) to the id of the one that ended it (leave or
 *   remove), both included; open while they are a member.
 * - A viewer sees a room's entry (its messages, edits, deletes and membership changes; the
 *   recipient of each is the room) when one of the viewer's spans in that room covers its id
 *   and it is not quiet, and sees every membership change whose `user` they are. An edit of a
 *   room's message is seen only through a span that covers its target too: a member who
 *   joined after a message does not get its new text through an edit, whatever the room's
 *   history mode. (A delete carries no text, and goes to every member: one who read the
 *   message in a history-`all` room must learn that it is gone.)
 * - `history(viewer, '#room', …)` returns the messages of the room's current life that one of
 *   the viewer's spans covers, or all of them when the room's history mode is `all`. (The
 *   chat service checks that the viewer is a member first.)
 * - `appendEdit` logs the edit and sets the target's text and `edited` (to the edit's ts) in
 *   the same transaction; `appendDelete` logs the delete, empties the text of the target and
 *   of every edit of it, and marks the target deleted. Both reject with CHAT_MESSAGE_NOT_FOUND
 *   when the target is not a stored, undeleted message. Edits and deletes are seen by whoever
 *   sees their target (they carry its recipient).
 * - Reactions. `appendReaction` checks, in one transaction, that its target is a stored,
 *   undeleted message of its room's current life (else CHAT_MESSAGE_NOT_FOUND), then adds or
 *   removes the row (target, from, emoji) of the reactions table and logs the reaction, but
 *   only when that changed something: adding a reaction that is there, or removing one that
 *   is not, logs nothing and returns null (idempotent). Adding an emoji the target does not
 *   have yet when it already has MAX_REACTION_EMOJI distinct ones (domain/reactions.ts) is
 *   refused with CHAT_REACTIONS_FULL. Reactions are seen like edits: by whoever sees their
 *   target (they carry its recipient, and for a direct message its other party as seen from
 *   the reactor), in a room through a span that covers the target too, and through the
 *   recipient's nick only when the target is above their registration point. `appendDelete`
 *   removes the target's reactions rows and `prune` those of the messages it removes.
 *   History pages carry each message's summary (StoredMessage.reactions), read with one
 *   query per page; `message` does not (it serves receipts and checks, which need none).
 * - Search. `search` returns the messages of kind message, not deleted, that the viewer sees
 *   by the rule of history and replay, stated in the engine's query: a broadcast; a direct
 *   message they sent (a note to self above their registration point) or one sent to them
 *   above it; a room's message that one of their spans covers, or, in a room whose history
 *   mode is `all`, any message of its current life while they are a member. It matches the
 *   tokens of search-text.ts against each message's current text, kept in an index that
 *   `append`, `appendEdit`, `appendDelete` and `prune` change in their own transaction: an
 *   edited message is found by its new text only, a deleted or pruned one not at all. Every
 *   term must match (a phrase's tokens in order, a prefix's last token as a prefix); `from`
 *   and `with` narrow by sender and conversation (ASCII letters compared without case).
 *   Messages come newest first. What the viewer may not see never fills a page nor ends one:
 *   SQLite reads the index only in the viewer's conversations and spans (audience tokens),
 *   PostgreSQL states the rule in the query that reads the matches. A page may still end
 *   before `limit` with a `next` (a loose prefix in SQLite, a bounded walk in PostgreSQL). A
 *   database written before the index existed is indexed in the background, newest first.
 * - Messages read back (`since`, `history`, `message`, `takeOffline`) carry their current text,
 *   `edited` and `deleted`.
 * - Replies. `append` stores a message's `replyTo` in its row, in its transaction (a clientId
 *   retry returns the first message, its `replyTo` unchanged); the chat service has checked
 *   the target. Messages read back carry `replyTo`. `since`, `history`, `historyAfter`,
 *   `search` and `takeOffline` also set `reply` on each reply, for their viewer, at read
 *   time: the target's current text (cut to REPLY_PREVIEW_CHARS on a grapheme boundary),
 *   sender, ts, `edited` and how many files it carries, when the viewer sees the target by
 *   the rule of history (a broadcast; a direct message they sent, or one sent to them above
 *   their registration point; a message of a room's current life that one of their spans
 *   covers, or any of it while they are a member of a room whose history mode is `all`);
 *   else `{ id, unavailable: true }`, as for a deleted or pruned target. One query per page
 *   states that rule (sqlite/replies.ts, postgres/replies.ts). `message` and `log`, which
 *   have no viewer, set no `reply`.
 * - `ping` resolves once the backend has answered a trivial request, and rejects when it cannot
 *   serve one now: after `close()`, or when its server does not answer. It changes nothing
 *   visible. After a write failed because the backend cannot write (store/write-health.ts:
 *   a full disk, read-only, an I/O error, a lost connection) and until a write succeeds, it
 *   also tries a small write of its own, and rejects while that fails.
 *   It may wait as long as the backend's own connection and query bounds allow; a caller that
 *   needs a tighter bound (readiness, `/readyz`) races it against its own timer.
 * - After `close()` resolves, no call may be made, except `ping` (which rejects).
 */
export interface Store extends EventLog, Mailbox, RoomStore {
  /** Users, sessions, tokens and tickets, kept in the same backend. */
  readonly accounts: AccountStore;
  /** Web Push subscriptions, lock-screen settings and the VAPID keys, kept in the same backend. */
  readonly push: PushStore;
  /** Read markers, notification levels, attention and the push cursor (notify-store.ts). */
  readonly notify: NotifyStore;
  /** Uploaded files' records and the garbage list of their blobs (uploads-store.ts). */
  readonly uploads: UploadStore;
  /** Display names and avatars beside the accounts (profiles-store.ts). */
  readonly profiles: ProfileStore;
  /** Who may register: the runtime mode and the invite links (registration-store.ts). */
  readonly registration: RegistrationStore;
  /** The append-only audit log of admin and moderator actions (audit-store.ts). */
  readonly audit: AuditStore;
  /** Bans, mutes and address bans, audited in their transactions (sanctions-store.ts). */
  readonly sanctions: SanctionStore;
  /** Reports of messages and their outcomes (reports-store.ts). */
  readonly reports: ReportStore;
  /** What server admins see of accounts: role, last seen, sanctions (roster-store.ts). */
  readonly roster: RosterStore;
  /** Who blocks whom (blocks-store.ts); what they write is withheld in the append's transaction. */
  readonly blocks: BlockStore;
  /** Checks that the backend can serve requests now (readiness); see the contract above. */
  ping(): Promise<void>;
  /** Flushes and releases the backend. */
  close(): Promise<void>;
}

/**
 * The Store's log of events (messages, receipts, edits, deletes; membership changes are
 * logged by RoomStore.appendMember into the same sequence): appends, resume, history and
 * retention. A new kind of event is a method here. See the contract on Store.
 */
export interface EventLog {
  /** Makes a message durable and returns it with its id. */
  append(message: NewMessage): Promise<Appended>;
  /** Makes a read receipt durable and returns it with its id. */
  appendReceipt(receipt: NewReceipt): Promise<StoredReceipt>;
  /** Logs an edit and applies it to its target; see the contract on Store. */
  appendEdit(edit: NewEdit): Promise<StoredEdit>;
  /** Logs a delete and removes its target's text; see the contract on Store. */
  appendDelete(del: NewDelete): Promise<StoredDelete>;
  /**
   * Adds or removes a reaction and logs it; null when it changed nothing (see the contract on
   * Store, Reactions).
   */
  appendReaction(reaction: NewReaction): Promise<StoredReaction | null>;
  /** The highest id assigned so far, 0 when nothing was ever appended. */
  head(): Promise<EventId>;
  /** The highest id retention removed, 0 when none: a resume from below it has a gap. */
  prunedThrough(): Promise<EventId>;
  /** The logged events `viewer` sees with an id above `after`, oldest first, at most `limit`. */
  since(viewer: string, after: EventId, limit: number): Promise<LoggedEvent[]>;
  /**
   * Every logged event with an id above `after`, whoever sees it, oldest first, at most
   * `limit`: what a process's Sequencer reads to fill a gap the Bus left.
   */
  log(after: EventId, limit: number): Promise<LoggedEvent[]>;
  /**
   * One page of a conversation, oldest first: the `limit` newest messages with an id below
   * `before` between `viewer` and `peer`, or the broadcasts when `peer` is `all`.
   */
  history(viewer: string, peer: string, before: EventId, limit: number): Promise<StoredMessage[]>;
  /**
   * One page of a conversation going forward, oldest first: the `limit` oldest messages with
   * an id above `after`, by the same rule as `history` (a page after a search result).
   */
  historyAfter(
    viewer: string,
    peer: string,
    after: EventId,
    limit: number,
  ): Promise<StoredMessage[]>;
  /** The message with this id, if it is stored (receipts are not messages). */
  message(id: EventId): Promise<StoredMessage | undefined>;
  /**
   * The messages `viewer` sees that match `request` (see Search below), newest first, and
   * where the next page starts.
   */
  search(viewer: string, request: SearchRequest): Promise<SearchPage>;
  /** Removes entries beyond the policy; returns how many went. */
  prune(policy: RetentionPolicy): Promise<number>;
}

/** The offline mailboxes, which `append` fills (see the contract on Store). */
export interface Mailbox {
  /** Hands out, and removes, the messages kept for `nick` while it was offline. */
  takeOffline(nick: string): Promise<StoredMessage[]>;
}

/** Rooms: their membership changes (logged in the event log's sequence) and what they hold. */
export interface RoomStore {
  /**
   * Decides and logs a membership change, with the invitations it withdraws (logged first);
   * empty when it changes nothing. See the contract on Store.
   */
  appendMember(change: NewMemberChange): Promise<StoredMemberChange[]>;
  /** The room of this name (with `#`), if it exists. */
  room(name: string): Promise<RoomInfo | undefined>;
  /**
   * The rooms `viewer` is a member of or invited to, all of them (invitations: at most
   * MAX_ROOM_LISTING), and the public ones with the most members (ties by name), at most
   * MAX_ROOM_LISTING of those; the whole list by name. Rooms nobody is in are removed, and
   * a one-member room never displaces a room with more members.
   */
  rooms(viewer: string): Promise<RoomListing[]>;
  /** The role of `user` in `room`, null when not a member (or there is no such room). */
  role(room: string, user: string): Promise<Role | null>;
  /** A room's members, in the order they became members. */
  members(room: string): Promise<Member[]>;
  /** Every room's members, read consistently with the head it reports. */
  memberships(): Promise<MembershipSnapshot>;
}

/** Limits every Store backend enforces. */
export interface StoreLimits {
  /** How many messages may wait in one user's offline mailbox. */
  readonly maxOfflinePerUser: number;
}
