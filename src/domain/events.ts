import type { NewAuditEntry } from './audit.js';
import type { NotifyLevel } from './notify.js';
import type { ReplyPreview, ReplyReaders } from './replies.js';

/**
 * Event ids are positive safe integers assigned by the Store, strictly increasing in append
 * order within one store. They travel on the wire as decimal `id:` lines.
 */
export type EventId = number;

/** The recipient name that addresses every connected user. */
export const EVERYONE = 'all';

/** A message as the chat service hands it to the Store. */
export interface NewMessage {
  /** Sender nick. The sender need not be online (the seed allows that). */
  readonly from: string;
  /** Recipient nick, or `all` for a broadcast. */
  readonly to: string;
  readonly text: string;
  /** Milliseconds since the epoch, taken when the server accepted the message. */
  readonly ts: number;
  /** True when the recipient was offline: the Store also puts it in their mailbox. */
  readonly offline: boolean;
  /**
   * The sender's own id for this send (JSON API), which makes a retry idempotent: a second
   * append with the same sender and clientId stores nothing and returns the first message.
   * Absent (the key is not set) for sends without one.
   */
  readonly clientId?: string;
  /**
   * True in open mode, where nobody owns a nick: a broadcast's `@nick` mentions resolve to
   * any valid nick (there is no list of users to check against). Absent: accounts mode, where
   * they resolve to registered accounts. See mentions.ts.
   */
  readonly claimed?: true;
  /**
   * Ids of the sender's uploads this message carries (JSON API, at most MAX_ATTACHMENTS): the
   * Store attaches them in the append's transaction, or refuses the append with
   * UPLOAD_UNUSABLE when one is not the sender's, already sent, or expired. Absent: none.
   */
  readonly attach?: readonly string[];
  /**
   * The id of the message this one answers (JSON API): one the sender saw, undeleted, in the
   * same conversation (the chat service checks). The Store keeps it with the message; absent
   * (the key is not set) for a message that answers none.
   */
  readonly replyTo?: EventId;
}

/** Most files one message carries. */
export const MAX_ATTACHMENTS = 10;

/**
 * A file a message carries, as the stream, replay and history show it: an upload (see
 * store/uploads-store.ts) its sender attached. `width` and `height` only for an image the
 * server decoded (PNG, JPEG, GIF, WebP), after its orientation was applied.
 */
export interface Attachment {
  /** The upload's id: `GET /api/v1/uploads/<id>` serves it. */
  readonly id: string;
  /** The file name the sender gave, at most 255 characters. */
  readonly name: string;
  /** Bytes, of the file as served (an image is served re-encoded without its metadata). */
  readonly size: number;
  /** The MIME type sniffed from the bytes; `application/octet-stream` when unknown. */
  readonly type: string;
  readonly width?: number;
  readonly height?: number;
}

/** A message after the Store has made it durable and given it an id. */
export interface StoredMessage extends NewMessage {
  readonly id: EventId;
  /**
   * Set when the recipient (a nick) never sees it: they had blocked its sender when it was
   * logged, or it is about a withheld message (store/blocks-store.ts). Only the sender's side
   * sees it; formats never show the flag, so the sender cannot tell.
   */
  readonly withheld?: true;
  /** When it was last edited (ms since the epoch); absent (the key is not set) if never. */
  readonly edited?: number;
  /** Set once it was deleted: its text, and its edits' texts, are then empty in the Store. */
  readonly deleted?: true;
  /**
   * The users its text mentions (`@nick`) who can see it, resolved by the Store in the
   * append's transaction (mentions.ts), in order of first mention; absent when none.
   */
  readonly mentions?: readonly string[];
  /** The files it carries, in the order they were attached; absent when none (or deleted). */
  readonly attachments?: readonly Attachment[];
  /**
   * For a reply (`replyTo` set), what its reader sees of the target, built for that reader
   * when the message is read (store.ts) or delivered (core/hub.ts); absent elsewhere, e.g. in
   * `message(id)` and `log`, which have no reader: formats then show it unavailable.
   */
  readonly reply?: ReplyPreview;
  /**
   * Its reactions, in order of each emoji's first reaction; absent when none. Only history
   * pages carry them (the Store sums the reactions table per page); a replay carries the
   * `react` events instead.
   */
  readonly reactions?: readonly ReactionSummary[];
}

