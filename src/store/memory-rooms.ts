import type { EventId, NewMemberChange, Role, RoomSettings } from '../domain/events.js';
import {
  decideMembership,
  MAX_ROOMS_CREATED_PER_HOUR,
  type MembershipOutcome,
} from '../domain/room-rules.js';
import { MAX_ROOM_LISTING, type Member, type RoomInfo, type RoomListing } from './store.js';

interface Room {
  readonly name: string;
  readonly settings: RoomSettings;
  readonly createdBy: string;
  readonly created: number;
  /** The id of its create change: where this life of its name begins (store.ts). */
  readonly since: EventId;
  /** In the order they became members. */
  readonly members: Map<string, Role>;
  /** Each invitee, with who invited them and the log id of the invitation. */
  readonly invited: Map<string, { readonly by: string; readonly id: EventId }>;
}

/** The rooms of a MemoryStore: settings, members, invitations and spans. */
export class MemoryRooms {
  private readonly rooms = new Map<string, Room>();
  /**
   * Each room name's spans by user (store.ts): [from, to], `to` Infinity while open. Kept
   * apart from the rooms, because they outlive a room that was removed.
   */
  private readonly spans = new Map<string, Map<string, Array<[EventId, number]>>>();
  /** The ts of each user's newest creates, newest first (see MembershipState). */
  private readonly creates = new Map<string, number[]>();

  /** Decides `change` (room-rules.ts) against the current state; does not apply it. */
  decide(change: NewMemberChange): MembershipOutcome | null {
    const room = this.rooms.get(change.room);
    // What the user holds across every room, in one pass.
    let userRooms = 0;
    let userInvites = 0;
    let oldest: { room: string; by: string; id: EventId } | null = null;
    for (const r of this.rooms.values()) {
      if (r.members.has(change.user)) userRooms++;
      const invitation = r.invited.get(change.user);
      if (!invitation) continue;
      userInvites++;
      if (!oldest || invitation.id < oldest.id) oldest = { room: r.name, ...invitation };
    }
    return decideMembership(change, {
      room: room?.settings,
      userRole: room?.members.get(change.user) ?? null,
      byRole: room?.members.get(change.by) ?? null,
      invited: room?.invited.has(change.user) ?? false,
      members: room?.members.size ?? 0,
      userRooms,
      userInvites,
      oldestInvite: oldest && { room: oldest.room, by: oldest.by },
      owners: [...(room?.members.values() ?? [])].filter((role) => role === 'owner').length,
      recentCreates: this.creates.get(change.user) ?? [],
    });
  }

  /**
   * The invitations a decided change withdraws (store.ts), to be logged before it: all of the
   * room's when it closes, those `user` gave when theirs lapse.
   */
  withdrawn(change: NewMemberChange, outcome: MembershipOutcome): string[] {
    const room = this.rooms.get(change.room);
    if (!room || !(outcome.closes || outcome.lapses)) return [];
    return [...room.invited]
      .filter(([, { by }]) => outcome.closes || by === change.user)
      .map(([invitee]) => invitee);
  }

  /** Applies a decided change, logged under `id`. */
  apply(change: NewMemberChange, outcome: MembershipOutcome, id: EventId): void {
    let room = this.rooms.get(change.room);
    if (!room) {
      room = {
        name: change.room,
        settings: change.settings ?? { visibility: 'public', history: 'joined' },
        createdBy: change.user,
        created: change.ts,
        since: id,
        members: new Map(),
        invited: new Map(),
      };
      this.rooms.set(change.room, room);
      const creates = [change.ts, ...(this.creates.get(change.user) ?? [])];
      this.creates.set(change.user, creates.slice(0, MAX_ROOMS_CREATED_PER_HOUR));
    }
    const before = room.members.get(change.user) ?? null;
    if (outcome.role === null) room.members.delete(change.user);
    else room.members.set(change.user, outcome.role);
    if (outcome.invited) room.invited.set(change.user, { by: change.by, id });
    else room.invited.delete(change.user);
    let byUser = this.spans.get(change.room);
    if (!byUser) {
      byUser = new Map();
      this.spans.set(change.room, byUser);
    }
    const spans = byUser.get(change.user) ?? [];
    byUser.set(change.user, spans);
    if (before === null && outcome.role !== null) spans.push([id, Number.POSITIVE_INFINITY]);
    const open = spans[spans.length - 1];
    if (before !== null && outcome.role === null && open) open[1] = id;
    if (outcome.closes) this.rooms.delete(change.room);
  }

