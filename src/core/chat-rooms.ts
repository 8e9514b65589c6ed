import { type NewAuditEntry, parseReason } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import type {
  MemberAction,
  NewMemberChange,
  Role,
  RoomSettings,
  SharedEvent,
  StoredMemberChange,
} from '../domain/events.js';
import { type InputLimits, parseNick, parseRoom } from '../domain/input.js';
import type { Presence } from '../presence/presence.js';
import type { Member, RoomInfo, RoomListing, Store } from '../store/store.js';
import type { RoomDirectory } from './rooms.js';

/** What the room operations need from the chat service. */
export interface ChatRoomsDeps {
  readonly store: Store;
  /** This process's room directory (the Hub's). */
  readonly directory: RoomDirectory;
  readonly presence: Presence;
  readonly limits: InputLimits;
  /** See config bigRoomMembers. */
  readonly bigRoom: number;
  /**
   * See ChatDeps.registered: only registered users are invited in accounts mode. Absent in
   * open mode, where changes are logged `claimed` (NewMemberChange).
   */
  readonly registered?: (nick: string) => Promise<boolean>;
  /**
   * Whether a nick is a server admin (core/admins.ts), who acts as an owner of every room;
   * absent: nobody is.
   */
  readonly isAdmin?: (nick: string) => Promise<boolean>;
  readonly now: () => number;
  /** Publishes a logged event (ChatService.publish). */
  readonly publish: (event: SharedEvent) => Promise<void>;
}

/** Most members a room's view lists (the first to join); `room.members` has the count. */
export const MAX_MEMBER_LISTING = 1000;

/** A room with its members, as its page shows it. */
export interface RoomView {
  readonly room: RoomInfo;
  readonly members: ReadonlyArray<Member & { readonly online: boolean }>;
}

/**
 * How a removal of another member is audited: a plain removal ('room.remove', its reason
 * optional), or a kick (Sanctions.kick: 'kick', its reason required).
 */
export type RemovalAudit = 'room.remove' | 'kick';

/**
 * Rooms: creating them and changing who is in them. The rules live in the Store's
 * transaction (room-rules.ts), so that two processes cannot both let a change through; this
 * class validates input, logs the change, and publishes it like any other logged event.
 */
export class ChatRooms {
  constructor(private readonly deps: ChatRoomsDeps) {}

  /**
   * Creates a room with `by` as its owner; CHAT_ROOM_EXISTS when the name is taken. A public
   * one is announced to every stream (a `listed` event), for their room lists.
   */
  async create(by: string, nameRaw: string, settings: RoomSettings): Promise<StoredMemberChange> {
    const change = await this.change(by, 'create', nameRaw, by, settings);
    // A create always changes something: the rules return null for nothing here.
    if (!change) throw new ChatError('CHAT_ROOM_EXISTS');
    if (settings.visibility === 'public') {
      const { visibility, history } = settings;
      const room = {
        name: change.room,
        visibility,
        history,
        createdBy: by,
        created: change.ts,
        members: 1,
      };
      // Best effort, like typing: a list that missed it shows the room on its next load.
      await this.deps.publish({ kind: 'listed', room });
    }
    return change;
  }

  /** `user` joins; undefined when they are a member already. */
  join(user: string, room: string): Promise<StoredMemberChange | undefined> {
    return this.change(user, 'join', room, user);
  }

  /**
   * `user` leaves; the invitations they gave to the room lapse, and when they were its last
   * member the room is removed and its name freed (store.ts).
   */
  leave(user: string, room: string): Promise<StoredMemberChange | undefined> {
    return this.change(user, 'leave', room, user);
  }

  /**
   * `user` declines their invitation to `room` (a `remove` of themselves, logged like any
   * removal of an invitation); undefined when they hold none.
   */
  decline(user: string, room: string): Promise<StoredMemberChange | undefined> {
    return this.change(user, 'remove', room, user);
  }

  /**
   * `by` invites `userRaw`; undefined when they are a member or invited already. In accounts
   * mode only a registered user can be invited (CHAT_USER_NOT_FOUND): an invitation to a free
   * nick would wait for whoever registers it first.
   */
  async invite(by: string, room: string, userRaw: string): Promise<StoredMemberChange | undefined> {
    parseRoom(room);
    const user = parseNick(userRaw, this.deps.limits);
    if (this.deps.registered && !(await this.deps.registered(user))) {
      throw new ChatError('CHAT_USER_NOT_FOUND');
    }
    return this.change(by, 'invite', room, user);
  }

  /**
   * `by` removes `userRaw` from `room` (or withdraws their invitation); a removal of another
   * user is audited ('room.remove', with `reasonRaw`) in the transaction that logs it.
   */
  remove(
    by: string,
    room: string,
    userRaw: string,
    reasonRaw?: unknown,
    auditAs: RemovalAudit = 'room.remove',
  ): Promise<StoredMemberChange | undefined> {
    const reason = parseReason(reasonRaw, auditAs === 'kick');
    return this.change(by, 'remove', room, userRaw, undefined, undefined, reason, auditAs);
  }