/** One emoji's reactions on a message, as history shows them. */
export interface ReactionSummary {
  readonly emoji: string;
  /** How many users reacted with it. */
  readonly count: number;
  /** The first MAX_REACTION_USERS of them (domain/reactions.ts), oldest first. */
  readonly users: readonly string[];
}

/**
 * The stored form of `message` under `id`: a copy of its fields (never of extra ones a caller
 * may have added), with `clientId` only when it has one, so stored messages compare equal
 * however a backend built them.
 */
export function storedMessage(message: NewMessage, id: EventId): StoredMessage {
  const { from, to, text, ts, offline, clientId, replyTo } = message;
  return {
    from,
    to,
    text,
    ts,
    offline,
    ...(clientId !== undefined && { clientId }),
    ...(replyTo !== undefined && { replyTo }),
    id,
  };
}

/**
 * A read receipt: `from` has read everything up to and including message `upTo`, which `to`
 * sent. It is logged like a message, so a sender who was away gets it on resume.
 */
export interface NewReceipt {
  readonly from: string;
  readonly to: string;
  readonly upTo: EventId;
  readonly ts: number;
}

/** A receipt after the Store has given it an id (from the same sequence as messages). */
export interface StoredReceipt extends NewReceipt {
  readonly id: EventId;
  /**
   * Set when the recipient (a nick) never sees it: they had blocked its sender when it was
   * logged, or it is about a withheld message (store/blocks-store.ts). Only the sender's side
   * sees it; formats never show the flag, so the sender cannot tell.
   */
  readonly withheld?: true;
}

/** A room's name: `#` and 1 to 48 of `a-z 0-9 - _`, starting with a letter or digit. */
export const ROOM_NAME = /^#[a-z0-9][a-z0-9_-]{0,47}$/;

/** Whether a recipient names a room (nicks cannot contain `#`). */
export function isRoom(to: string): boolean {
  return to.charCodeAt(0) === 0x23;
}

/** What a member may do in a room; see room-rules.ts. */
export type Role = 'owner' | 'moderator' | 'member';

/** Who may join a room: anyone, or those invited. */
export type Visibility = 'public' | 'private';

/** Which messages a member sees in history: from their joining onward, or all. */
export type HistoryMode = 'joined' | 'all';

/** A room's settings, fixed at creation. */
export interface RoomSettings {
  readonly visibility: Visibility;
  readonly history: HistoryMode;
}

/**
 * A change of a room's membership, as the chat service asks for it: `by` does `action` to
 * `user` (for create, join and leave they are the same). The Store checks it against the
 * room's current state with decideMembership (room-rules.ts), in the same transaction that
 * logs it, and rejects it with a ChatError when the rules forbid it.
 */
export interface NewMemberChange {
  readonly room: string;
  readonly user: string;
  readonly by: string;
  readonly action: MemberAction;
  readonly ts: number;
  /** The role `user` gets; for `role` only. */
  readonly role?: Role;
  /** The room's settings; for `create` only. */
  readonly settings?: RoomSettings;
  /** Joins and leaves in a room with more members than this are logged quiet (see quiet). */
  readonly bigRoom: number;
  /**
   * True in open mode, where `by` is only a claimed nick: the Store does not apply
   * MAX_ROOMS_CREATED_PER_HOUR per user (anyone could use up anyone's), the HTTP edge counts
   * creations per address instead (http/claimed-limit.ts). Absent or false: applied.
   */
  readonly claimed?: boolean;
  /**
   * True when `by` is a server admin (core/admins.ts): the rules treat them as an owner of the
   * room whatever their role there (none included). Absent or false: their role decides.
   */
  readonly asOwner?: boolean;
  /**
   * An audit row the Store writes in the transaction that logs the change, only when it logs
   * it (a removal of another user, a role change: core/chat-rooms.ts).
   */
  readonly audit?: NewAuditEntry;
}

