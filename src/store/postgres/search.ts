import { setImmediate as turn } from 'node:timers/promises';
import type pg from 'pg';
import { EVERYONE, type EventId, isRoom } from '../../domain/events.js';
import type { SearchRequest, SearchTerm } from '../../domain/search.js';
import { searchTokens } from '../../domain/search-text.js';
import { COLUMNS, type Row, toMessage } from '../rows.js';
import type { SearchPage } from '../store.js';
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

// Who sees a message, restated from the history and replay queries (log.ts; the rule is in
// store.ts): a broadcast; a direct message the viewer sent, or one sent to them above their
// registration point (notes to self are both, and go by the second arm, as the notes page
// does); a room's message that one of the viewer's spans covers; and, in a room whose
// history mode is `all`, any message of its current life while the viewer is a member.
// Stated in the query that reads the matches, so that hidden matches never fill a page nor
// end it. Filters: $3 from, $4 a room or `all`, $5 the other of a pair (the viewer's own
// nick: notes to self); NULL turns one off. Nicks compare with ASCII letters folded, as
// accounts do (lower() under the C collation folds only those). $1 is the tsquery, $2 the
// viewer.
const VISIBLE = `
  m.search @@ $1::tsquery AND m.kind = 'message' AND NOT m.deleted AND (
       m.recipient = '${EVERYONE}'
    OR (m.sender = $2 AND m.recipient <> $2 AND m.recipient NOT LIKE '#%')
    OR (m.recipient = $2 AND m.id > ${registered(2)} AND NOT m.withheld)
    OR (m.recipient LIKE '#%' AND (
         EXISTS (SELECT 1 FROM spans s WHERE s.nick = $2 AND s.room = m.recipient AND ${COVERS})
      OR EXISTS (SELECT 1 FROM rooms r JOIN members mb ON mb.room = r.name AND mb.nick = $2
                  WHERE r.name = m.recipient AND r.history = 'all' AND r.created_id <= m.id))))
  AND ($3::text IS NULL OR lower(m.sender COLLATE "C") = lower($3::text COLLATE "C"))
  AND ($4::text IS NULL OR m.recipient = $4::text)
  AND ($5::text IS NULL
    OR (m.sender = $2 AND lower(m.recipient COLLATE "C") = lower($5::text COLLATE "C"))
    OR (m.recipient = $2 AND lower(m.sender COLLATE "C") = lower($5::text COLLATE "C")))`;

const SELECTED = COLUMNS.replace(/(\w+)/g, 'm.$1');

// A page is found one of two ways:
// - a walk down the primary key from `before` (or down a room's messages, for `in:#room`),
//   testing each row, which stops at the limit: cheap for a word common in what the reader
//   sees (its matches are close together), ruinous for a rare one;
// - the GIN index, which finds every match below `before`, then a sort: cheap for a rare
//   word, slow for a common one (a heap page per match: 0.4 s for a word in half of a million
//   messages, against 4 ms for the walk).
// PostgreSQL's planner chooses between them by its statistics of the column's words, and
// chooses well when it has them and they hold for the newest messages (on a million: a word
// in half of them walks in 3 ms, one in a thousand is read through GIN in 6 ms, a rare one in
// 3 ms). But a walk it chose goes on unbounded where a word common on average is rare lately,
// or rare in what the reader sees, or where it guessed without statistics (a rare word then
// read the whole table: 1.5 s). So the store asks the planner first (PLAN) and runs a walk it
// chose in windows of ids (WINDOW): the first WALK_MARGIN times the rows the walk should need
// by the planner's estimate, each next one WALK_MARGIN times larger, MAX_WALK rows at most per
// page; a page that is not full by then ends there, and `next` goes on below what it walked.
// A GIN read the planner chose on a wrong guess is not bounded (a word in half of a million
// messages, with no statistics: 1 s); hence the backfill's ANALYZEs (ANALYZE_EVERY), and
// autovacuum's after. No statement here has a name: each is planned with its own tsquery and
// filters, where a named one would soon run a generic plan, blind to them (which also kept the
// filters that are off, and was ten times slower). $6 is `before`, $7 the limit, $8 the
// window's lowest id.

// The page as the planner would read it.
const PAGE = `SELECT ${SELECTED} FROM messages m WHERE m.id < $6 AND ${VISIBLE}
               ORDER BY m.id DESC LIMIT $7`;
const PLAN = `EXPLAIN (FORMAT JSON) ${PAGE}`;
// The ids of the log below $1: how far a walk may have to go.
const SPAN = 'SELECT min(id) AS low, max(id) AS high FROM messages WHERE id < $1';
// A walk through the window of ids [$8, $6), newest first, which stops at the limit. OFFSET 0
// keeps the test of the words out of the inner scan, so that the planner cannot read the GIN
// index instead (for a two-letter prefix, a list of most of the log); a room's filter stays
// in, so that it walks the room's messages only (messages_recipient).
const WINDOW = `SELECT ${SELECTED} FROM (
                  SELECT * FROM messages WHERE id < $6 AND id >= $8
                     AND ($4::text IS NULL OR recipient = $4::text)
                   ORDER BY id DESC OFFSET 0) m
                 WHERE ${VISIBLE} ORDER BY m.id DESC LIMIT $7`;

/**
 * How much further than the planner's estimate the first window of a walk reaches, and how
 * much larger each next window is: room for a word's matches to lie less densely in the
 * newest messages than on average, in few round trips.
 */
