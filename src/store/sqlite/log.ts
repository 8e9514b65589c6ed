import type Database from 'better-sqlite3';
import {
  EVERYONE,
  type EventId,
  type LoggedEvent,
  type StoredMessage,
} from '../../domain/events.js';
import { COLUMNS, type Row, toEvent, toMessage } from '../rows.js';
import type { RetentionPolicy } from '../store.js';
import { LimitedQuery } from './limited.js';
import type { SqliteReactions } from './reactions.js';
import { fromRaw, type RawRow } from './rows.js';
import type { SqliteSearch } from './search.js';
import { SqliteAttachments } from './uploads.js';

/**
 * Most rows one prune transaction deletes. Between chunks the write lock is released and the
 * event loop turns, so appends are not held up for the whole of a large prune.
 */
const PRUNE_CHUNK = 10_000;

interface Page {
  viewer: string;
  /** The viewer's registration point (store.ts), SqliteAccounts.registeredAt. */
  registered: number;
  before: number;
  limit: number;
}

interface SinceParams {
  after: number;
  viewer: string;
  /** The viewer's registration point (store.ts), SqliteAccounts.registeredAt. */
  registered: number;
}

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** The id no span reaches: an open span's end. */
export const OPEN = '9223372036854775807';

/** Rows by one sender that are not a room's: the WHERE of the partial index messages_sender. */
export const NOT_ROOM = "substr(recipient, 1, 1) <> '#'";

// Five disjoint arms (a viewer is never `all` and has no `#`): broadcasts, entries to the
// viewer, the viewer's entries to nicks and all, the viewer's own membership changes that
// the last arm does not yield (quiet ones, invitations, removals of an invitation), and the
// room entries one of the viewer's spans covers. The first four each read an index in id
// order, so SQLite merges them and stops at the limit instead of collecting and sorting every
// match. The last reads each of the viewer's spans (a viewer has few) in id order from the
// recipient index, with both bounds in the index range so that a resume does not step over a
// span's older rows; SQLite sorts that arm, but leaves a span's range once it holds `limit`
// smaller rows. Receipts are never broadcasts, whatever their recipient. What was addressed
// to the viewer, and their own membership changes, count only above their registration point
// (store.ts): for an edit, a delete or a receipt, up_to is the message it is about. What is
// withheld from the viewer (they blocked its sender, blocks-store.ts) is never theirs, and in
// rooms the reactions of users the viewer blocks are left out.
const PEOPLE_ARMS = `
  SELECT ${COLUMNS} FROM messages
   WHERE recipient = '${EVERYONE}' AND kind <> 'read' AND id > @after
  UNION ALL
  SELECT ${COLUMNS} FROM messages WHERE recipient = @viewer AND id > @after
     AND coalesce(up_to, id) > @registered AND withheld = 0
  UNION ALL
  SELECT ${COLUMNS} FROM messages
   WHERE sender = @viewer AND ${NOT_ROOM} AND id > @after AND recipient <> @viewer
     AND NOT (recipient = '${EVERYONE}' AND kind <> 'read')`;
const ROOM_ARMS = `
  SELECT ${COLUMNS} FROM messages m
   WHERE sender = @viewer AND kind = 'member' AND id > @after AND id > @registered
     AND withheld = 0
     AND (quiet = 1 OR NOT EXISTS (
       SELECT 1 FROM spans s WHERE s.nick = @viewer AND s.room = m.recipient
          AND s.from_id <= m.id AND ifnull(s.to_id, ${OPEN}) >= m.id))
  UNION ALL
  SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')} FROM spans s
    JOIN messages m ON m.recipient = s.room
     AND m.id > max(s.from_id - 1, @after) AND m.id <= ifnull(s.to_id, ${OPEN})
   WHERE s.nick = @viewer AND ifnull(s.to_id, ${OPEN}) > @after AND m.quiet = 0
     AND (m.kind NOT IN ('edit', 'react') OR m.up_to >= s.from_id)
     AND (m.kind <> 'react' OR NOT EXISTS (SELECT 1 FROM blocks b
       WHERE b.blocker = @viewer AND b.blocked = m.sender))`;
const SINCE = `${PEOPLE_ARMS}\n  UNION ALL${ROOM_ARMS}\n  ORDER BY id LIMIT_N`;
// A viewer who was never in a room nor invited to one (most, in a chat without rooms) needs
// only the first three arms: the two others cost as much again per resume.
const SINCE_PEOPLE = `${PEOPLE_ARMS}\n  ORDER BY id LIMIT_N`;
const IN_ROOMS = `
  SELECT EXISTS (SELECT 1 FROM spans WHERE nick = ?)
      OR EXISTS (SELECT 1 FROM messages WHERE sender = ? AND kind = 'member') AS yes`;
