import type pg from 'pg';
import { EVERYONE } from '../../domain/events.js';
import { MAX_UNREAD_COUNT, UNREAD_SCAN } from '../notify-store.js';
import { BASELINE } from '../rows.js';
import { registered } from './accounts.js';
import { inTransaction } from './client.js';

const OPEN = '9223372036854775807';

// The queries of PostgresNotify.unread and unreadTotal; $1 is the viewer. Each reads windows,
// as sqlite/unread.ts explains: the newest UNREAD_SCAN rows addressed to the viewer (all of
// their DMs, by the recipient index) above their baseline and registration point, the newest
// UNREAD_SCAN of each room's (member rooms only) and of `all` above the marker, and the newest
// UNREAD_SCAN of their mention rows. The filters (own, deleted, withheld, other kinds, outside the
// viewer's spans) sit outside each window, so rows that do not count cost at most the window.

/**
 * The rows of `recipient` above `above`, newest first, in the order of messages_recipient
 * (recipient, id) and no other index. Not `recipient = … ORDER BY id DESC`: with the
 * recipient a constant, the primary key gives that order too, and the planner may walk it
 * backwards from the head past everyone else's messages (it did, on a log where the viewer
 * had a third of the rows). Row comparisons keep the recipient a range, so only the
 * (recipient, id) index is in order; mention_rows' window does the same with its primary key
 * (nick, event_id) rather than mention_rows_event (event_id). See also PLAN.
 */
function windowOf(recipient: string, above: string): string {
  return `(recipient, id) > (${recipient}, ${above}) AND (recipient, id) <= (${recipient}, ${OPEN})
          ORDER BY recipient DESC, id DESC`;
}

// b: the baseline and the DMs' floor; no row before the viewer has a baseline.
const BASE = `
  b AS (
    SELECT up_to AS base, greatest(up_to, ${registered(1)}) AS floor FROM read_markers
     WHERE nick = $1 AND conversation = '${BASELINE}'
  )`;
/**
 * The viewer's marker in `conv`, else their baseline (never below it), by primary key. A
 * subquery, not a join: joined, the planner took all of the viewer's markers once per row of
 * a window (it expected a handful of each), 2.5 million comparisons for 500 peers.
 */
function marker(conv: string): string {
  return `greatest(coalesce((SELECT up_to FROM read_markers
                              WHERE nick = $1 AND conversation = ${conv}), b.base), b.base)`;
}
// The DM counts, by sender: the window's ids grouped by sender first, so that each sender's
// marker is looked up once, not once per row (10,000 lookups took 15 ms of a 21 ms badge).
// OFFSET 0 keeps the marker a column, looked up once per sender.
const DM = `
  dm AS (
    SELECT p.sender AS conv, p.marker,
           (SELECT count(*) FROM unnest(p.ids) AS i WHERE i > p.marker)::int AS unread
      FROM (SELECT d.sender, d.ids, ${marker('d.sender')} AS marker
              FROM b CROSS JOIN (
                SELECT w.sender, array_agg(w.id) AS ids
                  FROM b CROSS JOIN LATERAL (
                    SELECT id, sender, kind, deleted, withheld FROM messages
                     WHERE ${windowOf('$1', 'b.floor')} LIMIT ${UNREAD_SCAN}) w
                 WHERE w.kind = 'message' AND NOT w.deleted AND NOT w.withheld
                   AND w.sender <> $1
                 GROUP BY w.sender) d
            OFFSET 0) p
  )`;
// The rooms the viewer is a member of, within its current life (floor), then `all`.
const GROUPS = `
  g AS (
    SELECT m.room AS conv, ${marker('m.room')} AS marker, r.created_id - 1 AS floor, true AS room
      FROM b CROSS JOIN members m JOIN rooms r ON r.name = m.room
     WHERE m.nick = $1
    UNION ALL
    SELECT '${EVERYONE}', ${marker(`'${EVERYONE}'`)}, 0, false FROM b
  )`;
// The rows of group g's window that count; a room's within the viewer's spans (by key).
const GROUP_ROWS = `
  SELECT 1 FROM (
    SELECT id, sender, kind, deleted FROM messages
     WHERE ${windowOf('g.conv', 'greatest(g.marker, g.floor)')} LIMIT ${UNREAD_SCAN}) m
   WHERE m.kind = 'message' AND NOT m.deleted AND m.sender <> $1
     AND (NOT g.room OR EXISTS (SELECT 1 FROM spans s WHERE s.nick = $1 AND s.room = g.conv
                                   AND s.from_id <= m.id AND coalesce(s.to_id, ${OPEN}) >= m.id))`;