  /** Whether one of `user`'s spans in `room` covers `id` (and `from`, when given). */
  covers(room: string, user: string, id: EventId, from = id): boolean {
    const spans = this.spans.get(room)?.get(user);
    return spans?.some(([start, end]) => start <= from && id <= end) ?? false;
  }

  /**
   * Whether `viewer` reads message `id` of `room` in its history: it is of the room's current
   * life, and the room's history mode is all or one of the viewer's spans covers it.
   */
  inHistory(room: string, viewer: string, id: EventId): boolean {
    const found = this.rooms.get(room);
    if (!found || id < found.since) return false;
    return found.settings.history === 'all' || this.covers(room, viewer, id);
  }

  /** Whether message `id`, sent to room `to`, belongs to the room's current life. */
  current(to: string, id: EventId): boolean {
    const since = this.rooms.get(to)?.since;
    return since !== undefined && since <= id;
  }

  info(name: string): RoomInfo | undefined {
    const room = this.rooms.get(name);
    return room && describe(room);
  }

  list(viewer: string): RoomListing[] {
    // The viewer's own rooms and invitations always; other public rooms up to the bound, so
    // that nobody can push a user's rooms out of their list by creating public ones.
    // Memberships are bounded by MAX_ROOMS_PER_USER; invitations are not, so they are cut too.
    const mine: RoomListing[] = [];
    const invitations: RoomListing[] = [];
    const others: RoomListing[] = [];
    for (const room of this.rooms.values()) {
      const role = room.members.get(viewer) ?? null;
      const invited = room.invited.has(viewer);
      const listing = { ...describe(room), role, invited };
      if (role !== null) mine.push(listing);
      else if (invited) invitations.push(listing);
      else if (room.settings.visibility === 'public') others.push(listing);
    }
    const byName = (a: RoomListing, b: RoomListing): number => (a.name < b.name ? -1 : 1);
    // Public rooms with the most members first, so that rooms nobody else is in cannot push
    // out the ones people use.
    const byMembers = (a: RoomListing, b: RoomListing): number =>
      b.members - a.members || byName(a, b);
    const first = (list: RoomListing[], order: typeof byName) =>
      list.sort(order).slice(0, MAX_ROOM_LISTING);
    return [...mine, ...first(invitations, byName), ...first(others, byMembers)].sort(byName);
  }

  /** Drops every invitation of the users `which` selects (accounts.ts, createUser). */
  dropInvitations(which: (user: string) => boolean): void {
    for (const room of this.rooms.values()) {
      for (const user of room.invited.keys()) if (which(user)) room.invited.delete(user);
    }
  }

  role(room: string, user: string): Role | null {
    return this.rooms.get(room)?.members.get(user) ?? null;
  }

  members(name: string): Member[] {
    return [...(this.rooms.get(name)?.members ?? [])].map(([user, role]) => ({ user, role }));
  }

  all(): Array<{ room: string; user: string; role: Role; since: EventId }> {
    const out: Array<{ room: string; user: string; role: Role; since: EventId }> = [];
    for (const room of this.rooms.values()) {
      for (const [user, role] of room.members) {
        const since = this.spans.get(room.name)?.get(user)?.at(-1)?.[0] ?? 0;
        out.push({ room: room.name, user, role, since });
      }
    }
    return out;
  }
}

function describe(room: Room): RoomInfo {
  return {
    name: room.name,
    ...room.settings,
    createdBy: room.createdBy,
    created: room.created,
    members: room.members.size,
  };
}
