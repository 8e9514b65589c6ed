import type Database from 'better-sqlite3';
import { EVERYONE, type EventId, isRoom } from '../../domain/events.js';
import type { SearchRequest, SearchTerm } from '../../domain/search.js';
import { searchTokens } from '../../domain/search-text.js';
import { COLUMNS, type Row, toMessage } from '../rows.js';
import { scanWindows } from '../search-page.js';
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
    OR (m.recipient = @viewer AND m.id > @registered)
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
  private readonly insert: Statement<[number, string]>;
  private readonly replace: Statement<[number, string]>;
  private readonly remove: Statement<[number]>;
  private readonly removeThrough: Statement<[number]>;
  private readonly selectCandidates: Statement<[string, number, number], { id: number }>;
  private readonly selectVisible: Statement<[VisibleParams], Row>;
  private readonly selectCursor: Statement<[], { value: number }>;
  private readonly selectChunk: Statement<[number, number], { id: number; text: string }>;
  private readonly setCursor: Statement<[number]>;
  private readonly clearCursor: Statement<[]>;
  private readonly backfillTx: () => number;

  constructor(
    private readonly db: Database.Database,
    private readonly registeredAt: (nick: string) => number,
  ) {
    this.insert = db.prepare('INSERT INTO messages_fts (rowid, doc) VALUES (?, ?)');
    this.replace = db.prepare('INSERT OR REPLACE INTO messages_fts (rowid, doc) VALUES (?, ?)');
    this.remove = db.prepare('DELETE FROM messages_fts WHERE rowid = ?');
    this.removeThrough = db.prepare('DELETE FROM messages_fts WHERE rowid <= ?');
    // Newest first, straight off the index's doclists: no sort, and it stops at the limit.
    // No bm25(): it reads each match's positions and cost 10 of the 11 ms of a common word's
    // 2,000 matches on 300k messages (0.8 ms without). Relevance is weighed from the page's
    // texts instead (domain/search.ts), the same in every engine.
    this.selectCandidates = db.prepare(
      `SELECT rowid AS id FROM messages_fts
        WHERE messages_fts MATCH ? AND rowid < ? ORDER BY rowid DESC LIMIT ?`,
    );
    this.selectVisible = db.prepare(
      `SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')} FROM messages m
        WHERE m.id IN (SELECT value FROM json_each(@ids)) AND ${VISIBLE} ${FILTERS}
        ORDER BY m.id DESC LIMIT @limit`,
    );
    this.selectCursor = db.prepare(`SELECT value FROM meta WHERE key = '${BACKFILL_KEY}'`);
    this.selectChunk = db.prepare(
      `SELECT id, text FROM messages WHERE id <= ? AND kind = 'message' AND deleted = 0
        ORDER BY id DESC LIMIT ?`,
    );
    this.setCursor = db.prepare(`UPDATE meta SET value = ? WHERE key = '${BACKFILL_KEY}'`);
    this.clearCursor = db.prepare(`DELETE FROM meta WHERE key = '${BACKFILL_KEY}'`);
    const backfill = db.transaction(() => this.backfillChunk());
    this.backfillTx = () => backfill.immediate();
  }

  /** Indexes a new message (in its append's transaction). */
  add(id: EventId, text: string): void {
    const tokens = searchTokens(text);
    if (tokens.length > 0) this.insert.run(id, tokens.join(' '));
  }

  /** Indexes a message's new text in place of its old one (in the edit's transaction). */
  update(id: EventId, text: string): void {
    const tokens = searchTokens(text);
    if (tokens.length > 0) this.replace.run(id, tokens.join(' '));
    else this.remove.run(id);
  }

  /** Takes a deleted message out of the index (in the delete's transaction). */
  drop(id: EventId): void {
    this.remove.run(id);
  }

  /** Takes every message up to `last` out of the index (in a prune's transaction). */
  dropThrough(last: EventId): void {
    this.removeThrough.run(last);
  }

  /** See Store.search; each window a synchronous read of its own (scanWindows). */
  search(viewer: string, request: SearchRequest): Promise<SearchPage> {
    const match = ftsQuery(request.terms);
    const peer = request.with;
    const params = {
      viewer,
      registered: this.registeredAt(viewer),
      from: request.from ?? null,
      room: peer !== undefined && (isRoom(peer) || peer === EVERYONE) ? peer : null,
      peer: peer !== undefined && !isRoom(peer) && peer !== EVERYONE ? peer : null,
    };
    return scanWindows(request.before, request.limit, (below, size, want) => {
      // A close() while the search waited for its next window ends it with what it has.
      if (!this.db.open) return { matched: 0, lowest: below, messages: [] };
      const candidates = this.selectCandidates.all(match, below, size);
      const lowest = candidates[candidates.length - 1]?.id ?? below;
      if (candidates.length === 0) return { matched: 0, lowest, messages: [] };
      const ids = JSON.stringify(candidates.map((c) => c.id));
      const rows = this.selectVisible.all({ ...params, ids, limit: want });
      return { matched: candidates.length, lowest, messages: rows.map(toMessage) };
    });
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
      if (tokens.length > 0) this.replace.run(row.id, tokens.join(' '));
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
