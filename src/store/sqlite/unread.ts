import type Database from 'better-sqlite3';
import { EVERYONE } from '../../domain/events.js';
import { MAX_UNREAD_COUNT, UNREAD_SCAN, type UnreadCount } from '../notify-store.js';
import { BASELINE } from '../rows.js';
import { OPEN } from './log.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** The parameters of the statements below. */
interface Scope {
  me: string;
  /** The viewer's baseline: no marker of theirs is below it. */
  base: number;
  /** DMs: their registration point or baseline, whichever is higher. Else unused. */
  floor: number;
  /** Rooms and `all`: the conversation. */
  conv: string;
  /** Rooms and `all`: ids at or below it are read, or from an earlier life of the room. */
  above: number;
  /** The most rows a count counts. */
  cap: number;
}

// Every statement reads a window: the newest UNREAD_SCAN rows of a conversation (DMs: of all
// of the viewer's, by the recipient index) above what is read, newest first, then filters it
// (notify-store.ts: own, deleted, withheld (blocks-store.ts), other kinds, outside the
// viewer's spans) and stops at `cap`
// counted rows. The filters sit outside the window, so rows that do not count (a flood of
// deleted messages, receipts) still cost at most the window.
const WINDOW = (where: string) => `
  SELECT id, sender, kind, deleted, withheld FROM messages
   WHERE ${where} ORDER BY id DESC LIMIT ${UNREAD_SCAN}`;
const DM_WINDOW = WINDOW('recipient = @me AND id > @floor');
// A peer's marker, else the baseline (a marker is never below it).
const PEER_MARKER = 'max(ifnull(rm.up_to, @base), @base)';
const DM_ROWS = `
  FROM (${DM_WINDOW}) w
  LEFT JOIN read_markers rm ON rm.nick = @me AND rm.conversation = w.sender
 WHERE w.kind = 'message' AND w.deleted = 0 AND w.withheld = 0 AND w.sender <> @me
   AND w.id > ${PEER_MARKER}`;
// Every DM count in one pass: one window, grouped by sender.
const DIRECT_COUNTS = `
  SELECT w.sender AS conv, ${PEER_MARKER} AS marker, min(count(*), ${MAX_UNREAD_COUNT}) AS n
  ${DM_ROWS} GROUP BY w.sender`;
const DIRECT_TOTAL = `SELECT count(*) AS n FROM (SELECT 1 ${DM_ROWS} LIMIT @cap)`;
// A room counts within the viewer's spans (few, by primary key).
const ROOM_COUNT = `
  SELECT count(*) AS n FROM (SELECT 1 FROM (${WINDOW('recipient = @conv AND id > @above')}) m
   WHERE m.kind = 'message' AND m.deleted = 0 AND m.sender <> @me
     AND EXISTS (SELECT 1 FROM spans s WHERE s.nick = @me AND s.room = @conv
                    AND s.from_id <= m.id AND ifnull(s.to_id, ${OPEN}) >= m.id)
   LIMIT @cap)`;
const BROADCAST_COUNT = `
  SELECT count(*) AS n FROM (SELECT 1 FROM (${WINDOW(`recipient = '${EVERYONE}' AND id > @above`)}) m
   WHERE m.kind = 'message' AND m.deleted = 0 AND m.sender <> @me LIMIT @cap)`;
// Every mention count in one pass over the viewer's newest UNREAD_SCAN mention rows, by
// conversation: a DM's is its other party (the target's sender: a DM mentions its recipient
// alone), a room's or `all`'s the recipient. A target counts above the conversation's marker
// and floor (a DM: the registration point; a room: its current life), once however many rows
// (its own, its edits') name it. A mention row exists only for a user who saw the message
// (mentions.ts); the caller keeps the conversations that have unread messages.
const MENTION_COUNTS = `
  SELECT x.conv, count(DISTINCT x.target) AS n FROM (
    SELECT CASE WHEN r.recipient = @me THEN t.sender ELSE r.recipient END AS conv,
           r.target, r.recipient
      FROM (SELECT target, recipient FROM mention_rows WHERE nick = @me AND event_id > @base
             ORDER BY event_id DESC LIMIT ${UNREAD_SCAN}) r
      JOIN messages t ON t.id = r.target
     WHERE t.deleted = 0 AND t.sender <> @me) x
  LEFT JOIN read_markers rm ON rm.nick = @me AND rm.conversation = x.conv
 WHERE x.target > ${PEER_MARKER}
   AND x.target > CASE WHEN x.recipient = @me THEN @floor
                       ELSE ifnull((SELECT created_id FROM rooms WHERE name = x.recipient), 1) - 1
                  END
 GROUP BY x.conv`;

/**
 * The unread counts of SqliteNotify (NotifyStore.unread, unreadTotal), bounded by the windows
 * of UNREAD_SCAN rows: a call reads at most one window for the DMs, one per room the viewer is
 * a member of (at most MAX_ROOMS_PER_USER) and one for `all`, plus one of mention rows. Runs
 * inside the caller's read transaction, one snapshot.
 */
