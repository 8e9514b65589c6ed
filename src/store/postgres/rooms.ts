import type pg from 'pg';
import type { HistoryMode, Role, Visibility } from '../../domain/events.js';
import {
  MAX_ROOM_LISTING,
  type Member,
  type MembershipSnapshot,
  type RoomInfo,
  type RoomListing,
} from '../store.js';
import { blocks } from './withheld.js';

/** A row of rooms, with the viewer's role and invitation when listed. */
interface RoomRow {
  name: string;
  visibility: Visibility;
  history: HistoryMode;
  created_by: string;
  created: number;
  members: number;
  role: Role | null;
  invited: boolean;
}

const ROOM: pg.QueryConfig = {
  name: 'ssechat_room',
  text: 'SELECT name, visibility, history, created_by, created, members FROM rooms WHERE name = $1',
};

// The candidates come from three indexes (the viewer's memberships, their invitations, and
// the public rooms with the most members first, of which at most the limit), so a listing
// does not scan every room, and rooms with one member cannot push out rooms people share. Names compare in byte order (COLLATE "C"), which for the ASCII room names is
// plain JS string order whatever the database's collation.
const LIST: pg.QueryConfig = {
  name: 'ssechat_rooms',
  text: `
  WITH listed AS (
    SELECT room AS name FROM members WHERE nick = $1
    UNION
    (SELECT room FROM invites i WHERE nick = $1 AND NOT ${blocks('$1', 'i.invited_by')}
      ORDER BY room COLLATE "C" LIMIT $2)
    UNION
    (SELECT name FROM rooms WHERE visibility = 'public'
      ORDER BY members DESC, name COLLATE "C" LIMIT $2)
  )
  SELECT r.name, r.visibility, r.history, r.created_by, r.created, r.members, m.role,
         i.nick IS NOT NULL AS invited
    FROM listed JOIN rooms r USING (name)
    LEFT JOIN members m ON m.room = r.name AND m.nick = $1
    LEFT JOIN invites i ON i.room = r.name AND i.nick = $1
     AND NOT ${blocks('$1', 'i.invited_by')}
   ORDER BY r.name COLLATE "C"`,
};

const ROLE: pg.QueryConfig = {
  name: 'ssechat_role',
  text: 'SELECT role FROM members WHERE room = $1 AND nick = $2',
};

const MEMBERS: pg.QueryConfig = {
  name: 'ssechat_members',
  text: 'SELECT nick, role FROM members WHERE room = $1 ORDER BY since',
};

// One statement, so one snapshot: the head and the members agree (a membership change commits
// its log row and its members row together). The LEFT JOIN yields one row without members.
const MEMBERSHIPS: pg.QueryConfig = {
  name: 'ssechat_memberships',
  text: `
  SELECT h.head, m.room, m.nick, m.role, m.since
    FROM (SELECT coalesce(max(id), 0) AS head FROM messages) h
    LEFT JOIN members m ON true
   ORDER BY m.room, m.since`,
};

/** The room reads of PostgresStore; the store awaits its queued writes before calling them. */
export class PostgresRooms {
  /** Reads through `pool`, whose connections already use the store's schema. */
  constructor(private readonly pool: pg.Pool) {}

  /** See Store.room. */
  async room(name: string): Promise<RoomInfo | undefined> {
    const { rows } = await this.pool.query<RoomRow>({ ...ROOM, values: [name] });
    const [row] = rows;
    return row && toInfo(row);
  }

  /** See Store.rooms. */
  async rooms(viewer: string): Promise<RoomListing[]> {
    const { rows } = await this.pool.query<RoomRow>({
      ...LIST,
      values: [viewer, MAX_ROOM_LISTING],
    });
    return rows.map((row) => ({ ...toInfo(row), role: row.role, invited: row.invited }));
  }

  /** See Store.role. */
  async role(room: string, user: string): Promise<Role | null> {
    const { rows } = await this.pool.query<{ role: Role }>({ ...ROLE, values: [room, user] });
    return rows[0]?.role ?? null;
  }

  /** See Store.members. */
  async members(room: string): Promise<Member[]> {
    const { rows } = await this.pool.query<{ nick: string; role: Role }>({
      ...MEMBERS,
      values: [room],
    });
    return rows.map(({ nick, role }) => ({ user: nick, role }));
  }

  /** See Store.memberships. */
  async memberships(): Promise<MembershipSnapshot> {
    const { rows } = await this.pool.query<{
      head: number;
      room: string | null;
      nick: string | null;
      role: Role | null;
      since: number | null;
    }>(MEMBERSHIPS);
    const members: Array<{ room: string; user: string; role: Role; since: number }> = [];
    for (const { room, nick, role, since } of rows) {
      if (room !== null && nick !== null && role !== null) {
        members.push({ room, user: nick, role, since: Number(since) });
      }
    }
    return { head: rows[0]?.head ?? 0, members };
  }
}

function toInfo(row: RoomRow): RoomInfo {
  const { name, visibility, history, created_by: createdBy, created, members } = row;
  return { name, visibility, history, createdBy, created, members };
}