// Mentions by conversation, from one window of mention rows: a DM's conversation is its other
// party (the target's sender: a DM mentions its recipient alone), a room's or `all`'s the
// recipient. A target counts above the conversation's marker and floor (a DM: the
// registration point; a room: its current life), once however many rows name it. Each
// target by key: LIMIT 1 keeps the planner from joining the window to the whole log by hash
// (it chose that when its statistics had the log small).
const MENTIONS = `
  x AS (
    SELECT k.conv, count(DISTINCT k.target)::int AS mentions FROM b CROSS JOIN LATERAL (
      SELECT CASE WHEN r.recipient = $1 THEN t.sender ELSE r.recipient END AS conv,
             r.target, r.recipient
        FROM (SELECT target, recipient FROM mention_rows
               WHERE (nick, event_id) > ($1, b.base) AND (nick, event_id) <= ($1, ${OPEN})
               ORDER BY nick DESC, event_id DESC LIMIT ${UNREAD_SCAN}) r
        CROSS JOIN LATERAL (SELECT sender, deleted FROM messages WHERE id = r.target LIMIT 1) t
       WHERE NOT t.deleted AND t.sender <> $1 OFFSET 0) k
     WHERE k.target > ${marker('k.conv')}
       AND k.target > CASE WHEN k.recipient = $1 THEN b.floor
                           ELSE coalesce((SELECT created_id FROM rooms WHERE name = k.recipient), 1) - 1
                      END
     GROUP BY k.conv
  )`;

/**
 * NotifyStore.unread in one statement, so one snapshot: every DM count from one pass over
 * the DM window (grouped by sender), each room's and `all`'s from its own, the mentions from
 * one pass over the mention rows (never more than the unread count: each has its window).
 */
export const UNREAD: pg.QueryConfig = {
  name: 'ssechat_notify_unread',
  text: `
  WITH ${BASE}, ${DM}, ${GROUPS}, ${MENTIONS}, c AS (
    SELECT conv, marker, least(unread, ${MAX_UNREAD_COUNT}) AS unread FROM dm WHERE unread > 0
    UNION ALL
    SELECT g.conv, g.marker, n.unread FROM g CROSS JOIN LATERAL (
      SELECT count(*)::int AS unread FROM (${GROUP_ROWS} LIMIT ${MAX_UNREAD_COUNT}) z) n
     WHERE n.unread > 0
  )
  SELECT c.conv, c.marker, c.unread, least(coalesce(x.mentions, 0), c.unread) AS mentions
    FROM c LEFT JOIN x ON x.conv = c.conv`,
};

/**
 * NotifyStore.unreadTotal: the same windows, at most MAX_UNREAD_COUNT. The rooms and `all`
 * are read only when the DMs leave room under it, and their rows only as far as it (LIMIT).
 */
export const UNREAD_TOTAL: pg.QueryConfig = {
  name: 'ssechat_notify_unread_total',
  text: `
  WITH ${BASE}, ${DM}, ${GROUPS}, s AS (SELECT coalesce(sum(unread), 0)::int AS n FROM dm)
  SELECT CASE WHEN s.n >= ${MAX_UNREAD_COUNT} THEN ${MAX_UNREAD_COUNT}
              ELSE s.n + (SELECT count(*)::int FROM (
                            SELECT 1 FROM g CROSS JOIN LATERAL (${GROUP_ROWS}) z
                             LIMIT ${MAX_UNREAD_COUNT} - s.n) t)
         END AS n
    FROM s`,
};

/**
 * What a window's plan may not be (SET LOCAL, for the one query). When the planner expects
 * fewer rows than the window holds (no statistics yet, or a generic plan), it reads every
 * matching row by a bitmap scan, or the whole table by a sequential one, and sorts them: the
 * viewer's whole DM history, not the window. The one path left is the index in order, which
 * the LIMIT stops. JIT: these plans' estimates reach its threshold, and compiling them took
 * 50 ms, longer than running them.
 */
const PLAN =
  'SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off; SET LOCAL jit = off';

/** Runs `query` ($1 = `nick`) with PLAN, in a transaction of its own. */
export function readWindows<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  query: pg.QueryConfig,
  nick: string,
): Promise<R[]> {
  return inTransaction(pool, async (client) => {
    await client.query(PLAN);
    return (await client.query<R>({ ...query, values: [nick] })).rows;
  });
}
