import type pg from 'pg';
import {
  EVERYONE,
  type EventId,
  isRoom,
  type LoggedEvent,
  type StoredMessage,
} from '../../domain/events.js';
import { COLUMNS, type Row, toEvent, toMessage } from '../rows.js';
import type { RetentionPolicy } from '../store.js';
import { registered } from './accounts.js';
import { inTransaction, MAINTENANCE_QUERY_TIMEOUT_MS, timed } from './client.js';
import { dropUploads } from './uploads.js';
import { blocks } from './withheld.js';

/**
 * Most rows one prune transaction deletes. Between chunks the row locks are released and the
 * event loop turns, so a large prune does not hold up takeOffline or fill PostgreSQL's memory
 * with one huge transaction.
 */
const PRUNE_CHUNK = 10_000;

/** Whether span `s` covers the id of row `m` (SQL). */
export const COVERS = 'm.id >= s.from_id AND m.id <= coalesce(s.to_id, 9223372036854775807)';

// Named queries are prepared once per pooled connection and then only bound and executed.
// The arms are disjoint, and each reads one index in id order and stops at the limit, so a
// resume from far back costs O(limit), not a sort of everything since the cursor: left to
// itself, the planner collects every broadcast after the cursor and sorts them. The arms:
// broadcasts (and their edits and deletes); what was sent to the viewer; what the viewer sent
// outside rooms, and the changes of their own membership that the fourth arm leaves out
// (quiet, or outside their spans: an invitation); the fourth reads each room in the viewer's
// spans from the recipient index, within that span. What was addressed to the viewer, and
// their own membership changes, count only above their registration point (store.ts): for an
// edit, a delete or a receipt, up_to is the message it is about. What is withheld from the
// viewer (they blocked its sender, blocks-store.ts) is never theirs, and in rooms the
// reactions of users the viewer blocks are left out.
const SINCE: pg.QueryConfig = {
  name: 'ssechat_since',
  text: `
  (SELECT ${COLUMNS} FROM messages
    WHERE recipient = '${EVERYONE}' AND kind <> 'read' AND id > $1 ORDER BY id LIMIT $3)
  UNION ALL
  (SELECT ${COLUMNS} FROM messages WHERE recipient = $2 AND id > $1
      AND coalesce(up_to, id) > ${registered(2)} AND NOT withheld ORDER BY id LIMIT $3)
  UNION ALL
  (SELECT ${COLUMNS} FROM messages m WHERE sender = $2 AND recipient <> $2 AND id > $1
      AND NOT (recipient = '${EVERYONE}' AND kind <> 'read')
      AND (recipient NOT LIKE '#%' OR (kind = 'member' AND id > ${registered(2)} AND NOT withheld
        AND (quiet OR NOT EXISTS (
        SELECT 1 FROM spans s WHERE s.nick = $2 AND s.room = m.recipient AND ${COVERS}))))
      ORDER BY id LIMIT $3)
  UNION ALL
  (SELECT m.* FROM spans s CROSS JOIN LATERAL (
      SELECT ${COLUMNS} FROM messages m
       WHERE recipient = s.room AND id > greatest($1, s.from_id - 1)
         AND id <= coalesce(s.to_id, 9223372036854775807) AND NOT quiet
         AND (kind NOT IN ('edit', 'react') OR up_to >= s.from_id)
         AND (kind <> 'react' OR NOT ${blocks('$2', 'm.sender')})
       ORDER BY id LIMIT $3) m
    WHERE s.nick = $2 AND (s.to_id IS NULL OR s.to_id > $1) ORDER BY id LIMIT $3)
  ORDER BY id LIMIT $3`,
};
const ALL: pg.QueryConfig = {
  name: 'ssechat_log',
  text: `SELECT ${COLUMNS} FROM messages WHERE id > $1 ORDER BY id LIMIT $2`,
};
// History pages are newest first, so that LIMIT keeps the page next to `before`; the caller
// reverses them.
const BROADCASTS: pg.QueryConfig = {
  name: 'ssechat_history_all',
  text: `SELECT ${COLUMNS} FROM messages WHERE recipient = '${EVERYONE}' AND kind = 'message'
            AND id < $1 ORDER BY id DESC LIMIT $2`,
};
const NOTES: pg.QueryConfig = {
  name: 'ssechat_history_self',
  text: `SELECT ${COLUMNS} FROM messages WHERE recipient = $1 AND sender = $1
            AND kind = 'message' AND id < $2 AND id > ${registered(1)}
          ORDER BY id DESC LIMIT $3`,
};
const DIRECT: pg.QueryConfig = {
  name: 'ssechat_history_direct',
  text: `
  (SELECT ${COLUMNS} FROM messages
    WHERE recipient = $2 AND sender = $1 AND kind = 'message' AND id < $3
    ORDER BY id DESC LIMIT $4)
  UNION ALL
  (SELECT ${COLUMNS} FROM messages
    WHERE recipient = $1 AND sender = $2 AND kind = 'message' AND id < $3
      AND id > ${registered(1)} AND NOT withheld
    ORDER BY id DESC LIMIT $4)
  ORDER BY id DESC LIMIT $4`,
};
// A room's messages within the viewer's spans, or all of them in history mode all: one arm
// runs, the other is cut off by its one-time condition on rooms. Either way only those of
// the room's current life (store.ts): none when there is no such room.
const ROOM: pg.QueryConfig = {
  name: 'ssechat_history_room',
  text: `
  (SELECT ${COLUMNS} FROM messages
    WHERE recipient = $2 AND kind = 'message' AND id < $3
      AND id >= (SELECT created_id FROM rooms WHERE name = $2)
      AND EXISTS (SELECT 1 FROM rooms WHERE name = $2 AND history = 'all')
    ORDER BY id DESC LIMIT $4)
  UNION ALL
  (SELECT m.* FROM spans s CROSS JOIN LATERAL (
      SELECT ${COLUMNS} FROM messages m
       WHERE recipient = s.room AND kind = 'message' AND id >= s.from_id
         AND id < least($3, coalesce(s.to_id + 1, 9223372036854775807))
       ORDER BY id DESC LIMIT $4) m
    WHERE s.nick = $1 AND s.room = $2 AND s.from_id < $3
      AND s.from_id >= (SELECT created_id FROM rooms WHERE name = $2)
      AND NOT EXISTS (SELECT 1 FROM rooms WHERE name = $2 AND history = 'all')
    ORDER BY id DESC LIMIT $4)
  ORDER BY id DESC LIMIT $4`,
};
// The pages after a message (historyAfter): the same arms as the pages before it, read
// forwards from `after`, oldest first.
const BROADCASTS_AFTER: pg.QueryConfig = {
  name: 'ssechat_history_all_after',
  text: `SELECT ${COLUMNS} FROM messages WHERE recipient = '${EVERYONE}' AND kind = 'message'
            AND id > $1 ORDER BY id LIMIT $2`,
};
const NOTES_AFTER: pg.QueryConfig = {
  name: 'ssechat_history_self_after',
  text: `SELECT ${COLUMNS} FROM messages WHERE recipient = $1 AND sender = $1
            AND kind = 'message' AND id > $2 AND id > ${registered(1)}
          ORDER BY id LIMIT $3`,
};
const DIRECT_AFTER: pg.QueryConfig = {
  name: 'ssechat_history_direct_after',
  text: `
  (SELECT ${COLUMNS} FROM messages
    WHERE recipient = $2 AND sender = $1 AND kind = 'message' AND id > $3
    ORDER BY id LIMIT $4)
  UNION ALL
  (SELECT ${COLUMNS} FROM messages
    WHERE recipient = $1 AND sender = $2 AND kind = 'message' AND id > $3
      AND id > ${registered(1)} AND NOT withheld
    ORDER BY id LIMIT $4)
  ORDER BY id LIMIT $4`,
};
const ROOM_AFTER: pg.QueryConfig = {
  name: 'ssechat_history_room_after',
  text: `
  (SELECT ${COLUMNS} FROM messages
    WHERE recipient = $2 AND kind = 'message' AND id > $3
      AND id >= (SELECT created_id FROM rooms WHERE name = $2)
      AND EXISTS (SELECT 1 FROM rooms WHERE name = $2 AND history = 'all')
    ORDER BY id LIMIT $4)
  UNION ALL
  (SELECT m.* FROM spans s CROSS JOIN LATERAL (
      SELECT ${COLUMNS} FROM messages m
       WHERE recipient = s.room AND kind = 'message' AND id > greatest($3, s.from_id - 1)
         AND id <= coalesce(s.to_id, 9223372036854775807)
       ORDER BY id LIMIT $4) m
    WHERE s.nick = $1 AND s.room = $2 AND coalesce(s.to_id, 9223372036854775807) > $3
      AND s.from_id >= (SELECT created_id FROM rooms WHERE name = $2)
      AND NOT EXISTS (SELECT 1 FROM rooms WHERE name = $2 AND history = 'all')
    ORDER BY id LIMIT $4)
  ORDER BY id LIMIT $4`,
};
const MESSAGE: pg.QueryConfig = {
  name: 'ssechat_message',
  text: `SELECT ${COLUMNS} FROM messages WHERE id = $1 AND kind = 'message'`,
};
// One statement: the DELETE locks the mailbox rows it takes, so a concurrent taker (on this
// node or another) blocks on them and then finds them gone. What waited for the nick before
// its account was made is deleted and not handed out (store.ts). The messages were committed with
// their mailbox rows, so the statement's snapshot sees every one it deletes.
const TAKE: pg.QueryConfig = {
  name: 'ssechat_take_offline',
  text: `
  WITH taken AS (DELETE FROM offline WHERE recipient = $1 RETURNING message_id)
  SELECT ${COLUMNS} FROM messages WHERE id IN (SELECT message_id FROM taken)
     AND id > ${registered(1)} ORDER BY id`,
};

