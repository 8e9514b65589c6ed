import type { EventId, Role, StoredMemberChange } from '../domain/events.js';
import type { MembershipSnapshot } from '../store/store.js';

/**
 * Who is in which room, as this process delivers events: the Hub asks it which users a room's
 * event goes to. Every process keeps the whole directory (a user and a role per membership:
 * some tens of bytes each), loaded from the Store at start and then kept by the membership
 * changes the Hub delivers, which arrive in id order. So delivery follows the log exactly: a
 * room's event reaches the members that the log says it had at that event's id, the same set
 * a replay from the Store gives (see store.ts, spans). Authorization (may this user post,
 * read history, moderate?) asks the Store, which is the truth also between processes.
 */
/** A member as the directory knows them. */
export interface Membership {
  readonly role: Role;
  /** The id of the change that made them a member this time. */
  readonly since: EventId;
}

export class RoomDirectory {
  private readonly rooms = new Map<string, Map<string, Membership>>();
  /** Changes up to this id are in the snapshot the directory was loaded from. */
  private readonly loaded: EventId;

  constructor(snapshot: MembershipSnapshot = { head: 0, members: [] }) {
    this.loaded = snapshot.head;
    for (const { room, user, role, since } of snapshot.members) {
      this.membersOf(room).set(user, { role, since });
    }
  }

  /**
   * Applies a logged change. One the snapshot already holds (a Sequencer may start below the
   * snapshot's head) is skipped.
   */
  apply(change: StoredMemberChange): void {
    if (change.id <= this.loaded) return;
    if (change.role !== null) {
      const members = this.membersOf(change.room);
      const since = members.get(change.user)?.since ?? change.id;
      members.set(change.user, { role: change.role, since });
      return;
    }
    const members = this.rooms.get(change.room);
    members?.delete(change.user);
    if (members?.size === 0) this.rooms.delete(change.room);
  }

  /** The members of `room`; empty when there is no such room. */
  members(room: string): ReadonlyMap<string, Membership> {
    return this.rooms.get(room) ?? EMPTY;
  }

  /** Whether `user` is a member of `room` as far as this process has delivered. */
  has(room: string, user: string): boolean {
    return this.rooms.get(room)?.has(user) ?? false;
  }

  private membersOf(room: string): Map<string, Membership> {
    let members = this.rooms.get(room);
    if (!members) {
      members = new Map();
      this.rooms.set(room, members);
    }
    return members;
  }
}

const EMPTY: ReadonlyMap<string, Membership> = new Map();
