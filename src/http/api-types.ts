/**
 * The JSON shapes of the API (docs/api.md) that clients read: the data of each event of
 * `GET /api/v1/events` and the answers the web page uses. Types only, and importing only
 * types that need no Node.js, so that web/ (checkJs, no Node types) imports them in JSDoc
 * (`import('../src/http/api-types.js')`) instead of declaring them a second time.
 */
import type { ResetReason } from '../core/resume.js';
import type {
  Attachment,
  EventId,
  ListedRoom,
  MemberAction,
  ReactionSummary,
  Role,
} from '../domain/events.js';
import type { ReplyPreview } from '../domain/replies.js';
import type { Member, RoomInfo, RoomListing } from '../store/store.js';

/** A message as the JSON API shows it, in the stream and in history. */
export interface ApiMessage {
  readonly id: EventId;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly ts: number;
  readonly clientId?: string;
  readonly edited?: number;
  readonly deleted?: true;
  /** Users its text mentions who can see it (resolved by the server); absent when none. */
  readonly mentions?: readonly string[];
  /** The files it carries (uploads), in order; absent when none or deleted. */
  readonly attachments?: readonly Attachment[];
  /** The id of the message it answers; absent when none. */
  readonly replyTo?: EventId;
  /** With replyTo: what this reader sees of that message (domain/replies.ts). */
  readonly reply?: ReplyPreview;
  /**
   * Its reactions, in order of each emoji's first reaction, with the first users of each;
   * in history pages only (the stream sends `reaction` events); absent when none.
   */
  readonly reactions?: readonly ReactionSummary[];
}

/** The `message` event: a message, with `offline` when it waited in the mailbox. */
export type ApiMessageEvent = ApiMessage & { readonly offline?: boolean };

/** A membership change (the `member` event). */
export interface ApiMember {
  readonly id: EventId;
  readonly room: string;
  readonly user: string;
  readonly action: MemberAction;
  readonly by: string;
  /** The role of `user` after the change; null when they are not (or no longer) a member. */
  readonly role: Role | null;
  readonly ts: number;
  /** Why a moderator removed `user` (a `remove` that had one); absent when none was given. */
  readonly reason?: string;
}

/** An edit (the `edit` event); `message` is the edited message's id. */
export interface ApiEdit {
  readonly id: EventId;
  readonly message: EventId;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly ts: number;
  /** Who the new text mentions; absent when none. */
  readonly mentions?: readonly string[];
  /** Of those, the ones the old text did not: only they are notified. */
  readonly newMentions?: readonly string[];
}

/** A conversation's unread state (`GET /api/v1/unread`). */
export interface ApiUnread {
  readonly with: string;
  readonly marker: EventId;
  readonly unread: number;
  readonly mentions: number;
}

/** The `marker` event: the user's read marker in `with` moved (on any of their devices). */
export interface ApiMarker {
  readonly with: string;
  readonly upTo: EventId;
}

/** A notification level (`GET /api/v1/notify`). */
export type ApiNotifyLevel = 'all' | 'mentions' | 'none';

/** `GET /api/v1/notify`. */
export interface ApiNotify {
  readonly levels: Readonly<Record<string, ApiNotifyLevel>>;
  readonly defaults: {
    readonly direct: ApiNotifyLevel;
    readonly room: ApiNotifyLevel;
    readonly all: ApiNotifyLevel;
  };
  readonly hideText: boolean;
  /** False in open mode: mentions are shown but never notify. */
  readonly mentionsNotify: boolean;
}

/** The `notify` event: a level (null: the default again) or hideText changed. */
export type ApiNotifyEvent =
  | { readonly with: string; readonly level: ApiNotifyLevel | null }
  | { readonly hideText: boolean };

/** A delete (the `delete` event); `message` is the deleted message's id. */
export interface ApiDelete {
  readonly id: EventId;
  readonly message: EventId;
  readonly from: string;
  readonly to: string;
  readonly ts: number;
}

/**
 * A reaction added (`on`) or taken back (the `reaction` event); `message` is the message's id.
 * `to` is the message's room, `all`, or for a direct message the other party from `from`'s side.
 */
export interface ApiReaction {
  readonly id: EventId;
  readonly message: EventId;
  readonly from: string;
  readonly to: string;
  readonly emoji: string;
  readonly on: boolean;
  readonly ts: number;
}

/** The answer of `PUT` and `DELETE /api/v1/messages/<id>/reactions/<emoji>`. */
export interface ApiReactions {
  readonly message: EventId;
  readonly reactions: readonly ReactionSummary[];
}

