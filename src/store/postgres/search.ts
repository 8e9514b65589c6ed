import { setImmediate as turn } from 'node:timers/promises';
import type pg from 'pg';
import { EVERYONE, type EventId, isRoom } from '../../domain/events.js';
import type { SearchRequest, SearchTerm } from '../../domain/search.js';
import { searchTokens } from '../../domain/search-text.js';
import { COLUMNS, type Row, toMessage } from '../rows.js';
import { SEARCH_SCAN, type SearchPage } from '../store.js';
import { registered } from './accounts.js';
import { inTransaction, MAINTENANCE_QUERY_TIMEOUT_MS, timed } from './client.js';
import { COVERS } from './log.js';

// The index (schema.ts, step 9): messages.search holds the tokens of search-text.ts as a
// tsvector this file writes out itself, never PostgreSQL's parser (to_tsvector), so that it
// holds exactly the tokens SQLite's FTS5 holds, whatever the server's locale or text search
// configuration. Only messages carry one, and only while they have a token and are not
// deleted: append, appendEdit and appendDelete set it in their own statement (append.ts,
// changes.ts), and prune removes it with its row.

/**
 * Most positions written per lexeme: PostgreSQL keeps at most 256 (MAXNUMPOS) and drops the
 * rest itself; cutting them here only keeps the literal small. A phrase whose word recurs more
 * often in one message than that is not found past its 256th occurrence.
 */
const MAX_POSITIONS = 256;

