import { ChatError } from '../domain/errors.js';
import type { NewMemberChange, StoredMemberChange } from '../domain/events.js';
import type { MembershipSnapshot, Store } from '../store/store.js';

/** One membership of the snapshot. */
type Row = MembershipSnapshot['members'][number];

/**
 * Ends, through the log, every room membership that no account owns: the member's nick has no
 * account, or the membership began at or below the account's registration point (the nick was
 * a member before anyone registered it: an open-mode user of that name, or an account made
 * with the command line while the server was down). In accounts mode such a membership would
 * hand whoever registers the nick a private room, its history, even its ownership.
 *
 * Run at the start of every accounts-mode process, before it loads its room directory and
 * listens. It is idempotent: a start that crashed midway leaves the rest to the next one, and
 * a start after a clean sweep finds nothing. Each ending is an ordinary logged change decided
 * by the room rules (room-rules.ts), so spans close, the invitations the member gave lapse,
 * retention applies, and the other processes of a cluster apply it to their directories
 * through their Sequencer, which reads the log. Per room:
 *
 * - When the room keeps members that an account owns but none of them is an owner, the
 *   longest-standing of them (the earliest open span) is made an owner first, by a departing
 *   owner (a `role` change): a room with members keeps an owner.
 * - Then every stray member leaves (a `leave` by themselves), owners last, so the rules'
 *   "the last owner leaves last" holds; when nobody is left the room closes, its invitations
 *   withdrawn and its name free.
 *
 * A change another process made first (two nodes starting at once) is skipped. Returns the
 * changes it logged.
 */
export async function endStrayMemberships(
  store: Store,
  now: number,
  bigRoom: number,
): Promise<StoredMemberChange[]> {
  const { members } = await store.memberships();
  const registration = await store.accounts.registrations([...new Set(members.map((m) => m.user))]);
  const stray = (m: Row): boolean => {
    const point = registration.get(m.user);
    return point === undefined || m.since <= point;
  };
  const rooms = new Map<string, Row[]>();
  for (const m of members) rooms.set(m.room, [...(rooms.get(m.room) ?? []), m]);
  const logged: StoredMemberChange[] = [];
  const log = async (change: Omit<NewMemberChange, 'ts' | 'bigRoom'>): Promise<void> => {
    try {
      logged.push(...(await store.appendMember({ ...change, ts: now, bigRoom })));
    } catch (err) {
      // Another process got there first; what is left is decided again next time.
      if (!(err instanceof ChatError)) throw err;
    }
  };
  for (const [room, all] of rooms) {
    const leaving = all.filter(stray);
    if (leaving.length === 0) continue;
    const staying = all.filter((m) => !stray(m)).sort((a, b) => a.since - b.since);
    const heir = staying[0];
    const owner = leaving.find((m) => m.role === 'owner');
    if (heir && owner && !staying.some((m) => m.role === 'owner')) {
      await log({ room, user: heir.user, by: owner.user, action: 'role', role: 'owner' });
    }
    // Owners last: until the room is empty, one of them stays to satisfy the rules.
    leaving.sort((a, b) => Number(a.role === 'owner') - Number(b.role === 'owner'));
    for (const m of leaving) await log({ room, user: m.user, by: m.user, action: 'leave' });
  }
  return logged;
}