/**
 * The reads and the retention of PostgresStore's log. The store awaits its queued appends
 * before calling a read, so that the read sees them.
 */
export class PostgresLog {
  /** Reads through `pool`, whose connections already use the store's schema. */
  constructor(private readonly pool: pg.Pool) {}

  /**
   * The highest id in the log. Appends commit in id order (see store.ts), so every id
   * below it is committed or will never exist; prune keeps the newest row, so it is also the
   * last id assigned.
   */
  async head(): Promise<EventId> {
    const { rows } = await this.pool.query<{ id: number }>(
      'SELECT coalesce(max(id), 0) AS id FROM messages',
    );
    return rows[0]?.id ?? 0;
  }

  /** See Store.prunedThrough. */
  async prunedThrough(): Promise<EventId> {
    const { rows } = await this.pool.query<{ value: number }>(
      "SELECT value FROM meta WHERE key = 'pruned_through'",
    );
    return rows[0]?.value ?? 0;
  }

  /** See Store.since. */
  async since(viewer: string, after: EventId, limit: number): Promise<LoggedEvent[]> {
    // PostgreSQL rejects a negative LIMIT.
    if (limit <= 0) return [];
    return (await this.rows(SINCE, [after, viewer, limit])).map(toEvent);
  }

  /** See Store.log. */
  async all(after: EventId, limit: number): Promise<LoggedEvent[]> {
    if (limit <= 0) return [];
    return (await this.rows(ALL, [after, limit])).map(toEvent);
  }