  /** `by` sets the room role of `userRaw`, audited ('room.role', detail {role}) when it changes. */
  setRole(
    by: string,
    room: string,
    userRaw: string,
    role: unknown,
    reasonRaw?: unknown,
  ): Promise<StoredMemberChange | undefined> {
    if (role !== 'owner' && role !== 'moderator' && role !== 'member') {
      throw new ChatError('CHAT_ROLE_INVALID');
    }
    const reason = parseReason(reasonRaw, false);
    return this.change(by, 'role', room, userRaw, undefined, role, reason);
  }

  /** The rooms `viewer` is in or invited to, and the public ones. */
  list(viewer: string): Promise<RoomListing[]> {
    return this.deps.store.rooms(viewer);
  }

  /**
   * A room and its members with who of them is online. A private room shows itself only to
   * its members, to those invited to it and to server admins.
   */
  async view(viewer: string, nameRaw: string): Promise<RoomView> {
    const { store, presence } = this.deps;
    const name = parseRoom(nameRaw);
    const room = await store.room(name);
    if (!room) throw new ChatError('CHAT_ROOM_NOT_FOUND');
    const members = await store.members(name);
    if (room.visibility === 'private' && !members.some((m) => m.user === viewer)) {
      const listed = await store.rooms(viewer);
      // A server admin, an owner of every room, sees who is in it (not what is said in it).
      const invited = listed.some((r) => r.name === name && r.invited);
      if (!invited && !(await this.deps.isAdmin?.(viewer))) throw new ChatError('CHAT_NOT_MEMBER');
    }
    const online = new Set(await presence.online());
    const listed = members.slice(0, MAX_MEMBER_LISTING);
    return { room, members: listed.map((m) => ({ ...m, online: online.has(m.user) })) };
  }

  /** The room of this name (with `#`), if it exists. */
  info(name: string): Promise<RoomInfo | undefined> {
    return this.deps.store.room(name);
  }

  /**
   * Throws like requireMember unless `user` may post to `room` (a message, a typing notice).
   * It asks this process's directory first: a Store read would flush the Store's batch and
   * cost a commit per send (group commit measured 6x the deliveries per write). The directory
   * has every change this process delivered, so only a leave made on another process in the
   * last moments (the Bus's transit) can slip through; a join made there and not yet
   * delivered here is found in the Store.
   */
  async requirePoster(room: string, user: string): Promise<void> {
    if (!this.deps.directory.has(room, user)) await this.requireMember(room, user);
  }

  /** Throws CHAT_NOT_MEMBER (or CHAT_ROOM_NOT_FOUND) unless `user` is in `room`; their role. */
  async requireMember(room: string, user: string): Promise<Role> {
    const role = await this.deps.store.role(room, user);
    if (role !== null) return role;
    if (!(await this.deps.store.room(room))) throw new ChatError('CHAT_ROOM_NOT_FOUND');
    throw new ChatError('CHAT_NOT_MEMBER');
  }

  private async change(
    by: string,
    action: MemberAction,
    roomRaw: string,
    userRaw: string,
    settings?: RoomSettings,
    role?: Role,
    reason = '',
    auditAs: RemovalAudit = 'room.remove',
  ): Promise<StoredMemberChange | undefined> {
    const { store, limits, bigRoom, now } = this.deps;
    const room = parseRoom(roomRaw);
    const user = parseNick(userRaw, limits);
    const ts = now();
    // Acting on someone else as an owner might: a server admin is one in every room. Only
    // these read the role (a join, a leave or a decline never needs it).
    const moderating =
      action === 'invite' || action === 'role' || (action === 'remove' && user !== by);
    const asOwner = moderating && (await this.deps.isAdmin?.(by)) === true;
    const audit = this.audit(
      action,
      { ts, actor: by, room, target: user, reason },
      role,
      asOwner,
      auditAs,
    );
    const change: NewMemberChange = {
      room,
      user,
      by,
      action,
      ts,
      bigRoom,
      ...(!this.deps.registered && { claimed: true }),
      ...(settings && { settings }),
      ...(role && { role }),
      ...(asOwner && { asOwner }),
      ...(audit && { audit }),
      // A moderator's removal tells its user (and the room) why, in the change itself.
      ...(moderating && action === 'remove' && reason !== '' && { reason }),
    };
    // The withdrawn invitations come first, in id order, then the change itself.
    const logged = await store.appendMember(change);
    for (const stored of logged) await this.deps.publish({ kind: 'member', change: stored });
    return logged.at(-1);
  }

  /**
   * The audit row of a change, when it is a moderation: a removal of another user, a role
   * change (detail: the role; `admin` when a server admin made it). The Store writes it only
   * when it logs the change.
   */
  private audit(
    action: MemberAction,
    base: Omit<NewAuditEntry, 'action'> & { readonly target: string },
    role: Role | undefined,
    admin: boolean,
    auditAs: RemovalAudit,
  ): NewAuditEntry | undefined {
    const adminDetail = admin ? { admin: true } : {};
    if (action === 'remove' && base.target !== base.actor) {
      return { ...base, action: auditAs, ...(admin && { detail: adminDetail }) };
    }
    if (action === 'role')
      return { ...base, action: 'room.role', detail: { role, ...adminDetail } };
    return undefined;
  }
}