// Newest first, so that LIMIT keeps the page next to `before`; the caller reverses it.
// NOT_ROOM lets SQLite pick the sender index when it is the narrower one.
const DIRECT = `
  SELECT ${COLUMNS} FROM messages
   WHERE recipient = @peer AND sender = @viewer AND ${NOT_ROOM} AND kind = 'message'
     AND id < @before
  UNION ALL
  SELECT ${COLUMNS} FROM messages
   WHERE recipient = @viewer AND sender = @peer AND ${NOT_ROOM} AND kind = 'message'
     AND id < @before AND id > @registered AND withheld = 0
  ORDER BY id DESC LIMIT @limit`;

// historyAfter's pages: the same arms going forward, oldest first.
const DIRECT_AFTER = `
  SELECT ${COLUMNS} FROM messages
   WHERE recipient = @peer AND sender = @viewer AND ${NOT_ROOM} AND kind = 'message'
     AND id > @after
  UNION ALL
  SELECT ${COLUMNS} FROM messages
   WHERE recipient = @viewer AND sender = @peer AND ${NOT_ROOM} AND kind = 'message'
     AND id > @after AND id > @registered AND withheld = 0
  ORDER BY id LIMIT @limit`;

interface AfterPage {
  viewer: string;
  registered: number;
  after: number;
  limit: number;
}

/**
 * The reads and the retention of SqliteStore's log. Reads are synchronous: the store flushes
 * its queued appends before calling them.
 */