export class SqliteUnread {
  private readonly selectBase: Statement<[string], { up_to: number }>;
  private readonly selectMarkers: Statement<[string], { conversation: string; up_to: number }>;
  private readonly selectRooms: Statement<[string], { room: string; created_id: number }>;
  private readonly directCounts: Statement<[Scope], { conv: string; marker: number; n: number }>;
  private readonly directTotal: Statement<[Scope], { n: number }>;
  private readonly roomCount: Statement<[Scope], { n: number }>;
  private readonly broadcastCount: Statement<[Scope], { n: number }>;
  private readonly mentionCounts: Statement<[Scope], { conv: string; n: number }>;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(
    db: Database.Database,
    private readonly registeredAt: (nick: string) => number,
  ) {
    this.selectBase = db.prepare(
      `SELECT up_to FROM read_markers WHERE nick = ? AND conversation = '${BASELINE}'`,
    );
    this.selectMarkers = db.prepare('SELECT conversation, up_to FROM read_markers WHERE nick = ?');
    this.selectRooms = db.prepare(
      'SELECT m.room, r.created_id FROM members m JOIN rooms r ON r.name = m.room WHERE m.nick = ?',
    );
    this.directCounts = db.prepare(DIRECT_COUNTS);
    this.directTotal = db.prepare(DIRECT_TOTAL);
    this.roomCount = db.prepare(ROOM_COUNT);
    this.broadcastCount = db.prepare(BROADCAST_COUNT);
    this.mentionCounts = db.prepare(MENTION_COUNTS);
  }

  /** `me`'s unread counts (NotifyStore.unread), after their baseline is set; unsorted. */
  counts(me: string): UnreadCount[] {
    const scope = this.scope(me);
    if (scope === undefined) return [];
    const counts: UnreadCount[] = [];
    for (const { conv, marker, n } of this.directCounts.all(scope))
      counts.push({ with: conv, marker, unread: n, mentions: 0 });
    for (const g of this.groups(scope)) {
      const unread = g.statement.get(g.scope)?.n ?? 0;
      if (unread > 0) counts.push({ with: g.scope.conv, marker: g.marker, unread, mentions: 0 });
    }
    if (counts.length === 0) return counts;
    const mentions = new Map(this.mentionCounts.all(scope).map((r) => [r.conv, r.n]));
    // Each is counted in its own window: never report more mentions than unread messages.
    return counts.map((c) => ({ ...c, mentions: Math.min(mentions.get(c.with) ?? 0, c.unread) }));
  }

  /** The sum of `me`'s counts, at most MAX_UNREAD_COUNT (NotifyStore.unreadTotal). */
  total(me: string): number {
    const scope = this.scope(me);
    if (scope === undefined) return 0;
    // Each count reads only as far as the total still needs.
    let total = this.directTotal.get(scope)?.n ?? 0;
    for (const g of this.groups(scope)) {
      if (total >= MAX_UNREAD_COUNT) break;
      total += g.statement.get({ ...g.scope, cap: MAX_UNREAD_COUNT - total })?.n ?? 0;
    }
    return total;
  }

  /** The statements' parameters for `me`, undefined before their baseline exists. */
  private scope(me: string): Scope | undefined {
    const base = this.selectBase.get(me)?.up_to;
    if (base === undefined) return undefined;
    const floor = Math.max(base, this.registeredAt(me));
    return { me, base, floor, conv: '', above: 0, cap: MAX_UNREAD_COUNT };
  }

  /** The rooms `scope.me` is a member of, then `all`: each with its marker and count. */
  private groups(scope: Scope): Group[] {
    const markers = new Map(this.selectMarkers.all(scope.me).map((r) => [r.conversation, r.up_to]));
    const markerOf = (conv: string) => Math.max(markers.get(conv) ?? scope.base, scope.base);
    const groups: Group[] = this.selectRooms.all(scope.me).map(({ room, created_id }) => {
      const marker = markerOf(room);
      const above = Math.max(marker, created_id - 1);
      return { marker, statement: this.roomCount, scope: { ...scope, conv: room, above } };
    });
    const marker = markerOf(EVERYONE);
    const all = { ...scope, conv: EVERYONE, above: marker };
    groups.push({ marker, statement: this.broadcastCount, scope: all });
    return groups;
  }
}

/** A room or `all`, as SqliteUnread counts it. */
interface Group {
  readonly marker: number;
  readonly statement: Statement<[Scope], { n: number }>;
  readonly scope: Scope;
}

/** The statements' text, for the test of their plans (test/unread-cost.test.ts). */
export const UNREAD_SQL = {
  DIRECT_COUNTS,
  DIRECT_TOTAL,
  ROOM_COUNT,
  BROADCAST_COUNT,
  MENTION_COUNTS,
} as const;
