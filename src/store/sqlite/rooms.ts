import type Database from 'better-sqlite3';
import type {
  EventId,
  HistoryMode,
  NewMemberChange,
  Role,
  StoredMemberChange,
  StoredMessage,
  Visibility,
} from '../../domain/events.js';
import {
  decideMembership,
  MAX_ROOMS_CREATED_PER_HOUR,
  type MembershipOutcome,
  WITHDRAWN,
} from '../../domain/room-rules.js';
import { COLUMNS, type Row, toMessage } from '../rows.js';
import { MAX_ROOM_LISTING, type Member, type RoomInfo, type RoomListing } from '../store.js';
import { insertAudit } from './audit.js';
import { OPEN } from './log.js';
import { SqliteAttachments } from './uploads.js';
import { SqliteWithheld } from './withheld.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface RoomRow {
  name: string;
  visibility: Visibility;
  history: HistoryMode;
  created_by: string;
  created: number;
  members: number;
  created_id: number;
}

type ListingRow = RoomRow & { role: Role | null; invited: number };

interface Page {
  viewer: string;
  room: string;
  before: number;
  limit: number;
  /** The id where the room's current life begins. */
  since: number;
}

const ROOM_COLUMNS =
  'r.name, r.visibility, r.history, r.created_by, r.created, r.members, r.created_id';

// Each arm of `listed` reads an index (the viewer's memberships, their invitations, and the
// public rooms with the most members first, of which at most the limit), so a viewer's
// listing costs what it returns, however many rooms others have. The viewer's own rooms (at
// most MAX_ROOMS_PER_USER) are never cut, and public rooms and invitations each by their own
// limit: others could otherwise push a user's rooms out with public rooms, or invitations,
// that sort first; and rooms with one member cannot push out rooms people share. CROSS JOIN
// keeps that order of the loops: SQLite's statistics may otherwise make it scan every room.
// An invitation from a user the viewer blocks is not listed (blocks-store.ts).
const NOT_BLOCKED = `NOT EXISTS (SELECT 1 FROM blocks b
  WHERE b.blocker = @viewer AND b.blocked = i.invited_by)`;
const LISTING = `
  WITH listed (name) AS (
    SELECT room FROM members WHERE nick = @viewer
    UNION SELECT room FROM (
      SELECT room FROM invites i WHERE nick = @viewer AND ${NOT_BLOCKED}
       ORDER BY room LIMIT ${MAX_ROOM_LISTING})
    UNION SELECT name FROM (
      SELECT name FROM rooms WHERE visibility = 'public'
       ORDER BY members DESC, name LIMIT ${MAX_ROOM_LISTING}))
  SELECT ${ROOM_COLUMNS}, m.role, i.nick IS NOT NULL AS invited
    FROM listed l CROSS JOIN rooms r ON r.name = l.name
    LEFT JOIN members m ON m.room = r.name AND m.nick = @viewer
    LEFT JOIN invites i ON i.room = r.name AND i.nick = @viewer AND ${NOT_BLOCKED}
   ORDER BY r.name`;

// Newest first, so that LIMIT keeps the page next to `before`; the caller reverses them.
const HISTORY_ALL = `
  SELECT ${COLUMNS} FROM messages
   WHERE recipient = @room AND kind = 'message' AND id < @before AND id >= @since
   ORDER BY id DESC LIMIT @limit`;
// Per span (a viewer has few in a room), the room's range newest first, both bounds in the
// index range as in since() (log.ts).
const HISTORY_SPANS = `
  SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')} FROM spans s
    JOIN messages m ON m.recipient = s.room
     AND m.id BETWEEN s.from_id AND min(ifnull(s.to_id, ${OPEN}), @before - 1)
   WHERE s.nick = @viewer AND s.room = @room AND s.from_id < @before AND m.kind = 'message'
     AND s.from_id >= @since
   ORDER BY m.id DESC LIMIT @limit`;

// historyAfter's pages: the same two, going forward, oldest first.
const HISTORY_ALL_AFTER = `
  SELECT ${COLUMNS} FROM messages
   WHERE recipient = @room AND kind = 'message' AND id > @after AND id >= @since
   ORDER BY id LIMIT @limit`;