const WALK_MARGIN = 4;

/**
 * Most rows a walk tests for one page (some 50 to 100 ms), whatever the planner estimated:
 * the bound of a walk it chose without statistics, or for a word common elsewhere. A page
 * not full by then ends there, with a `next` below it (the API's client asks on by itself).
 */
const MAX_WALK = 100_000;

/** A node of EXPLAIN (FORMAT JSON)'s plan, as far as search reads it. */
interface PlanNode {
  readonly 'Index Name'?: string;
  readonly 'Relation Name'?: string;
  readonly Alias?: string;
  readonly 'Plan Rows': number;
  readonly Plans?: readonly PlanNode[];
}

/** Every node of `plan`, depth first. */
function* nodes(plan: PlanNode): Generator<PlanNode> {
  yield plan;
  for (const child of plan.Plans ?? []) yield* nodes(child);
}

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

/**
 * Chunks of the backfill between two ANALYZEs of the table (and one after the last): the
 * planner's statistics of the words, which search's choice of plan rests on (PAGE), follow
 * the index as it fills, rather than waiting for autovacuum (or never, where it is off). An
 * ANALYZE samples 30,000 rows: about a second.
 */
const ANALYZE_EVERY = 100;

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
  /** Chunks this process indexed since its last ANALYZE (ANALYZE_EVERY). */
  private chunks = 0;

  /** Reads and writes through `pool`, whose connections already use the store's schema. */
  constructor(private readonly pool: pg.Pool) {}

  /**
   * See Store.search: the planner's way, with a walk bounded (see PAGE above): read in
   * windows of ids, WALK_MARGIN times what the planner's estimate says it should need, then
   * each WALK_MARGIN times larger, up to MAX_WALK rows; a page that is not full by then ends
   * with a `next` below the last window.
   */
  async search(viewer: string, request: SearchRequest): Promise<SearchPage> {
    const { before, limit } = request;
    if (limit <= 0 || request.terms.length === 0) return { messages: [], next: null };
    const peer = request.with;
    const values = [
      searchQuery(request.terms),
      viewer,
      request.from ?? null,
      peer !== undefined && (isRoom(peer) || peer === EVERYONE) ? peer : null,
      peer !== undefined && !isRoom(peer) && peer !== EVERYONE ? peer : null,
      before,
      limit,
    ];
    const [plan, span] = await Promise.all([
      this.pool.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(PLAN, values),
      this.pool.query<{ low: number | null; high: number | null }>(SPAN, [before]),
    ]);
    const { low, high } = span.rows[0] ?? { low: null, high: null };
    if (low === null || high === null) return { messages: [], next: null };
    const root = plan.rows[0]?.['QUERY PLAN'][0]?.Plan;
    const scans = root ? [...nodes(root)] : [];
    if (scans.some((n) => n['Index Name'] === 'messages_search')) {
      // The planner chose the GIN index, and will again.
      return page((await this.pool.query<Row>(PAGE, values)).rows, limit, null);
    }
    // A walk: its scan's Plan Rows are the matches it would find if it ran to the end.
    const walk = scans.find((n) => n['Relation Name'] === 'messages' && n.Alias === 'm');
    const need = (limit * (high - low + 1)) / Math.max(walk?.['Plan Rows'] ?? 1, 1);
    const rows: Row[] = [];
    let top = high + 1;
    let window = Math.max(limit, Math.ceil(WALK_MARGIN * need));
    for (let walked = 0; ; ) {
      window = Math.min(window, MAX_WALK - walked);
      const floor = Math.max(low, top - window);
      const found = await this.pool.query<Row>(WINDOW, [
        ...values.slice(0, 5),
        top,
        limit - rows.length,
        floor,
      ]);
      rows.push(...found.rows);
      if (rows.length >= limit || floor <= low) return page(rows, limit, null);
      walked += top - floor;
      top = floor;
      if (walked >= MAX_WALK) return page(rows, limit, floor);
      window *= WALK_MARGIN;
    }
  }

  /**
   * Indexes one chunk (BACKFILL_CHUNK ids) of the messages a database held before the index
   * existed (the migration left the highest such id in meta), newest first so that recent
   * history is searchable soonest, in one transaction that holds the cursor's row: `busy`
   * when another process holds it, `done` when nothing is left. The update is guarded (INDEX).
   * Every ANALYZE_EVERY chunks, and after the last, it analyzes the table.
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
    if (step === 'busy') return 'busy';
    this.chunks++;
    if (step === 'finished' || this.chunks >= ANALYZE_EVERY) {
      this.chunks = 0;
      await this.pool.query(maintenance('ANALYZE messages', []));
    }
    return 'indexed';
  }
}

/**
 * A page of `rows` (newest first, at most `limit`): `next` is below the last when it is full,
 * else `stopped` (where a walk ended before the end of the log), else null.
 */
function page(rows: Row[], limit: number, stopped: EventId | null): SearchPage {
  const messages = rows.map(toMessage);
  const last = messages.at(-1);
  return { messages, next: messages.length >= limit && last ? last.id : stopped };
}

/** A backfill statement, with the long timeout of maintenance (MAINTENANCE_QUERY_TIMEOUT_MS). */
function maintenance(text: string, values: unknown[]): pg.QueryConfig {
  return timed(text, MAINTENANCE_QUERY_TIMEOUT_MS, values);
}