/** `remove` is done by an owner or moderator to another member. */
export type MemberAction = 'create' | 'join' | 'invite' | 'leave' | 'remove' | 'role';

/** A membership change after the Store has logged it. */
export interface StoredMemberChange {
  readonly id: EventId;
  /** An invitation its user never sees: they had blocked who gave it (blocks-store.ts). */
  readonly withheld?: true;
  readonly room: string;
  readonly user: string;
  readonly by: string;
  readonly action: MemberAction;
  readonly ts: number;
  /** The role of `user` after the change; null when they are not (or no longer) a member. */
  readonly role: Role | null;
  /**
   * A join or leave in a big room (more than NewMemberChange.bigRoom members): only `user`
   * sees it, the other members get a coalesced member count instead.
   */
  readonly quiet: boolean;
}

/** An edit: `from` (its sender) replaces the text of message `target`, which was sent `to`. */
export interface NewEdit {
  readonly target: EventId;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly ts: number;
  /** As NewMessage.claimed: open mode, where a broadcast's mentions resolve to any nick. */
  readonly claimed?: true;
}

export interface StoredEdit extends NewEdit {
  readonly id: EventId;
  /**
   * Set when the recipient (a nick) never sees it: they had blocked its sender when it was
   * logged, or it is about a withheld message (store/blocks-store.ts). Only the sender's side
   * sees it; formats never show the flag, so the sender cannot tell.
   */
  readonly withheld?: true;
  /** Who the new text mentions (see StoredMessage.mentions); absent when none. */
  readonly mentions?: readonly string[];
  /** Of those, the ones the text before did not mention: only they are notified. */
  readonly added?: readonly string[];
}

/**
 * The stored form of `edit` under `id`, with the mentions of its text and those it added
 * (each key only when not empty), so stored edits compare equal however an engine built them.
 */
export function storedEdit(
  edit: NewEdit,
  id: EventId,
  mentions: readonly string[],
  added: readonly string[],
): StoredEdit {
  const { target, from, to, text, ts } = edit;
  return {
    id,
    target,
    from,
    to,
    text,
    ts,
    ...(mentions.length > 0 && { mentions }),
    ...(added.length > 0 && { added }),
  };
}

/** A delete: `from` (the sender, or a room's owner or moderator) deletes message `target`. */
export interface NewDelete {
  readonly target: EventId;
  readonly from: string;
  readonly to: string;
  readonly ts: number;
  /**
   * An audit row the Store writes in the delete's transaction (a delete of someone else's
   * message: core/chat-edits.ts); never part of the logged event.
   */
  readonly audit?: NewAuditEntry;
}

export interface StoredDelete extends Omit<NewDelete, 'audit'> {
  readonly id: EventId;
  /**
   * Set when the recipient (a nick) never sees it: they had blocked its sender when it was
   * logged, or it is about a withheld message (store/blocks-store.ts). Only the sender's side
   * sees it; formats never show the flag, so the sender cannot tell.
   */
  readonly withheld?: true;
}

/**
 * A reaction: `from` adds (`on`) or takes back emoji `emoji` on message `target`. `to` makes
 * it reach whoever sees the target: the target's room, `all` for a broadcast, and for a
 * direct message the other party as seen from `from` (so both parties see it).
 */
export interface NewReaction {
  readonly target: EventId;
  readonly from: string;
  readonly to: string;
  /** One emoji in NFC (domain/reactions.ts, parseEmoji). */
  readonly emoji: string;
  /** True: added; false: taken back. */
  readonly on: boolean;
  readonly ts: number;
}