const HISTORY_SPANS_AFTER = `
  SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')} FROM spans s
    JOIN messages m ON m.recipient = s.room
     AND m.id BETWEEN max(s.from_id, @after + 1) AND ifnull(s.to_id, ${OPEN})
   WHERE s.nick = @viewer AND s.room = @room AND ifnull(s.to_id, ${OPEN}) > @after
     AND m.kind = 'message' AND s.from_id >= @since
   ORDER BY m.id LIMIT @limit`;

/**
 * The rooms of SqliteStore: membership changes, decided and written inside the store's write
 * transaction, and the reads of rooms, members and room history. Reads are synchronous: the
 * store flushes its queued writes before calling them.
 */
export class SqliteRooms {
  private readonly selectRoom: Statement<[string], RoomRow>;
  private readonly selectListing: Statement<[{ viewer: string }], ListingRow>;
  private readonly selectRole: Statement<[string, string], { role: Role }>;
  private readonly countRooms: Statement<[string], { n: number }>;
  private readonly countInvites: Statement<[string], { n: number }>;
  private readonly countOwners: Statement<[string], { n: number }>;
  private readonly selectInvited: Statement<[string, string], { x: number }>;
  private readonly selectOldestInvite: Statement<[string], { room: string; inviter: string }>;
  private readonly selectCreates: Statement<[string], { ts: number }>;
  private readonly selectWithdrawn: Statement<[string, string, number], { nick: string }>;
  private readonly deleteRoom: Statement<[string]>;
  private readonly attachments: SqliteAttachments;
  private readonly selectMembers: Statement<[string], Member>;
  private readonly selectAll: Statement<
    [],
    { room: string; user: string; role: Role; since: EventId }
  >;
  private readonly selectHistoryAll: Statement<[Page], Row>;
  private readonly selectHistorySpans: Statement<[Page], Row>;
  private readonly selectAfterAll: Statement<[AfterPage], Row>;
  private readonly selectAfterSpans: Statement<[AfterPage], Row>;
  private readonly insertChange: Statement<
    [number, string, string, string, string, Role | null, number, number]
  >;
  private readonly withheld: SqliteWithheld;
  private readonly insertRoom: Statement<[string, Visibility, HistoryMode, string, number, number]>;
  private readonly countMembers: Statement<[number, string]>;
  private readonly insertMember: Statement<[string, string, Role, number]>;
  private readonly updateMember: Statement<[Role, string, string]>;
  private readonly deleteMember: Statement<[string, string]>;
  private readonly insertInvite: Statement<[string, string, string, number]>;
  private readonly deleteInvite: Statement<[string, string]>;
  private readonly openSpan: Statement<[string, string, number]>;
  private readonly closeSpan: Statement<[number, string, string]>;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(private readonly db: Database.Database) {
    this.withheld = new SqliteWithheld(db);
    this.selectRoom = db.prepare(`SELECT ${ROOM_COLUMNS} FROM rooms r WHERE r.name = ?`);
    this.selectListing = db.prepare(LISTING);
    this.selectRole = db.prepare('SELECT role FROM members WHERE room = ? AND nick = ?');
    this.countRooms = db.prepare('SELECT count(*) AS n FROM members WHERE nick = ?');
    this.countInvites = db.prepare('SELECT count(*) AS n FROM invites WHERE nick = ?');
    this.countOwners = db.prepare(
      "SELECT count(*) AS n FROM members WHERE room = ? AND role = 'owner'",
    );
    this.selectInvited = db.prepare('SELECT 1 AS x FROM invites WHERE room = ? AND nick = ?');
    this.selectOldestInvite = db.prepare(
      `SELECT room, coalesce(invited_by, nick) AS inviter FROM invites WHERE nick = ?
        ORDER BY invited_id LIMIT 1`,
    );
    this.selectCreates = db.prepare(
      `SELECT ts FROM messages WHERE sender = ? AND kind = 'member' AND action = 'create'
        ORDER BY id DESC LIMIT ${MAX_ROOMS_CREATED_PER_HOUR}`,
    );
    // The invitations a change withdraws: those its user gave, or all when it closes
    // the room.
    this.selectWithdrawn = db.prepare(
      'SELECT nick FROM invites WHERE room = ? AND (invited_by = ? OR ?) ORDER BY nick',
    );
    this.deleteRoom = db.prepare('DELETE FROM rooms WHERE name = ? AND members = 0');
    this.attachments = new SqliteAttachments(db);
    this.selectMembers = db.prepare(
      'SELECT nick AS user, role FROM members WHERE room = ? ORDER BY joined',
    );
    this.selectAll = db.prepare('SELECT room, nick AS user, role, joined AS since FROM members');
    this.selectHistoryAll = db.prepare(HISTORY_ALL);
    this.selectHistorySpans = db.prepare(HISTORY_SPANS);
    this.selectAfterAll = db.prepare(HISTORY_ALL_AFTER);
    this.selectAfterSpans = db.prepare(HISTORY_SPANS_AFTER);
    this.insertChange = db.prepare(
      `INSERT INTO messages (kind, ts, sender, recipient, text, actor, action, role, quiet,
         withheld) VALUES ('member', ?, ?, ?, '', ?, ?, ?, ?, ?)`,
    );
    this.insertRoom = db.prepare(
      `INSERT INTO rooms (name, visibility, history, created_by, created, created_id)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.countMembers = db.prepare('UPDATE rooms SET members = members + ? WHERE name = ?');
    this.insertMember = db.prepare(
      'INSERT INTO members (room, nick, role, joined) VALUES (?, ?, ?, ?)',
    );
    this.updateMember = db.prepare('UPDATE members SET role = ? WHERE room = ? AND nick = ?');
    this.deleteMember = db.prepare('DELETE FROM members WHERE room = ? AND nick = ?');
    this.insertInvite = db.prepare(
      'INSERT INTO invites (room, nick, invited_by, invited_id) VALUES (?, ?, ?, ?)',
    );
    this.deleteInvite = db.prepare('DELETE FROM invites WHERE room = ? AND nick = ?');
    this.openSpan = db.prepare('INSERT INTO spans (room, nick, from_id) VALUES (?, ?, ?)');
    this.closeSpan = db.prepare(
      'UPDATE spans SET to_id = ? WHERE nick = ? AND room = ? AND to_id IS NULL',
    );
  }

  /**
   * Decides `change` (room-rules.ts) against the room's state and writes it: the log entries
   * (the invitations it withdraws, then the change), the room, the member, the invitation and
   * the spans; a change that closes the room removes it. Must run inside the write
   * transaction (IMMEDIATE, so the state read cannot change before the write). Returns none
   * when the change changes nothing; throws the rules' ChatError before writing anything.
   */
  append(change: NewMemberChange): StoredMemberChange[] {
    const { room, user, by } = change;
    const found = this.selectRoom.get(room);
    const userRole = this.role(room, user);
    const invited = this.selectInvited.get(room, user) !== undefined;
    const oldest = this.selectOldestInvite.get(user);
    const outcome = decideMembership(change, {
      room: found && { visibility: found.visibility, history: found.history },
      userRole,
      byRole: by === user ? userRole : this.role(room, by),
      invited,
      members: found?.members ?? 0,
      userRooms: this.countRooms.get(user)?.n ?? 0,
      userInvites: this.countInvites.get(user)?.n ?? 0,
      oldestInvite: oldest ? { room: oldest.room, by: oldest.inviter } : null,
      owners: this.countOwners.get(room)?.n ?? 0,
      recentCreates: this.selectCreates.all(user).map((r) => r.ts),
    });
    if (!outcome) return [];
    const logged: StoredMemberChange[] = [];
    if (outcome.lapses || outcome.closes) {
      for (const { nick } of this.selectWithdrawn.all(room, user, outcome.closes ? 1 : 0)) {
        const withdrawal = { ...change, action: 'remove' as const, user: nick, by: user };
        logged.push(this.write(withdrawal, WITHDRAWN, null, true));
      }
    }
    if (outcome.replaces) {
      const replaced = { ...change, ...outcome.replaces, action: 'remove' as const };
      logged.push(this.write(replaced, WITHDRAWN, null, true));
    }
    logged.push(this.write(change, outcome, userRole, invited));
    if (change.audit) insertAudit(this.db, change.audit);
    if (outcome.closes) {
      this.deleteRoom.run(room);
      this.attachments.dropRoomFiles(room, change.ts);
    }
    return logged;
  }

  /** Logs a decided change and writes its outcome; `userRole` and `invited` are from before. */
  private write(
    change: NewMemberChange,
    outcome: MembershipOutcome,
    userRole: Role | null,
    invited: boolean,
  ): StoredMemberChange {
    const { room, user, by, action, ts } = change;
    const { role, quiet } = outcome;
    // An invitation (or its withdrawal) by someone the user blocks never reaches them
    // (blocks-store.ts): a change of a non-member made by another, and still no member after.
    const held = userRole === null && role === null && by !== user && this.withheld.of(by, user);
    const { lastInsertRowid } = this.insertChange.run(
      ts,
      user,
      room,
      by,
      action,
      role,
      quiet ? 1 : 0,
      held ? 1 : 0,
    );
    const id = Number(lastInsertRowid);
    if (outcome.create) {
      const { visibility, history } = change.settings ?? {
        visibility: 'public',
        history: 'joined',
      };
      this.insertRoom.run(room, visibility, history, user, ts, id);
    }
    if (role !== null && userRole === null) {
      this.insertMember.run(room, user, role, id);
      this.countMembers.run(1, room);
      this.openSpan.run(room, user, id);
    } else if (role !== null && role !== userRole) {
      this.updateMember.run(role, room, user);
    } else if (role === null && userRole !== null) {
      this.deleteMember.run(room, user);
      this.countMembers.run(-1, room);
      this.closeSpan.run(id, user, room);
    }
    if (outcome.invited && !invited) this.insertInvite.run(room, user, by, id);
    else if (!outcome.invited && invited) this.deleteInvite.run(room, user);
    return {
      id,
      room,
      user,
      by,
      action,
      ts,
      role,
      quiet,
      ...(held && { withheld: true as const }),
    };
  }

  /** See Store.room. */
  room(name: string): RoomInfo | undefined {
    const row = this.selectRoom.get(name);
    return row && toInfo(row);
  }

  /** See Store.rooms. */
  rooms(viewer: string): RoomListing[] {
    return this.selectListing
      .all({ viewer })
      .map((row) => ({ ...toInfo(row), role: row.role, invited: row.invited === 1 }));
  }

  /** See Store.role. */
  role(room: string, user: string): Role | null {
    return this.selectRole.get(room, user)?.role ?? null;
  }

  /** See Store.members. */
  members(room: string): Member[] {
    return this.selectMembers.all(room);
  }

  /** Every room's members; the caller reads the head in the same transaction. */
  all(): Array<{ room: string; user: string; role: Role; since: EventId }> {
    return this.selectAll.all();
  }

  /** See Store.history, for a room. */
  history(viewer: string, room: string, before: EventId, limit: number): StoredMessage[] {
    if (limit <= 0) return [];
    const found = this.selectRoom.get(room);
    if (!found) return [];
    const page = { viewer, room, before, limit, since: found.created_id };
    const all = found.history === 'all';
    const rows = (all ? this.selectHistoryAll : this.selectHistorySpans).all(page);
    return rows.reverse().map(toMessage);
  }

  /** See Store.historyAfter; the same rule as `history`. */
  historyAfter(viewer: string, room: string, after: EventId, limit: number): StoredMessage[] {
    if (limit <= 0) return [];
    const found = this.selectRoom.get(room);
    if (!found) return [];
    const page: AfterPage = { viewer, room, after, limit, since: found.created_id };
    const select = found.history === 'all' ? this.selectAfterAll : this.selectAfterSpans;
    return select.all(page).map(toMessage);
  }
}

/** A page of a room's history going forward (Store.historyAfter), run by SqliteRooms. */
interface AfterPage {
  viewer: string;
  room: string;
  after: number;
  limit: number;
  since: number;
}

function toInfo(row: RoomRow): RoomInfo {
  const { name, visibility, history, created_by: createdBy, created, members } = row;
  return { name, visibility, history, createdBy, created, members };
}