export class SqliteLog {
  private readonly selectHead: Statement<[], { id: number }>;
  private readonly selectPruned: Statement<[], { value: number }>;
  private readonly selectSince: LimitedQuery<[SinceParams], RawRow>;
  private readonly selectSincePeople: LimitedQuery<[SinceParams], RawRow>;
  private readonly selectInRooms: Statement<[string, string], { yes: number }>;
  private readonly selectAll: LimitedQuery<[number], RawRow>;
  private readonly selectBroadcasts: Statement<[number, number], Row>;
  private readonly selectNotes: Statement<[Page], Row>;
  private readonly selectDirect: Statement<[Page & { peer: string }], Row>;
  private readonly selectMessage: Statement<[number], Row>;
  private readonly selectBroadcastsAfter: Statement<[number, number], Row>;
  private readonly selectNotesAfter: Statement<[AfterPage], Row>;
  private readonly selectDirectAfter: Statement<[AfterPage & { peer: string }], Row>;
  private readonly selectFirstYoung: Statement<[number], { id: number }>;
  private readonly selectNthNewest: Statement<[number], { id: number }>;
  private readonly selectChunk: Statement<[number, number], { last: number | null }>;
  private readonly deleteMailed: Statement<[number]>;
  private readonly deleteMentions: Statement<[number]>;
  private readonly deleteThrough: Statement<[number]>;
  private readonly recordPruned: Statement<[number]>;
  private readonly pruneTx: (below: EventId) => number;
  private readonly attachments: SqliteAttachments;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(
    private readonly db: Database.Database,
    private readonly registeredAt: (nick: string) => number,
    private readonly search: SqliteSearch,
    private readonly reactions: SqliteReactions,
  ) {
    this.selectHead = db.prepare('SELECT coalesce(max(id), 0) AS id FROM messages');
    this.selectPruned = db.prepare("SELECT value FROM meta WHERE key = 'pruned_through'");
    this.selectSince = new LimitedQuery(db, SINCE, true);
    this.selectSincePeople = new LimitedQuery(db, SINCE_PEOPLE, true);
    this.selectInRooms = db.prepare(IN_ROOMS);
    this.selectAll = new LimitedQuery(
      db,
      `SELECT ${COLUMNS} FROM messages WHERE id > ? ORDER BY id LIMIT_N`,
      true,
    );
    this.selectBroadcasts = db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE recipient = '${EVERYONE}' AND kind = 'message'
          AND id < ? ORDER BY id DESC LIMIT ?`,
    );
    this.selectNotes = db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE recipient = @viewer AND sender = @viewer
          AND kind = 'message' AND id < @before AND id > @registered
        ORDER BY id DESC LIMIT @limit`,
    );
    this.selectDirect = db.prepare(DIRECT);
    this.selectBroadcastsAfter = db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE recipient = '${EVERYONE}' AND kind = 'message'
          AND id > ? ORDER BY id LIMIT ?`,
    );
    this.selectNotesAfter = db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE recipient = @viewer AND sender = @viewer
          AND kind = 'message' AND id > @after AND id > @registered
        ORDER BY id LIMIT @limit`,
    );
    this.selectDirectAfter = db.prepare(DIRECT_AFTER);
    this.selectMessage = db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE id = ? AND kind = 'message'`,
    );
    // Scans from the oldest row and stops at the first young one: cheap when run regularly.
    this.selectFirstYoung = db.prepare('SELECT id FROM messages WHERE ts >= ? ORDER BY id LIMIT 1');
    this.selectNthNewest = db.prepare('SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?');
    this.selectChunk = db.prepare(
      'SELECT max(id) AS last FROM (SELECT id FROM messages WHERE id < ? ORDER BY id LIMIT ?)',
    );
    this.deleteMailed = db.prepare('DELETE FROM offline WHERE message_id <= ?');
    this.deleteMentions = db.prepare('DELETE FROM mention_rows WHERE event_id <= ?');
    this.deleteThrough = db.prepare('DELETE FROM messages WHERE id <= ?');
    this.recordPruned = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('pruned_through', ?)
       ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
    );
    this.attachments = new SqliteAttachments(db);
    const prune = db.transaction((below: EventId) => this.pruneChunk(below));
    this.pruneTx = (below) => prune.immediate(below);
  }

  /** The highest id in the log; prune keeps the newest row, so it is the last id assigned. */
  head(): EventId {
    return this.selectHead.get()?.id ?? 0;
  }

  /** See Store.prunedThrough. */
  prunedThrough(): EventId {
    return this.selectPruned.get()?.value ?? 0;
  }

  /** See Store.since. */
  since(viewer: string, after: EventId, limit: number): LoggedEvent[] {
    // LimitedQuery takes positive limits only; none asked for is none read.
    if (limit <= 0) return [];
    const rooms = this.selectInRooms.get(viewer, viewer)?.yes === 1;
    const select = rooms ? this.selectSince : this.selectSincePeople;
    const registered = this.registeredAt(viewer);
    return select.all(limit, { after, viewer, registered }).map((r) => toEvent(fromRaw(r)));
  }

  /** See Store.log. */
  all(after: EventId, limit: number): LoggedEvent[] {
    if (limit <= 0) return [];
    return this.selectAll.all(limit, after).map((r) => toEvent(fromRaw(r)));
  }

  /** See Store.history, for a peer that is not a room (see SqliteRooms.history). */
  history(viewer: string, peer: string, before: EventId, limit: number): StoredMessage[] {
    if (limit <= 0) return [];
    let rows: Row[];
    if (peer === EVERYONE) rows = this.selectBroadcasts.all(before, limit);
    else {
      const page = { viewer, before, limit, registered: this.registeredAt(viewer) };
      rows =
        peer === viewer ? this.selectNotes.all(page) : this.selectDirect.all({ ...page, peer });
    }
    return rows.reverse().map(toMessage);
  }

  /** See Store.historyAfter, for a peer that is not a room (see SqliteRooms.historyAfter). */
  historyAfter(viewer: string, peer: string, after: EventId, limit: number): StoredMessage[] {
    if (limit <= 0) return [];
    if (peer === EVERYONE) return this.selectBroadcastsAfter.all(after, limit).map(toMessage);
    const page = { viewer, after, limit, registered: this.registeredAt(viewer) };
    const rows =
      peer === viewer
        ? this.selectNotesAfter.all(page)
        : this.selectDirectAfter.all({ ...page, peer });
    return rows.map(toMessage);
  }

  /** See Store.message. */
  message(id: EventId): StoredMessage | undefined {
    const row = this.selectMessage.get(id);
    return row && toMessage(row);
  }

  /**
   * Removes the oldest entries up to the first one the policy keeps: with an age bound, that is
   * the first entry not older than it, so an old entry logged after a newer one (the clock
   * stepped back) waits for a later prune and `prunedThrough` stays a clean cut. Deletes in
   * chunks of PRUNE_CHUNK, each in its own transaction; a close() between chunks ends it.
   */
  async prune(policy: RetentionPolicy): Promise<number> {
    const below = this.pruneBound(policy);
    let removed = 0;
    while (below > 0 && this.db.open) {
      const n = this.pruneTx(below);
      removed += n;
      if (n < PRUNE_CHUNK) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return removed;
  }

  /** The id below which `policy` removes entries, never above the newest; 0 for none. */
  private pruneBound(policy: RetentionPolicy): EventId {
    const newest = this.head();
    let below = 0;
    if (policy.olderThan > 0) below = this.selectFirstYoung.get(policy.olderThan)?.id ?? newest;
    if (policy.keep > 0) {
      below = Math.max(below, this.selectNthNewest.get(policy.keep - 1)?.id ?? 0);
    }
    return Math.min(below, newest);
  }

  /** Deletes up to PRUNE_CHUNK of the oldest entries below `below`; runs in a transaction. */
  private pruneChunk(below: EventId): number {
    const last = this.selectChunk.get(below, PRUNE_CHUNK)?.last;
    if (last === null || last === undefined) return 0;
    // Mailbox rows first: they reference the messages (foreign key).
    this.deleteMailed.run(last);
    this.deleteMentions.run(last);
    this.search.dropThrough(last);
    this.attachments.dropThroughId(last, Date.now());
    this.reactions.dropThrough(last);
    const { changes } = this.deleteThrough.run(last);
    this.recordPruned.run(last);
    return changes;
  }
}