/** A reaction after the Store has logged it. */
export interface StoredReaction extends NewReaction {
  readonly id: EventId;
  /**
   * Set when the recipient (a nick) never sees it: they had blocked its sender when it was
   * logged, or it is about a withheld message (store/blocks-store.ts). Only the sender's side
   * sees it; formats never show the flag, so the sender cannot tell.
   */
  readonly withheld?: true;
}

/**
 * What travels on the Bus and reaches the Hub on every process. Messages carry their Store id;
 * receipts too; presence changes are ephemeral and carry none. `origin` on `joined` is the connection that
 * joined: the seed announces a login to every *other* connection, so the Hub skips that one.
 */
export type SharedEvent =
  | {
      readonly kind: 'message';
      readonly message: StoredMessage;
      /**
       * For a reply published with its preview (`message.reply`): who may see the preview
       * live (the Hub gives everyone else it unavailable). Absent: nobody.
       */
      readonly readers?: ReplyReaders;
    }
  | { readonly kind: 'read'; readonly receipt: StoredReceipt }
  | {
      readonly kind: 'joined';
      readonly nick: string;
      readonly origin: string;
      /** True for the user's first connection (after any grace window): they came online. */
      readonly first: boolean;
    }
  | { readonly kind: 'left'; readonly nick: string }
  | { readonly kind: 'member'; readonly change: StoredMemberChange }
  | { readonly kind: 'edit'; readonly edit: StoredEdit }
  | { readonly kind: 'delete'; readonly delete: StoredDelete }
  | {
      readonly kind: 'react';
      readonly reaction: StoredReaction;
      /**
       * In a room: members who block the reactor (blocks-store.ts), read when it was
       * published; the Hub does not hand it to them. Absent: none (or read from the Store).
       */
      readonly hide?: readonly string[];
    }
  /**
   * Ephemeral: `from` is typing to `to` (a nick or a room). Never stored. `hide`: in a room,
   * the members who block `from`, whom the Hub skips (blocks-store.ts).
   */
  | {
      readonly kind: 'typing';
      readonly from: string;
      readonly to: string;
      readonly hide?: readonly string[];
    }
  /**
   * Ephemeral: `nick` changed their own notification state on some device (the Store keeps
   * it, store/notify-store.ts): only their own streams hear it, so tabs and devices agree.
   */
  | { readonly kind: 'own'; readonly nick: string; readonly change: OwnChange }
  /**
   * Ephemeral: `nick` changed their profile (store/profiles-store.ts); every stream hears it.
   * `avatar` is the avatar's id (its version), null when none.
   */
  | {
      readonly kind: 'profile';
      readonly nick: string;
      readonly displayName: string | null;
      readonly avatar: string | null;
    }
  /**
   * Ephemeral: a public room was created, so every room list may add it at once (issue 22:
   * live discovery). Not stored: a client that missed it finds the room in GET /rooms.
   */
  | { readonly kind: 'listed'; readonly room: ListedRoom }
  /**
   * Ephemeral: `nick` was muted until `until` (ms) for `reason`, or unmuted (core/sanctions.ts).
   * Only their own streams hear it (the page disables its composer until then); every process
   * forgets what it cached of their mute.
   */
  | {
      readonly kind: 'sanction';
      readonly nick: string;
      readonly action: 'mute' | 'unmute';
      readonly until: number | null;
      readonly reason: string;
    };

/** A public room as its `listed` event announces it (the fields of GET /api/v1/rooms). */
export interface ListedRoom extends RoomSettings {
  /** With its `#`. */
  readonly name: string;
  readonly createdBy: string;
  /** When it was created, ms since the epoch. */
  readonly created: number;
  readonly members: number;
}

