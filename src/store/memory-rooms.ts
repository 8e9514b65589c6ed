import type { EventId, NewMemberChange, Role, RoomSettings } from '../core/events.js';
import { decideMembership, type MembershipOutcome } from '../core/room-rules.js';
import { MAX_ROOM_LISTING, type Member, type RoomInfo, type RoomListing } from './store.js';

interface Room {
  readonly name: string;
  readonly settings: RoomSettings;
  readonly createdBy: string;
  readonly created: number;
  /** In the order they became members. */
  readonly members: Map<string, Role>;
  readonly invited: Set<string>;
  /** Each user's spans (store.ts): [from, to], `to` Infinity while open. */
  readonly spans: Map<string, Array<[EventId, number]>>;
}

/** The rooms of a MemoryStore: settings, members, invitations and spans. */
export class MemoryRooms {
  private readonly rooms = new Map<string, Room>();

  /** Decides `change` (room-rules.ts) against the current state; does not apply it. */
  decide(change: NewMemberChange): MembershipOutcome | null {
    const room = this.rooms.get(change.room);
    // What the user holds across every room, in one pass.
    let userRooms = 0;
    let userInvites = 0;
    for (const r of this.rooms.values()) {
      if (r.members.has(change.user)) userRooms++;
      if (r.invited.has(change.user)) userInvites++;
    }
    return decideMembership(change, {
      room: room?.settings,
      userRole: room?.members.get(change.user) ?? null,
      byRole: room?.members.get(change.by) ?? null,
      invited: room?.invited.has(change.user) ?? false,
      members: room?.members.size ?? 0,
      userRooms,
      userInvites,
      owners: [...(room?.members.values() ?? [])].filter((role) => role === 'owner').length,
    });
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
        members: new Map(),
        invited: new Set(),
        spans: new Map(),
      };
      this.rooms.set(change.room, room);
    }
    const before = room.members.get(change.user) ?? null;
    if (outcome.role === null) room.members.delete(change.user);
    else room.members.set(change.user, outcome.role);
    if (outcome.invited) room.invited.add(change.user);
    else room.invited.delete(change.user);
    const spans = room.spans.get(change.user) ?? [];
    room.spans.set(change.user, spans);
    if (before === null && outcome.role !== null) spans.push([id, Number.POSITIVE_INFINITY]);
    const open = spans[spans.length - 1];
    if (before !== null && outcome.role === null && open) open[1] = id;
  }

  /** Whether one of `user`'s spans in `room` covers `id` (and `from`, when given). */
  covers(room: string, user: string, id: EventId, from = id): boolean {
    const spans = this.rooms.get(room)?.spans.get(user);
    return spans?.some(([start, end]) => start <= from && id <= end) ?? false;
  }

  /** Whether `user` sees all of `room`'s history (history mode all). */
  seesAllHistory(room: string): boolean {
    return this.rooms.get(room)?.settings.history === 'all';
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
    const first = (list: RoomListing[]) => list.sort(byName).slice(0, MAX_ROOM_LISTING);
    return [...mine, ...first(invitations), ...first(others)].sort(byName);
  }

  /** Drops every invitation of the users `which` selects (accounts.ts, createUser). */
  dropInvitations(which: (user: string) => boolean): void {
    for (const room of this.rooms.values()) {
      for (const user of room.invited) if (which(user)) room.invited.delete(user);
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
        const since = room.spans.get(user)?.at(-1)?.[0] ?? 0;
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