/** A read receipt (the `read` event): `from` read `to`'s messages up to `upTo`. */
export interface ApiReceipt {
  readonly id: EventId;
  readonly from: string;
  readonly to: string;
  readonly upTo: EventId;
  readonly ts: number;
}

/** Who is online: the first users (in a crowd) and how many there are. */
export interface ApiOnlineList {
  readonly online: readonly string[];
  readonly onlineCount: number;
}

/** The `hello` event: "live from here", who the stream is for and who is online. */
export interface ApiHello extends ApiOnlineList {
  readonly user: string;
  /** The head: the stream's resume point. */
  readonly id: EventId;
  /** How often an idle stream gets a `ping` event. */
  readonly heartbeatMs: number;
}

/** The `presence` event: who is online now, replacing the list. */
export type ApiPresence = ApiOnlineList;

/** The `online` event of a crowd: how many are online; `crowd: false` when it thinned out. */
export interface ApiOnline {
  readonly count: number;
  readonly crowd?: false;
}

/** The `join` and `leave` events: a user came online or went. */
export interface ApiUserEvent {
  readonly user: string;
}

/** The `typing` event: `from` types to `to` (a user or a room). */
export interface ApiTyping {
  readonly from: string;
  readonly to: string;
}

/** The `room` event: a big room's member count. */
export interface ApiRoomCount {
  readonly room: string;
  readonly members: number;
}

/** The `reset` event: the client's view is stale; `id` is the head. */
export interface ApiReset {
  readonly reason: ResetReason;
  readonly id: EventId;
}

/** The `bye` event at shutdown: when to come back. */
export interface ApiBye {
  readonly retryMs: number;
}

/** The data of each event type of `GET /api/v1/events`, by type. */
/** The `room-listed` event: a public room was just created. */
export type ApiRoomListed = ListedRoom;

export interface ApiEvents {
  hello: ApiHello;
  message: ApiMessageEvent;
  read: ApiReceipt;
  join: ApiUserEvent;
  leave: ApiUserEvent;
  member: ApiMember;
  edit: ApiEdit;
  delete: ApiDelete;
  reaction: ApiReaction;
  typing: ApiTyping;
  room: ApiRoomCount;
  'room-listed': ApiRoomListed;
  online: ApiOnline;
  presence: ApiPresence;
  marker: ApiMarker;
  notify: ApiNotifyEvent;
  reset: ApiReset;
  ping: Record<string, never>;
  bye: ApiBye;
  profile: ApiProfileEvent;
  sanction: ApiSanctionEvent;
  report: ApiReportEvent;
  reported: ApiReportedEvent;
}

/** The `reported` event: a message the user moderates was reported (docs/api.md, Reports). */
export interface ApiReportedEvent {
  readonly id: number;
  /** The message's room; null for a direct message or a broadcast (admins only). */
  readonly room: string | null;
}

/** The `report` event: a report the user made was handled (docs/api.md, Reports). */
export interface ApiReportEvent {
  readonly id: number;
  readonly status: string;
  readonly outcome: string | null;
  /** The reported message's id. */
  readonly message: number;
}

/** A user's profile as others see it (`GET /users/<nick>`); `avatar` is a path, or null. */
export interface ApiProfile {
  readonly nick: string;
  readonly displayName: string | null;
  readonly avatar: string | null;
  readonly online: boolean;
  readonly registered: number;
}

/** The `profile` event: a user changed their display name or avatar. */
export interface ApiProfileEvent {
  readonly nick: string;
  readonly displayName: string | null;
  readonly avatar: string | null;
}

/** `GET /users`: a page of the directory; `next` is the `after` of the next page. */
export interface ApiDirectory {
  readonly users: ReadonlyArray<Omit<ApiProfile, 'registered'>>;
  readonly next: string | null;
}

/** `GET /server`: what a client needs before signing in. */
export interface ApiServerInfo {
  readonly auth: ApiAuthMode;
  /** Whether `POST /users` registers accounts here (accounts mode, registration not closed). */
  readonly registration: boolean;
  /** Who may register (accounts mode): anyone, with an invite link, nobody; null in open auth. */
  readonly registrationMode: ApiRegistrationMode | null;
}

/** Who may register (accounts mode): anyone, with an invite link, or only admins. */
export type ApiRegistrationMode = 'open' | 'invite' | 'closed';

/** `GET` and `PUT /admin/registration`: the mode in force, the flag's, the one an admin stored. */
export interface ApiRegistrationModes {
  readonly mode: ApiRegistrationMode;
  readonly flag: ApiRegistrationMode;
  readonly stored: ApiRegistrationMode | null;
}