  /** See Store.history. */
  async history(
    viewer: string,
    peer: string,
    before: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    if (limit <= 0) return [];
    let rows: Row[];
    if (peer === EVERYONE) rows = await this.rows(BROADCASTS, [before, limit]);
    else if (isRoom(peer)) rows = await this.rows(ROOM, [viewer, peer, before, limit]);
    else if (peer === viewer) rows = await this.rows(NOTES, [viewer, before, limit]);
    else rows = await this.rows(DIRECT, [viewer, peer, before, limit]);
    return rows.reverse().map(toMessage);
  }

  /** See Store.historyAfter. */
  async historyAfter(
    viewer: string,
    peer: string,
    after: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    if (limit <= 0) return [];
    let rows: Row[];
    if (peer === EVERYONE) rows = await this.rows(BROADCASTS_AFTER, [after, limit]);
    else if (isRoom(peer)) rows = await this.rows(ROOM_AFTER, [viewer, peer, after, limit]);
    else if (peer === viewer) rows = await this.rows(NOTES_AFTER, [viewer, after, limit]);
    else rows = await this.rows(DIRECT_AFTER, [viewer, peer, after, limit]);
    return rows.map(toMessage);
  }

  /** See Store.message. */
  async message(id: EventId): Promise<StoredMessage | undefined> {
    const [row] = await this.rows(MESSAGE, [id]);
    return row && toMessage(row);
  }

