import { setImmediate as turn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { EVERYONE, type EventId, isRoom, type StoredMessage } from '../../domain/events.js';
import { matchesAll, type SearchRequest, type SearchTerm } from '../../domain/search.js';
import {
  audienceTokens,
  recipientToken,
  roomToken,
  searchTokens,
  senderToken,
  WITHHELD_TOKEN,
} from '../../domain/search-text.js';
import { COLUMNS, type Row, toMessage } from '../rows.js';
import type { SearchPage } from '../store.js';
import { NOT_ROOM, OPEN } from './log.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/**
 * Messages the background indexer reads and indexes per transaction (see backfill): about
 * 3.5 ms of work on this box (500 took 18 ms), so a request waits at most that long for it.
 */
export const BACKFILL_CHUNK = 100;

/** The meta key of the highest id the backfill has still to index; absent when done. */
const BACKFILL_KEY = 'search_backfill';

// Who sees a message, restated from the history and replay queries (log.ts, rooms.ts; the
// rule is in store.ts and domain/visibility.ts): a broadcast; a direct message the viewer
// sent, or one sent to them above their registration point (notes to self are both, and go
// by the second arm, as the notes page does); a room's message that one of the viewer's spans
// covers; and, in a room whose history mode is `all`, any message of its current life while
// the viewer is a member. Deleted messages are not in the index, and not shown either way.
const VISIBLE = `
  m.kind = 'message' AND m.deleted = 0 AND (
       m.recipient = '${EVERYONE}'
    OR (m.sender = @viewer AND m.recipient <> @viewer AND ${NOT_ROOM.replace('recipient', 'm.recipient')})
    OR (m.recipient = @viewer AND m.id > @registered AND m.withheld = 0)
    OR (substr(m.recipient, 1, 1) = '#' AND (
         EXISTS (SELECT 1 FROM spans s WHERE s.nick = @viewer AND s.room = m.recipient
                    AND s.from_id <= m.id AND ifnull(s.to_id, ${OPEN}) >= m.id)
      OR EXISTS (SELECT 1 FROM rooms r JOIN members mb ON mb.room = r.name AND mb.nick = @viewer
                  WHERE r.name = m.recipient AND r.history = 'all' AND r.created_id <= m.id))))`;

// The filters; a NULL parameter turns one off. Nicks compare with ASCII letters folded, as
// accounts do (NOCASE). A conversation is a room, everyone, or the pair of the viewer and a
// nick (their own nick: notes to self).
const FILTERS = `
  AND (@from IS NULL OR m.sender = @from COLLATE NOCASE)
  AND (@room IS NULL OR m.recipient = @room)
  AND (@peer IS NULL
    OR (m.sender = @viewer AND m.recipient = @peer COLLATE NOCASE)
    OR (m.sender = @peer COLLATE NOCASE AND m.recipient = @viewer))`;

interface VisibleParams {
  ids: string;
  viewer: string;
  registered: number;
  from: string | null;
  room: string | null;
  peer: string | null;
  limit: number;
}

/**
 * The search index of SqliteStore: an FTS5 table that holds only the index (contentless,
 * with contentless_delete so a row can be removed by its id alone), one row per message
 * (rowid = the message's id), its document the tokens of search-text.ts joined by spaces.
 * The tokenizer, unicode61 with remove_diacritics 2, splits them back on those spaces and
 * folds case and accents again (a no-op on folded tokens, and the same on the query).
 * It is contentless rather than external content: the document is not the message's text
 * (folded, CJK in pairs), and an external-content index must be given, to delete a row,
 * exactly the document it indexed; here a delete or edit needs only the id. Its writes run
 * inside the append's, edit's, delete's or prune's transaction (append.ts, log.ts).
 */
export class SqliteSearch {
  private readonly insert: Statement<[number, string, string]>;
  private readonly replace: Statement<[number, string, string]>;
  private readonly remove: Statement<[number]>;
  private readonly removeThrough: Statement<[number]>;
  /** The candidates query by its number of arms (see search). */
  private readonly candidates = new Map<number, Statement<unknown[], { id: number }>>();
  private readonly selectSpans: Statement<[string], { room: string; from: number; to: number }>;
  private readonly selectAllRooms: Statement<[string], { room: string; since: number }>;
  private readonly selectVisible: Statement<[VisibleParams], Row>;
  private readonly selectCursor: Statement<[], { value: number }>;
  private readonly selectChunk: Statement<
    [number, number],
    { id: number; text: string; sender: string; recipient: string }
  >;
  private readonly setCursor: Statement<[number]>;
  private readonly clearCursor: Statement<[]>;
  private readonly backfillTx: () => number;

  constructor(
    private readonly db: Database.Database,
    private readonly registeredAt: (nick: string) => number,
  ) {
    this.insert = db.prepare('INSERT INTO messages_fts (rowid, doc, aud) VALUES (?, ?, ?)');
    this.replace = db.prepare(
      'INSERT OR REPLACE INTO messages_fts (rowid, doc, aud) VALUES (?, ?, ?)',
    );
    this.remove = db.prepare('DELETE FROM messages_fts WHERE rowid = ?');
    this.removeThrough = db.prepare('DELETE FROM messages_fts WHERE rowid <= ?');
    this.selectSpans = db.prepare(
      `SELECT room, from_id AS "from", ifnull(to_id, ${OPEN}) AS "to" FROM spans WHERE nick = ?`,
    );
    this.selectAllRooms = db.prepare(
      `SELECT r.name AS room, r.created_id AS since FROM rooms r
         JOIN members m ON m.room = r.name AND m.nick = ? WHERE r.history = 'all'`,
    );
    this.selectVisible = db.prepare(
      `SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')} FROM messages m
        WHERE m.id IN (SELECT value FROM json_each(@ids)) AND ${VISIBLE} ${FILTERS}
        ORDER BY m.id DESC LIMIT @limit`,
    );
    this.selectCursor = db.prepare(`SELECT value FROM meta WHERE key = '${BACKFILL_KEY}'`);
    this.selectChunk = db.prepare(
      `SELECT id, text, sender, recipient FROM messages
        WHERE id <= ? AND kind = 'message' AND deleted = 0 ORDER BY id DESC LIMIT ?`,
    );
    this.setCursor = db.prepare(`UPDATE meta SET value = ? WHERE key = '${BACKFILL_KEY}'`);
    this.clearCursor = db.prepare(`DELETE FROM meta WHERE key = '${BACKFILL_KEY}'`);
    const backfill = db.transaction(() => this.backfillChunk());
    this.backfillTx = () => backfill.immediate();
  }

  /** Indexes a new message of `from` to `to` (in its append's transaction). */
  add(id: EventId, from: string, to: string, text: string, withheld = false): void {
    const tokens = searchTokens(text);
    if (tokens.length > 0)
      this.insert.run(id, tokens.join(' '), audienceTokens(from, to, withheld).join(' '));
  }

  /** Indexes a message's new text in place of its old one (in the edit's transaction). */
  update(id: EventId, from: string, to: string, text: string, withheld = false): void {
    const tokens = searchTokens(text);
    if (tokens.length > 0) {
      this.replace.run(id, tokens.join(' '), audienceTokens(from, to, withheld).join(' '));
    } else this.remove.run(id);
  }

  /** Takes a deleted message out of the index (in the delete's transaction). */
  drop(id: EventId): void {
    this.remove.run(id);
  }

  /** Takes every message up to `last` out of the index (in a prune's transaction). */
  dropThrough(last: EventId): void {
    this.removeThrough.run(last);
  }

  /**
   * See Store.search. The candidates come from the index alone, newest first, through one
   * arm per stretch of the log the reader sees (searchArms): broadcasts, direct messages
   * they sent, those sent to them above their registration point, and each room span. So a
   * common word in conversations they are not in is never even read, and where the page
   * stops says nothing about them. The rows are then checked once more by the rule history
   * uses (VISIBLE, and the filters).
   */
  async search(viewer: string, request: SearchRequest): Promise<SearchPage> {
    const registered = this.registeredAt(viewer);
    const arms = searchArms(viewer, request, {
      registered,
      spans: this.selectSpans.all(viewer),
      allRooms: this.selectAllRooms.all(viewer),
    });
    if (arms.length === 0) return { messages: [], next: null };
    const loose = loosePrefixes(request.terms);
    const terms = `doc : (${ftsQuery(loose ?? request.terms)})`;
    const peer = request.with;
    const check = {
      viewer,
      registered,
      from: request.from ?? null,
      room: peer !== undefined && (isRoom(peer) || peer === EVERYONE) ? peer : null,
      peer: peer !== undefined && !isRoom(peer) && peer !== EVERYONE ? peer : null,
    };
    // Batches of candidates, the event loop turning between them: exact terms, BATCH at a
    // time until the page is full; loose ones, LOOSE_BATCH at a time, each row checked
    // against the exact terms, at most LOOSE_BATCHES of them.
    const batch = loose ? LOOSE_BATCH : Math.min(request.limit, BATCH);
    const rounds = loose ? LOOSE_BATCHES : Math.ceil(request.limit / batch) + 2;
    const messages: StoredMessage[] = [];
    let below = request.before;
    for (let round = 0; round < rounds; round++) {
      if (round > 0) await turn();
      if (!this.db.open) break;
      const params: unknown[] = [];
      for (const arm of arms) params.push(`${terms} AND ${arm.match}`, below, arm.from, arm.to);
      params.push(batch);
      const candidates = this.candidatesQuery(arms.length).all(...params);
      const rows = this.selectVisible.all({
        ...check,
        ids: JSON.stringify(candidates.map((c) => c.id)),
        limit: batch,
      });
      for (const row of rows) {
        if (messages.length >= request.limit) break;
        const message = toMessage(row);
        if (!loose || matchesAll(message.text, request.terms)) messages.push(message);
      }
      const full = messages[messages.length - 1];
      if (messages.length >= request.limit && full) return { messages, next: full.id };
      const lowest = candidates[candidates.length - 1];
      if (candidates.length < batch || lowest === undefined) return { messages, next: null };
      below = lowest.id;
    }
    return { messages, next: below };
  }

  /**
   * The union of `n` arms, each the index's matches within one id range, merged newest first
   * (each arm is read in descending rowid order, so the merge stops at the limit).
   */
  private candidatesQuery(n: number): Statement<unknown[], { id: number }> {
    let statement = this.candidates.get(n);
    if (statement === undefined) {
      const arm = `SELECT rowid AS id FROM messages_fts
        WHERE messages_fts MATCH ? AND rowid < ? AND rowid >= ? AND rowid <= ?`;
      statement = this.db.prepare<unknown[], { id: number }>(
        `SELECT id FROM (${Array(n).fill(arm).join(' UNION ALL ')}) ORDER BY id DESC LIMIT ?`,
      );
      this.candidates.set(n, statement);
    }
    return statement;
  }

  /** Whether a database from before the index still has messages to index (see backfill). */
  backfilling(): boolean {
    return this.selectCursor.get() !== undefined;
  }

  /**
   * Indexes one chunk of the messages a database held before the index existed (the
   * migration left the highest such id in meta), newest first so that recent history is
   * searchable soonest; returns how many it indexed, 0 when none are left. A message edited
   * or deleted since is read as it is now, in the same transaction, so its index row is its
   * current text (INSERT OR REPLACE keeps it one row when the edit indexed it already).
   */
  backfill(): number {
    return this.db.open ? this.backfillTx() : 0;
  }

  private backfillChunk(): number {
    const cursor = this.selectCursor.get()?.value;
    if (cursor === undefined) return 0;
    const rows = this.selectChunk.all(cursor, BACKFILL_CHUNK);
    for (const row of rows) {
      const tokens = searchTokens(row.text);
      if (tokens.length === 0) continue;
      this.replace.run(
        row.id,
        tokens.join(' '),
        audienceTokens(row.sender, row.recipient).join(' '),
      );
    }
    const last = rows[rows.length - 1];
    if (rows.length < BACKFILL_CHUNK || last === undefined) this.clearCursor.run();
    else this.setCursor.run(last.id - 1);
    return rows.length;
  }
}

/**
 * A parsed query as an FTS5 expression: each term a quoted string (a phrase when it has
 * several tokens), `*` after it for a prefix, all of them required. Tokens hold letters,
 * digits and marks only; quotes are doubled all the same, so nothing is ever FTS5 syntax.
 */
export function ftsQuery(terms: readonly SearchTerm[]): string {
  return terms
    .map((t) => `"${t.tokens.join(' ').replaceAll('"', '""')}"${t.prefix ? '*' : ''}`)
    .join(' ');
}

/** One arm of a search's candidates: an audience expression and the ids it covers. */
export interface SearchArm {
  /** An FTS5 expression on the `aud` column. */
  readonly match: string;
  readonly from: EventId;
  readonly to: EventId;
}

/** Most arms one search reads; past it, a room's spans are read as one range (see searchArms). */
const MAX_ARMS = 200;

/**
 * The stretches of the log `viewer` sees, as index expressions (the rule of store.ts, stated
 * on the audience tokens of search-text.ts): broadcasts; direct messages they sent to
 * someone else; those sent to them (notes to self included) above their registration point;
 * each room span; in a history-`all` room they are a member of, its current life. The
 * request's filters narrow each arm (`from`: its sender token; `with`: the arms of that
 * conversation only). The arms are disjoint, so no message comes twice.
 */
export function searchArms(
  viewer: string,
  request: Pick<SearchRequest, 'from' | 'with'>,
  state: {
    registered: number;
    spans: ReadonlyArray<{ room: string; from: number; to: number }>;
    allRooms: ReadonlyArray<{ room: string; since: number }>;
  },
): SearchArm[] {
  const END = Number.MAX_SAFE_INTEGER;
  const q = (token: string) => `aud : "${token}"`;
  const sender = request.from === undefined ? '' : ` AND ${q(senderToken(request.from))}`;
  const peer = request.with;
  const arms: SearchArm[] = [];
  const all = peer === undefined || peer === EVERYONE;
  const people = peer === undefined || (!isRoom(peer) && peer !== EVERYONE);
  if (all) arms.push({ match: `${q('a')}${sender}`, from: 0, to: END });
  if (people) {
    const me = recipientToken(viewer);
    const withPeer = peer === undefined ? '' : ` AND ${q(recipientToken(peer))}`;
    const fromPeer = peer === undefined ? '' : ` AND ${q(senderToken(peer))}`;
    const notes = peer !== undefined && peer.toLowerCase() === viewer.toLowerCase();
    if (!notes) {
      arms.push({
        match: `${q('d')} AND ${q(senderToken(viewer))}${withPeer}${sender} NOT ${q(me)}`,
        from: 0,
        to: END,
      });
    }
    // Not what is withheld from the viewer (blocks-store.ts).
    const shown = ` NOT ${q(WITHHELD_TOKEN)}`;
    arms.push({
      match: `${q(me)}${fromPeer}${sender}${shown}`,
      from: state.registered + 1,
      to: END,
    });
  }
  if (peer === undefined || isRoom(peer)) {
    const since = new Map(state.allRooms.map((r) => [r.room, r.since]));
    const spans = state.spans.filter((s) => peer === undefined || s.room === peer);
    const rooms = new Map<string, Array<{ from: number; to: number }>>();
    for (const s of spans) {
      const life = since.get(s.room);
      // The current life of a history-all room is one arm of its own (below).
      if (life !== undefined && s.to >= life) continue;
      rooms.set(s.room, [...(rooms.get(s.room) ?? []), { from: s.from, to: s.to }]);
    }
    for (const [room, life] of since) {
      if (peer === undefined || room === peer) {
        rooms.set(room, [...(rooms.get(room) ?? []), { from: life, to: END }]);
      }
    }
    const count = [...rooms.values()].reduce((n, r) => n + r.length, 0);
    if (rooms.size + arms.length > MAX_ARMS) {
      // Past MAX_ARMS even with a range per room (someone who was in hundreds of rooms):
      // one arm for all of them. The rows' check (VISIBLE) still drops what none of their
      // spans covers; only the page's stopping point may then pass over such rows.
      const tokens = [...rooms.keys()].map((room) => `"${roomToken(room)}"`).join(' OR ');
      const from = Math.min(...[...rooms.values()].flat().map((r) => r.from));
      if (rooms.size > 0) arms.push({ match: `aud : (${tokens})${sender}`, from, to: END });
      return arms;
    }
    for (const [room, ranges] of rooms) {
      const match = `${q(roomToken(room))}${sender}`;
      if (count + arms.length > MAX_ARMS) {
        // Past MAX_ARMS, a room's spans are read as one range, with the same caveat.
        const from = Math.min(...ranges.map((r) => r.from));
        const to = Math.max(...ranges.map((r) => r.to));
        arms.push({ match, from, to });
      } else for (const r of ranges) arms.push({ match, ...r });
    }
  }
  return arms;
}

/**
 * Prefixes the index keeps lists for (schema.ts, prefix = '2 3'). A longer prefix makes FTS5
 * merge the list of every word it starts, whole, before it returns one row: `comm*` cost 9 to
 * 21 ms on 300k messages (a word in one message in five), once per arm. So a longer prefix is
 * looked up by its first PREFIX_INDEXED characters, and each row checked against the whole
 * prefix (matchesAll): the same tokens, so the same answer.
 */
const PREFIX_INDEXED = 3;
/**
 * Candidates one synchronous read takes. FTS5 checks a phrase against every position of its
 * words in a message: 100 messages of one CJK pair repeated 1,000 times, against 12 phrases,
 * took 92 ms in one read; 25 at a time keeps such a read near a fifth of that, and ordinary
 * text near a millisecond.
 */
const BATCH = 25;
/** Rows one loose batch reads, and how many batches a page may take before it stops. */
const LOOSE_BATCH = 200;
const LOOSE_BATCHES = 5;

/** `terms` with prefixes longer than PREFIX_INDEXED cut to it; undefined when none is. */
export function loosePrefixes(terms: readonly SearchTerm[]): SearchTerm[] | undefined {
  let cut = false;
  const loose = terms.map((term) => {
    const last = term.tokens[term.tokens.length - 1] ?? '';
    const chars = [...last];
    if (!term.prefix || chars.length <= PREFIX_INDEXED) return term;
    cut = true;
    const tokens = [...term.tokens.slice(0, -1), chars.slice(0, PREFIX_INDEXED).join('')];
    return { tokens, prefix: true };
  });
  return cut ? loose : undefined;
}
