import { ChatError } from './errors.js';
import type { NewMemberChange, Role, RoomSettings } from './events.js';

/** What a Store reads, inside the transaction that logs a membership change, to decide it. */
export interface MembershipState {
  /** The room's settings; undefined when there is no such room. */
  readonly room: RoomSettings | undefined;
  /** The role of the change's `user`, null when not a member. */
  readonly userRole: Role | null;
  /** The role of the change's `by`, null when not a member. */
  readonly byRole: Role | null;
  /** Whether `user` holds an invitation to the room. */
  readonly invited: boolean;
  /** How many members the room has before the change. */
  readonly members: number;
  /** How many rooms `user` is a member of before the change. */
  readonly userRooms: number;
  /** How many invitations `user` holds, to any room. */
  readonly userInvites: number;
  /**
   * The oldest invitation `user` holds (the lowest log id of its `invite`), with who gave it
   * (`user` themselves when the log no longer says); null when they hold none.
   */
  readonly oldestInvite: { readonly room: string; readonly by: string } | null;
  /** How many owners the room has. */
  readonly owners: number;
  /**
   * When the change's `user` created rooms: the ts of their newest `create` changes in the
   * log, newest first, at most MAX_ROOMS_CREATED_PER_HOUR of them.
   */
  readonly recentCreates: readonly number[];
}

/**
 * Most invitations one user may hold at once: an invitation is a `member` event in the
 * invitee's stream and a line in their room list, and a room can be made, used to invite and
 * left again and again. At the bound a new invitation replaces the oldest one (withdrawn in
 * the same transaction) rather than being refused: refusing let anyone who kept this many
 * rooms (throw-away nicks in open mode, ten accounts in accounts mode) stop everyone else
 * from ever inviting the user. Now a friend's invitation always arrives, and pushing it out
 * again takes this many further invitations, each a send through the flood guards.
 */
export const MAX_INVITES_PER_USER = 100;

/**
 * Most rooms one user may be a member of. Every process keeps every membership in memory
 * (core/rooms.ts), so this bounds what one user can make the cluster hold.
 */
export const MAX_ROOMS_PER_USER = 500;

/**
 * Most rooms one user may create in ROOM_CREATION_WINDOW_MS. A room is a line in everyone's
 * room list: without this bound one account could create a public room, leave it (which
 * removes it) and create the next one without end, or fill its MAX_ROOMS_PER_USER quickly.
 * Counted from the log inside the Store's transaction, so it holds across a cluster.
 */
export const MAX_ROOMS_CREATED_PER_HOUR = 10;

/** The window MAX_ROOMS_CREATED_PER_HOUR counts in: an hour. */
export const ROOM_CREATION_WINDOW_MS = 3_600_000;

/** What the change does, for the Store to write in the same transaction. */
export interface MembershipOutcome {
  /** The role of `user` afterwards; null when not a member. */
  readonly role: Role | null;
  /** Whether `user` holds an invitation afterwards. */
  readonly invited: boolean;
  /** See StoredMemberChange.quiet. */
  readonly quiet: boolean;
  /** True for `create`: the room is to be made, with the change's settings. */
  readonly create: boolean;
  /**
   * The invitations `user` gave to this room lapse: they leave it or are removed. The Store
   * withdraws them in the same transaction, each logged as a `remove` by `user`.
   */
  readonly lapses: boolean;
  /**
   * The room's last member leaves: the Store removes the room, with every invitation to it
   * (each withdrawal logged as above), and its name is free again.
   */
  readonly closes: boolean;
  /**
   * An `invite` to a user at MAX_INVITES_PER_USER: their oldest invitation (MembershipState
   * oldestInvite) is withdrawn first, in the same transaction, logged as a `remove` of the
   * invitee by who gave it, in its room. Null otherwise.
   */
  readonly replaces: { readonly room: string; readonly by: string } | null;
}

const ROLES: readonly Role[] = ['owner', 'moderator', 'member'];

/**
 * The rules of room membership, in one place for every Store backend. Returns what `change`
 * does given `state`, null when it changes nothing (a join of a member, a second invitation:
 * nothing is logged), or throws a ChatError when the rules forbid it:
 *
 * - `create`: the room must not exist; its creator becomes its owner.
 * - `join`: anyone to a public room, the invited to a private one; the invitation is used up.
 * - Nobody creates or joins a room while a member of MAX_ROOMS_PER_USER rooms. An invitation
 *   to a user holding MAX_INVITES_PER_USER replaces their oldest (`replaces`).
 * - Nobody creates more than MAX_ROOMS_CREATED_PER_HOUR rooms in ROOM_CREATION_WINDOW_MS
 *   (CHAT_RATE_LIMITED, with when to try again); not for a `claimed` change (open mode), which
 *   the HTTP edge limits per address.
 * - A room keeps an owner while it has members: its last owner can neither leave nor give up
 *   the role until another member is an owner. Alone, they may leave, and the room closes:
 *   it is removed with its invitations and its name is free again.
 * - `invite`: owners and moderators invite a user who is not a member.
 * - `leave`: any member. The invitations they gave lapse (also when removed).
 * - `remove`: owners remove anyone but themselves; moderators remove plain members. It also
 *   withdraws an invitation. A user who holds an invitation removes it themselves to decline
 *   it (`by` is `user`); declining without one changes nothing.
 * - `role`: owners set a member's role.
 * - A server admin (`asOwner`) is an owner for all of these, whatever their role in the room.
 *
 * A join or leave is quiet when the room had more than `bigRoom` members before it.
 */