  /** See Store.takeOffline. */
  async takeOffline(nick: string): Promise<StoredMessage[]> {
    return (await this.rows(TAKE, [nick])).map(toMessage);
  }

  /**
   * Removes the oldest entries up to the first one the policy keeps: with an age bound, that is
   * the first entry not older than it, so an old entry logged after a newer one (the clock
   * stepped back) waits for a later prune and `prunedThrough` stays a clean cut. Deletes in
   * chunks of PRUNE_CHUNK, each in its own transaction; `stopped()` ends it between chunks.
   */
  async prune(policy: RetentionPolicy, stopped: () => boolean): Promise<number> {
    const below = await this.pruneBound(policy);
    let removed = 0;
    while (below > 0 && !stopped()) {
      const n = await this.pruneChunk(below);
      removed += n;
      if (n < PRUNE_CHUNK) break;
    }
    return removed;
  }

  /** The id below which `policy` removes entries, never above the newest; 0 for none. */
  private async pruneBound(policy: RetentionPolicy): Promise<EventId> {
    const { rows: head } = await this.pool.query<{ id: number }>(
      maintenance('SELECT coalesce(max(id), 0) AS id FROM messages'),
    );
    const newest = head[0]?.id ?? 0;
    let below = 0;
    if (policy.olderThan > 0) {
      // Scans from the oldest row and stops at the first young one: cheap when run regularly.
      const { rows } = await this.pool.query<{ id: number }>(
        maintenance('SELECT id FROM messages WHERE ts >= $1 ORDER BY id LIMIT 1', [
          policy.olderThan,
        ]),
      );
      below = rows[0]?.id ?? newest;
    }
    if (policy.keep > 0) {
      // Walks `keep` index entries back from the newest: seconds for tens of millions.
      const { rows } = await this.pool.query<{ id: number }>(
        maintenance('SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET $1', [
          policy.keep - 1,
        ]),
      );
      below = Math.max(below, rows[0]?.id ?? 0);
    }
    return Math.min(below, newest);
  }

  /** Deletes up to PRUNE_CHUNK of the oldest entries below `below`, in one transaction. */
  private pruneChunk(below: EventId): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ last: number | null }>(
        maintenance(
          'SELECT max(id) AS last FROM (SELECT id FROM messages WHERE id < $1 ORDER BY id LIMIT $2) s',
          [below, PRUNE_CHUNK],
        ),
      );
      const last = rows[0]?.last ?? null;
      if (last === null) return 0;
      // Mailbox rows first: they reference the messages (foreign key).
      await client.query(maintenance('DELETE FROM offline WHERE message_id <= $1', [last]));
      await client.query(maintenance('DELETE FROM mention_rows WHERE event_id <= $1', [last]));
      await client.query(maintenance(dropUploads('message_id <= $2'), [Date.now(), last]));
      await client.query(maintenance('DELETE FROM reactions WHERE message_id <= $1', [last]));
      const { rowCount } = await client.query(
        maintenance('DELETE FROM messages WHERE id <= $1', [last]),
      );
      // greatest(): two nodes pruning at once must not move the mark backwards.
      await client.query(
        maintenance(
          `INSERT INTO meta (key, value) VALUES ('pruned_through', $1)
         ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, excluded.value)`,
          [last],
        ),
      );
      return rowCount ?? 0;
    });
  }

  private async rows(query: pg.QueryConfig, values: unknown[]): Promise<Row[]> {
    return (await this.pool.query<Row>({ ...query, values })).rows;
  }
}

/** A prune's statement, with the long timeout of maintenance (MAINTENANCE_QUERY_TIMEOUT_MS). */
function maintenance(text: string, values: unknown[] = []): pg.QueryConfig {
  return timed(text, MAINTENANCE_QUERY_TIMEOUT_MS, values);
}