/** A change of a user's own notification state (see SharedEvent `own`). */
export type OwnChange =
  /** Their read marker in conversation `with` moved to `upTo`. */
  | { readonly type: 'marker'; readonly with: string; readonly upTo: EventId }
  /** Their level in `with` changed; null: back to the default. */
  | { readonly type: 'level'; readonly with: string; readonly level: NotifyLevel | null }
  /** Whether pushes hide the text and the sender. */
  | { readonly type: 'hideText'; readonly hideText: boolean }
  /** A report they made was handled (domain/reports.ts): the outcome, for a notice. */
  | { readonly type: 'report'; readonly report: ReportOutcome }
  /** A message they moderate was reported (domain/reports.ts): their queue has a new report. */
  | {
      readonly type: 'reported';
      readonly report: { readonly id: number; readonly room: string | null };
    };

/** What a reporter is told when their report is handled (the stream's `report` event). */
export interface ReportOutcome {
  readonly id: number;
  readonly status: string;
  readonly outcome: string | null;
  /** The reported message's id. */
  readonly message: EventId;
}

/** Made by one process for its own streams; never on the Bus, never stored. */
export type LocalEvent =
  /** A big room's member count changed (see Hub). */
  | { readonly kind: 'room'; readonly room: string; readonly members: number }
  /**
   * Who is online now, in order of arrival, read from Presence: a stream applies it like
   * its hello's list. Sent after this process could not hear the Bus (joins and leaves were
   * missed) and after a process restored users Presence had lost (see ResyncEvent).
   */
  | { readonly kind: 'presence'; readonly online: readonly string[] };

/**
 * On the Bus only, never handed to a stream: a process counted users again whom Presence had
 * lost (reaped while it was cut off, or Redis restarted empty). They came back online without
 * a join, so every process that hears it sends its streams a fresh `presence` snapshot.
 */
export type ResyncEvent = { readonly kind: 'resync' };

/**
 * On the Bus only, never handed to a stream: every session, token, ticket and stream of
 * `nick` has ended (their account was deleted; later, banned). Every process closes that
 * user's streams at once and forgets what it remembered of their credentials and account
 * (the auth cache, the registered-nick cache), rather than trust them for a few more seconds.
 */
export type EndedEvent = { readonly kind: 'ended'; readonly nick: string };

/** What the Hub hands to streams: the Bus's shared events and this process's own. */
export type ChatEvent = SharedEvent | LocalEvent;

/** What travels on the Bus between processes. */
export type BusEvent = SharedEvent | ResyncEvent | EndedEvent;

/** The events the Store logs, with an id, and replays on resume. */
export type LoggedEvent = Extract<
  ChatEvent,
  { kind: 'message' | 'read' | 'member' | 'edit' | 'delete' | 'react' }
>;

/** Events that carry no id and are never stored: they pass the Sequencer straight through. */
export type EphemeralEvent = Exclude<ChatEvent, LoggedEvent>;

/** Whether an event is logged (has an id). */
export function isLogged(event: ChatEvent): event is LoggedEvent {
  switch (event.kind) {
    case 'joined':
    case 'left':
    case 'typing':
    case 'own':
    case 'profile':
    case 'listed':
    case 'sanction':
    case 'room':
    case 'presence':
      return false;
    default:
      return true;
  }
}

/** The record a logged event carries: every kind has an id and a time. */
function record(event: LoggedEvent): { readonly id: EventId; readonly ts: number } {
  switch (event.kind) {
    case 'message':
      return event.message;
    case 'read':
      return event.receipt;
    case 'member':
      return event.change;
    case 'edit':
      return event.edit;
    case 'delete':
      return event.delete;
    case 'react':
      return event.reaction;
  }
}

/** The id of a logged event. */
export function eventId(event: LoggedEvent): EventId {
  return record(event).id;
}

/** When a logged event happened (ms since the epoch); retention goes by it. */
export function eventTime(event: LoggedEvent): number {
  return record(event).ts;
}