export function decideMembership(
  change: NewMemberChange,
  stateRead: MembershipState,
): MembershipOutcome | null {
  const { action } = change;
  // A server admin acts as an owner of every room (NewMemberChange.asOwner).
  const state: MembershipState = change.asOwner ? { ...stateRead, byRole: 'owner' } : stateRead;
  if (action === 'create') {
    if (state.room) throw new ChatError('CHAT_ROOM_EXISTS');
    full(state);
    if (!change.claimed) creationRate(change, state);
    return { ...NOTHING, role: 'owner', create: true };
  }
  if (!state.room) throw new ChatError('CHAT_ROOM_NOT_FOUND');
  const big = state.members > change.bigRoom;
  switch (action) {
    case 'join':
      if (state.userRole !== null) return null;
      if (state.room.visibility === 'private' && !state.invited) {
        throw new ChatError('CHAT_FORBIDDEN', 'this room is private; ask for an invitation');
      }
      full(state);
      return { ...NOTHING, role: 'member', quiet: big };
    case 'leave':
      if (state.userRole === null) throw new ChatError('CHAT_NOT_MEMBER');
      if (lastOwner(state) && state.members > 1) throw LAST_OWNER();
      return { ...NOTHING, quiet: big, lapses: true, closes: state.members <= 1 };
    case 'invite':
      moderates(state.byRole);
      if (state.userRole !== null || state.invited) return null;
      if (state.userInvites >= MAX_INVITES_PER_USER && state.oldestInvite) {
        return { ...NOTHING, invited: true, replaces: state.oldestInvite };
      }
      return { ...NOTHING, invited: true };
    case 'remove':
      if (change.user === change.by) {
        // Declining an invitation.
        if (state.userRole !== null)
          throw new ChatError('CHAT_FORBIDDEN', 'leave the room instead');
        return state.invited ? NOTHING : null;
      }
      moderates(state.byRole);
      if (state.userRole === null && !state.invited) {
        throw new ChatError('CHAT_NOT_MEMBER', `${change.user} is not a member`);
      }
      if (state.byRole === 'moderator' && state.userRole !== null && state.userRole !== 'member') {
        throw new ChatError('CHAT_FORBIDDEN', 'moderators remove plain members only');
      }
      return { ...NOTHING, lapses: state.userRole !== null };
    case 'role': {
      if (state.byRole === null) throw new ChatError('CHAT_NOT_MEMBER');
      if (state.byRole !== 'owner') throw new ChatError('CHAT_FORBIDDEN', 'owners set roles');
      const role = change.role;
      if (role === undefined || !ROLES.includes(role)) throw new ChatError('CHAT_ROLE_INVALID');
      if (state.userRole === null) {
        throw new ChatError('CHAT_NOT_MEMBER', `${change.user} is not a member`);
      }
      if (state.userRole === role) return null;
      if (lastOwner(state)) throw LAST_OWNER();
      return { ...NOTHING, role };
    }
  }
}

/** The outcome the others vary: no member, no invitation, nothing else. */
const NOTHING: MembershipOutcome = {
  role: null,
  invited: false,
  quiet: false,
  create: false,
  lapses: false,
  closes: false,
  replaces: null,
};

/** The outcome of a withdrawn invitation (a `remove` the Store logs for a lapse, store.ts). */
export const WITHDRAWN: MembershipOutcome = NOTHING;

/** Throws CHAT_RATE_LIMITED when `user` created MAX_ROOMS_CREATED_PER_HOUR rooms this hour. */
function creationRate(change: NewMemberChange, state: MembershipState): void {
  const oldest = state.recentCreates[MAX_ROOMS_CREATED_PER_HOUR - 1];
  if (oldest === undefined || oldest <= change.ts - ROOM_CREATION_WINDOW_MS) return;
  throw new ChatError(
    'CHAT_RATE_LIMITED',
    `at most ${MAX_ROOMS_CREATED_PER_HOUR} new rooms an hour`,
    oldest + ROOM_CREATION_WINDOW_MS - change.ts,
  );
}

/** Whether the change's user is the room's only owner. */
function lastOwner(state: MembershipState): boolean {
  return state.userRole === 'owner' && state.owners <= 1;
}

const LAST_OWNER = (): ChatError =>
  new ChatError('CHAT_FORBIDDEN', 'the room needs an owner: make another member an owner first');

/** Throws CHAT_TOO_MANY_ROOMS when the user is in MAX_ROOMS_PER_USER rooms already. */
function full(state: MembershipState): void {
  if (state.userRooms >= MAX_ROOMS_PER_USER) {
    throw new ChatError('CHAT_TOO_MANY_ROOMS', `the limit is ${MAX_ROOMS_PER_USER}`);
  }
}

/** Throws unless `role` may invite and remove (owners and moderators). */
function moderates(role: Role | null): void {
  if (role === null) throw new ChatError('CHAT_NOT_MEMBER');
  if (role === 'member') throw new ChatError('CHAT_FORBIDDEN', 'owners and moderators only');
}

/** Whether `role` may delete other members' messages in a room. */
export function canModerate(role: Role | null): boolean {
  return role === 'owner' || role === 'moderator';
}