/** An invite link as `/admin/invites` lists it: never its code. Times in ms since the epoch. */
export interface ApiInvite {
  readonly id: string;
  readonly createdBy: string;
  readonly created: number;
  /** The last moment it works. */
  readonly expires: number;
  readonly maxUses: number;
  readonly uses: number;
  readonly revoked: boolean;
  readonly status: 'active' | 'expired' | 'used' | 'revoked';
}

/** `POST /admin/invites`: the new invite, with its code and link, shown this once. */
export interface ApiNewInvite extends ApiInvite {
  readonly code: string;
  /** `<origin>/?invite=<code>` */
  readonly url: string;
}

/** `GET /admin/invites/<id>`: the invite and who registered with it (ts in ms), oldest first. */
export interface ApiInviteDetail extends ApiInvite {
  readonly usedBy: ReadonlyArray<{ readonly nick: string; readonly ts: number }>;
}

/** `GET /admin/invites`: newest first; `next` is the `before` of the next page. */
export interface ApiInvitePage {
  readonly invites: readonly ApiInvite[];
  readonly next: string | null;
}

/** The server's login mode. */
export type ApiAuthMode = 'open' | 'accounts';

/** `GET` and `POST /session`: who is signed in, and the server's mode. */
export interface ApiSession {
  readonly user: string;
  readonly auth: ApiAuthMode;
  /** The longest message text the server takes, in code points (`--max-message-length`). */
  readonly maxMessageLength: number;
  /**
   * Present, true, for a server admin (accounts mode; never in open mode); absent for everyone
   * else, so the answer of earlier versions is unchanged for them.
   */
  readonly admin?: true;
  /**
   * Present while the user is muted (core/sanctions.ts): until when (ms) and why. Sends,
   * edits and reactions are refused (CHAT_MUTED) until then; a `sanction` stream event says
   * when it changes.
   */
  readonly muted?: { readonly until: number | null; readonly reason: string };
}

/** `sanction` stream event: the user was muted (until, reason) or unmuted. */
export interface ApiSanctionEvent {
  readonly kind: 'mute' | 'unmute';
  readonly until: number | null;
  readonly reason: string;
}

/** `POST /users`: the account made. */
export interface ApiRegistered {
  readonly user: string;
}

/** `GET /messages`: a page of history, oldest first; `before` starts the next older page. */
export interface ApiHistoryPage {
  readonly messages: readonly ApiMessage[];
  readonly before: EventId | null;
}

/**
 * `GET /messages?around=<id>` or `?after=<id>`: a page, oldest first; `before` and `after`
 * start the older and the newer page (null: nothing more that way; after=: `before` is null).
 */
export interface ApiWindowPage extends ApiHistoryPage {
  readonly after: EventId | null;
}

/** One result of `GET /search`: the message, and its text around the first match. */
export interface ApiSearchResult {
  readonly message: ApiMessage;
  /** HTML: the text escaped, then each match wrapped in `<mark>…</mark>` (no other markup). */
  readonly snippet: string;
}

/**
 * `GET /search`: a page of results, newest first; `next` is the next page's `before`, null
 * when there is no more. A page may hold fewer than `limit` results, even none, before that.
 */
export interface ApiSearchPage {
  readonly results: readonly ApiSearchResult[];
  /** An opaque cursor for the next page's `before`; null when there is none. */
  readonly next: string | null;
}

/** `POST /messages`: the stored message's id and time. */
export interface ApiSent {
  readonly id: EventId;
  readonly ts: number;
}

/** `GET /presence`: who is online. */
export interface ApiPresenceAnswer {
  readonly online: readonly string[];
}

/** An answer that names the logged event a request made, or null when it changed nothing. */
export interface ApiLogged {
  readonly id: EventId | null;
}

/** `GET /rooms`: the rooms the user is in, invited to, or may join. */
export interface ApiRoomList {
  readonly rooms: readonly RoomListing[];
}

/** `GET /rooms/<name>`: a room and its members (the first ones, in a big room). */
export interface ApiRoomView {
  readonly room: RoomInfo;
  readonly members: ReadonlyArray<Member & { readonly online: boolean }>;
}

/** `POST /rooms`: the room made, and the id of its `create` change. */
export interface ApiRoomCreated {
  readonly room: RoomInfo | undefined;
  readonly id: EventId;
}

/** Every error answer: a stable code (src/domain/errors.ts) and a sentence. */
export interface ApiErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}