/** A token as a quoted lexeme of a tsvector or tsquery literal: `'` doubled, `\` escaped. */
function lexeme(token: string): string {
  return `'${token.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * The tsvector literal of `text`: each token of searchTokens with its positions (1-based, in
 * text order; phrases match on them), e.g. `'a':1,3 'b':2`; null when it has none. Positions
 * stay below PostgreSQL's 16383, since a text has at most MAX_DOCUMENT_TOKENS tokens.
 */
export function searchVector(text: string): string | null {
  return tokensVector(searchTokens(text));
}

/** The tsvector literal of `tokens` (see searchVector); null for none. */
export function tokensVector(tokens: readonly string[]): string | null {
  if (tokens.length === 0) return null;
  const positions = new Map<string, number[]>();
  tokens.forEach((token, i) => {
    const at = positions.get(token);
    if (at === undefined) positions.set(token, [i + 1]);
    else if (at.length < MAX_POSITIONS) at.push(i + 1);
  });
  let out = '';
  for (const [token, at] of positions) out += `${out === '' ? '' : ' '}${lexeme(token)}:${at}`;
  return out;
}

/**
 * A parsed query as a tsquery literal: each term its tokens in a phrase (`<->`: the next
 * position), the last one a prefix (`:*`) when the term is, and every term required (`&`).
 * Every token is a quoted lexeme, so no input is ever tsquery syntax.
 */
export function searchQuery(terms: readonly SearchTerm[]): string {
  return terms
    .map((term) => {
      const phrase = term.tokens.map(lexeme).join(' <-> ');
      return `(${phrase}${term.prefix ? ':*' : ''})`;
    })
    .join(' & ');
}

// The index matches, newest first (at most SEARCH_SCAN), are found one of two ways:
// - a walk down the primary key from `before`, testing each row, which stops at the limit:
//   cheap for a common word (its matches are close together), ruinous for a rare one;
// - the GIN index, which finds every match below `before`, then a sort: cheap for a rare
//   word, slow for a common one (a heap page per match: 0.4 s for a word in half of a million
//   messages, against 4 ms for the walk).
// PostgreSQL's planner chooses between them by its statistics of the column's words, and
// chooses well when it has them. But it walks, unbounded, when it has none (a database just
// migrated, before autovacuum's ANALYZE: a rare word then reads the whole table, 1.5 s for a
// million messages) or when a word common in the past is rare lately. So the store asks the
// planner first (PLAN) and bounds a walk it chose: a window of ids (WINDOW) of at most
// WALK_MARGIN times the rows the walk should need and MAX_WALK rows, and the GIN index for
// what lies below it. No statement here has a name: each is planned with its own tsquery,
// where a named one would soon run a generic plan blind to it.

// What the planner would do, and its estimate of the matches below $2.
const PLAN = `EXPLAIN (FORMAT JSON)
  SELECT id FROM messages WHERE search @@ $1::tsquery AND id < $2
   ORDER BY id DESC LIMIT ${SEARCH_SCAN}`;
// The ids of the log below $1: how far a walk may have to go.
const SPAN = 'SELECT min(id) AS low, max(id) AS high FROM messages WHERE id < $1';
// A walk through the window of ids [$3, $2), newest first, which stops at the limit. OFFSET 0
// keeps the test of the words out of the inner scan, so that the planner cannot read the GIN
// index instead (for a two-letter prefix, a list of most of the log).
const WINDOW = `SELECT id FROM (
                  SELECT id, search FROM messages WHERE id < $2 AND id >= $3
                   ORDER BY id DESC OFFSET 0) w
                 WHERE search @@ $1::tsquery ORDER BY id DESC LIMIT $4`;
// Through the GIN index (with GIN_ONLY, only through it: the walk and a sequential scan off).
const INDEXED =
  'SELECT id FROM messages WHERE search @@ $1::tsquery AND id < $2 ORDER BY id DESC LIMIT $3';
const GIN_ONLY = 'SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off';

/**
 * How much further than the planner's estimate a walk goes before it hands over to the GIN
 * index: room for a word's matches to lie less densely in the recent log than on average.
 */
const WALK_MARGIN = 4;

/**
 * Most rows one walk tests (some 50 ms) before it hands over to the GIN index, whatever the
 * planner estimated: the bound of a walk the planner chose without statistics.
 */
const MAX_WALK = 100_000;

/** A node of EXPLAIN (FORMAT JSON)'s plan, as far as candidates reads it. */
interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Index Name'?: string;
  readonly 'Plan Rows': number;
  readonly Plans?: readonly PlanNode[];
}

/** The node of `plan` that reads the primary key (a walk), if any. */
function walkOf(plan: PlanNode): PlanNode | undefined {
  if (plan['Index Name'] === 'messages_pkey') return plan;
  for (const child of plan.Plans ?? []) {
    const found = walkOf(child);
    if (found) return found;
  }
  return undefined;
}

// Who sees a message, restated from the history and replay queries (log.ts; the rule is in
// store.ts): a broadcast; a direct message the viewer sent, or one sent to them above their
// registration point (notes to self are both, and go by the second arm, as the notes page
// does); a room's message that one of the viewer's spans covers; and, in a room whose
// history mode is `all`, any message of its current life while the viewer is a member.
// The match is checked again on the row as it is now (an edit may have come between the two
// queries). Filters: $4 from, $5 a room or `all`, $6 the other of a pair (the viewer's own
// nick: notes to self); NULL turns one off. Nicks compare with ASCII letters folded, as
// accounts do (lower() under the C collation folds only those). It reads up to SEARCH_SCAN
// rows by the primary key, newest first, and stops at the limit; only the page is ranked.
// No name either: a generic plan (what a named statement soon runs) cannot drop the filters
// that are off, and sorted and ranked every candidate, ten times slower.
const VISIBLE = `
  SELECT ${COLUMNS}, ts_rank(search, $2::tsquery) AS relevance FROM (
    SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')}, m.search
      FROM messages m
     WHERE m.id = ANY ($1::int8[]) AND m.search @@ $2::tsquery
       AND m.kind = 'message' AND NOT m.deleted AND (
            m.recipient = '${EVERYONE}'
         OR (m.sender = $3 AND m.recipient <> $3 AND m.recipient NOT LIKE '#%')
         OR (m.recipient = $3 AND m.id > ${registered(3)})
         OR (m.recipient LIKE '#%' AND (
              EXISTS (SELECT 1 FROM spans s WHERE s.nick = $3 AND s.room = m.recipient AND ${COVERS})
           OR EXISTS (SELECT 1 FROM rooms r JOIN members mb ON mb.room = r.name AND mb.nick = $3
                       WHERE r.name = m.recipient AND r.history = 'all' AND r.created_id <= m.id))))
       AND ($4::text IS NULL OR lower(m.sender COLLATE "C") = lower($4::text COLLATE "C"))
       AND ($5::text IS NULL OR m.recipient = $5::text)
       AND ($6::text IS NULL
         OR (m.sender = $3 AND lower(m.recipient COLLATE "C") = lower($6::text COLLATE "C"))
         OR (m.recipient = $3 AND lower(m.sender COLLATE "C") = lower($6::text COLLATE "C")))
     ORDER BY m.id DESC LIMIT $7) p
   ORDER BY id DESC`;

/** The meta key of the highest id the backfill has still to index; absent when done. */
const BACKFILL_KEY = 'search_backfill';

/**
 * Ids the backfill reads and indexes per transaction, newest first. At some 0.3 ms a message
 * (its tokens in JS, then its new row version and index entries: the GIN index alone takes
 * most of it), a chunk holds the rows it updates locked for a few hundred milliseconds at
 * most, which an edit or delete of one of them (and the appends queued behind it, under the
 * append lock) may have to wait out.
 */
export const BACKFILL_CHUNK = 1000;

/** Rows tokenized between two turns of the event loop, so that the backfill never holds it long. */
const TOKENIZE_SLICE = 100;

// The cursor, claimed for the chunk's transaction: SKIP LOCKED answers no row at once while
// another process of the cluster holds it (indexing a chunk), so one process indexes at a time.
const CLAIM: pg.QueryConfig = {
  name: 'ssechat_backfill_claim',
  text: `SELECT value FROM meta WHERE key = '${BACKFILL_KEY}' FOR UPDATE SKIP LOCKED`,
};
const PENDING: pg.QueryConfig = {
  name: 'ssechat_backfill_pending',
  text: `SELECT 1 FROM meta WHERE key = '${BACKFILL_KEY}'`,
};
// A range of ids, read by the primary key whatever the statistics say (with a LIMIT instead,
// the planner sees search IS NULL as rare once most rows are indexed, and goes parallel or
// worse). An edited message already has its index (the edit set it), a deleted one must not
// have one.
const CHUNK = `SELECT id, text FROM messages
                WHERE id <= $1 AND id > $1 - ${BACKFILL_CHUNK}
                  AND kind = 'message' AND NOT deleted AND search IS NULL`;
// Where the next chunk starts: the next id down, past any stretch retention emptied.
const NEXT = 'SELECT max(id) AS id FROM messages WHERE id <= $1';
// Guarded: a row an edit or delete changed since it was read (the transaction does not lock
// it; an edit waits for no backfill) keeps what the edit or delete wrote, never a vector of its
// old text.
const INDEX = `UPDATE messages m SET search = u.vector::tsvector
                 FROM unnest($1::int8[], $2::text[], $3::text[]) AS u (id, text, vector)
                WHERE m.id = u.id AND m.search IS NULL AND NOT m.deleted AND m.text = u.text`;
const MOVE = `UPDATE meta SET value = $1 WHERE key = '${BACKFILL_KEY}'`;
const FINISH = `DELETE FROM meta WHERE key = '${BACKFILL_KEY}'`;

/** What one call of PostgresSearch.backfill did. */
export type BackfillStep = 'indexed' | 'busy' | 'done';

/** Search and the search backfill of PostgresStore. */
export class PostgresSearch {
  /** Reads and writes through `pool`, whose connections already use the store's schema. */
  constructor(private readonly pool: pg.Pool) {}

  /** See Store.search. */
  async search(viewer: string, request: SearchRequest): Promise<SearchPage> {
    if (request.limit <= 0 || request.terms.length === 0) return { hits: [], next: null };
    const query = searchQuery(request.terms);
    const candidates = await this.candidates(query, request.before);
    if (candidates.length === 0) return { hits: [], next: null };
    const peer = request.with;
    const { rows } = await this.pool.query<Row & { relevance: number }>({
      text: VISIBLE,
      values: [
        candidates.map((c) => c.id),
        query,
        viewer,
        request.from ?? null,
        peer !== undefined && (isRoom(peer) || peer === EVERYONE) ? peer : null,
        peer !== undefined && !isRoom(peer) && peer !== EVERYONE ? peer : null,
        request.limit,
      ],
    });
    const hits = rows.map((row) => ({ message: toMessage(row), relevance: row.relevance }));
    return { hits, next: nextPage(hits, candidates, request.limit) };
  }

  /**
   * The ids of the newest SEARCH_SCAN messages below `before` whose index matches `query`,
   * newest first: the planner's way, with a walk bounded (see PLAN above). A walk the planner
   * chose reads the window of ids it should need (by the planner's estimate of the matches)
   * times WALK_MARGIN, at most MAX_WALK; the GIN index finds the rest below it, if any.
   */
  private async candidates(query: string, before: EventId): Promise<Array<{ id: number }>> {
    const [plan, span] = await Promise.all([
      this.pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(PLAN, [query, before]),
      this.pool.query<{ low: number | null; high: number | null }>(SPAN, [before]),
    ]);
    const { low, high } = span.rows[0] ?? { low: null, high: null };
    if (low === null || high === null) return [];
    const root = plan.rows[0]?.['QUERY PLAN'][0]?.Plan;
    const walk = root && walkOf(root);
    if (!walk) {
      // The planner chose the GIN index, and will again.
      const { rows } = await this.pool.query<{ id: number }>(INDEXED, [query, before, SEARCH_SCAN]);
      return rows;
    }
    // The walk's Plan Rows are the matches it would find if it ran to the end.
    const rows = high - low + 1;
    const need = (SEARCH_SCAN * rows) / Math.max(walk['Plan Rows'], 1);
    const floor = Math.max(low, high + 1 - Math.ceil(Math.min(WALK_MARGIN * need, MAX_WALK)));
    const { rows: near } = await this.pool.query<{ id: number }>(WINDOW, [
      query,
      before,
      floor,
      SEARCH_SCAN,
    ]);
    if (near.length >= SEARCH_SCAN || floor <= low) return near;
    return [...near, ...(await this.indexed(query, floor, SEARCH_SCAN - near.length))];
  }

  /** The newest `limit` matches of `query` below `before`, through the GIN index only. */
  private indexed(query: string, before: EventId, limit: number): Promise<Array<{ id: number }>> {
    return inTransaction(this.pool, async (client) => {
      await client.query(GIN_ONLY);
      return (await client.query<{ id: number }>(INDEXED, [query, before, limit])).rows;
    });
  }

  /**
   * Indexes one chunk (BACKFILL_CHUNK ids) of the messages a database held before the index
   * existed (the migration left the highest such id in meta), newest first so that recent
   * history is searchable soonest, in one transaction that holds the cursor's row: `busy`
   * when another process holds it, `done` when nothing is left. The update is guarded (INDEX).
   * After the last chunk, it analyzes the table.
   */
  async backfill(): Promise<BackfillStep> {
    const { rowCount } = await this.pool.query(PENDING);
    if (rowCount === 0) return 'done';
    const step = await inTransaction(this.pool, async (client) => {
      const { rows: claimed } = await client.query<{ value: number }>(CLAIM);
      const cursor = claimed[0]?.value;
      // Taken by another process, or finished between the two queries.
      if (cursor === undefined) return 'busy' as const;
      const { rows } = await client.query<{ id: number; text: string }>(
        maintenance(CHUNK, [cursor]),
      );
      // A text without a word keeps its NULL.
      const ids: number[] = [];
      const texts: string[] = [];
      const vectors: string[] = [];
      for (const [i, row] of rows.entries()) {
        if (i > 0 && i % TOKENIZE_SLICE === 0) await turn();
        const vector = searchVector(row.text);
        if (vector === null) continue;
        ids.push(row.id);
        texts.push(row.text);
        vectors.push(vector);
      }
      await client.query(maintenance(INDEX, [ids, texts, vectors]));
      const { rows: next } = await client.query<{ id: number | null }>(NEXT, [
        cursor - BACKFILL_CHUNK,
      ]);
      const below = next[0]?.id ?? null;
      if (below !== null) {
        await client.query(MOVE, [below]);
        return 'indexed' as const;
      }
      await client.query(FINISH);
      return 'finished' as const;
    });
    // The planner's statistics of the column, which search's choice of plan rests on (PLAN),
    // now rather than whenever autovacuum gets to it (never, where it is off).
    if (step === 'finished') await this.pool.query(maintenance('ANALYZE messages', []));
    return step === 'busy' ? 'busy' : 'indexed';
  }
}

/**
 * Where the next page of a search starts (SearchPage.next): below the last hit when the page
 * is full; else below the last index match examined when the scan stopped at SEARCH_SCAN
 * (older matches remain unexamined); else nowhere.
 */
function nextPage(
  hits: ReadonlyArray<{ message: { id: EventId } }>,
  candidates: ReadonlyArray<{ id: EventId }>,
  limit: number,
): EventId | null {
  const lastHit = hits.at(-1);
  if (hits.length >= limit && lastHit) return lastHit.message.id;
  const lastCandidate = candidates.at(-1);
  if (candidates.length >= SEARCH_SCAN && lastCandidate) return lastCandidate.id;
  return null;
}

/** A backfill statement, with the long timeout of maintenance (MAINTENANCE_QUERY_TIMEOUT_MS). */
function maintenance(text: string, values: unknown[]): pg.QueryConfig {
  return timed(text, MAINTENANCE_QUERY_TIMEOUT_MS, values);
}
