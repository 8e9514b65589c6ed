import type pg from 'pg';
import { EVERYONE, type EventId, type LoggedEvent } from '../../domain/events.js';
import type {
  Conversation,
  NotifyLevel,
  NotifyStore,
  PushCandidate,
  UnreadCount,
} from '../notify-store.js';
import { BASELINE, COLUMNS, MAX_ATTENTION_CLIENTS, type Row, toEvent } from '../rows.js';
import { inTransaction } from './client.js';
import { readWindows, UNREAD, UNREAD_TOTAL } from './unread.js';

const OPEN = '9223372036854775807';

// The baseline is the head when first asked for (notify-store.ts); $1 nick.
const BASELINE_ROW: pg.QueryConfig = {
  name: 'ssechat_notify_baseline',
  text: `INSERT INTO read_markers (nick, conversation, up_to)
         SELECT $1, '${BASELINE}', coalesce(max(id), 0) FROM messages
         ON CONFLICT (nick, conversation) DO NOTHING`,
};

// Forward only, never above the head nor below the baseline; $1 nick, $2 conversation, $3 upTo.
const MARK: pg.QueryConfig = {
  name: 'ssechat_notify_mark',
  text: `
  INSERT INTO read_markers (nick, conversation, up_to)
  SELECT $1, $2, greatest(least($3::int8, (SELECT coalesce(max(id), 0) FROM messages)), b.up_to)
    FROM read_markers b WHERE b.nick = $1 AND b.conversation = '${BASELINE}'
  ON CONFLICT (nick, conversation)
    DO UPDATE SET up_to = greatest(read_markers.up_to, excluded.up_to)
  RETURNING up_to`,
};

// The rows above the cursor and the head, in one snapshot: every id up to the head is
// committed or never will be (store.ts), so the cursor may move to it.
const WORK: pg.QueryConfig = {
  name: 'ssechat_notify_work',
  text: `
  WITH h AS (SELECT coalesce(max(id), 0) AS head FROM messages)
  SELECT h.head, w.* FROM h LEFT JOIN LATERAL (
    SELECT ${COLUMNS} FROM messages
     WHERE id > $1 AND id <= h.head AND kind IN ('message', 'edit') ORDER BY id LIMIT $2) w
    ON true`,
};

// See AUDIENCE in sqlite/notify.ts.
const AUDIENCE: pg.QueryConfig = {
  name: 'ssechat_notify_audience',
  text: `
  WITH e AS (
    SELECT id, sender, recipient, coalesce(up_to, id) AS subject FROM messages
     WHERE id = $1 AND kind IN ('message', 'edit') AND NOT withheld
  ), seen (nick) AS (
    SELECT DISTINCT p.nick FROM e JOIN push_subscriptions p ON e.recipient = '${EVERYONE}'
    UNION
    SELECT m.nick FROM e JOIN members m ON m.room = e.recipient
     WHERE EXISTS (SELECT 1 FROM spans s WHERE s.nick = m.nick AND s.room = m.room
                      AND s.from_id <= e.subject AND coalesce(s.to_id, ${OPEN}) >= e.id)
       AND EXISTS (SELECT 1 FROM push_subscriptions p WHERE p.nick = m.nick)
    UNION
    SELECT e.recipient FROM e
     WHERE e.recipient <> '${EVERYONE}' AND e.recipient NOT LIKE '#%'
       AND e.subject > coalesce((SELECT registered FROM users u WHERE u.nick = e.recipient), 0)
       AND EXISTS (SELECT 1 FROM push_subscriptions p WHERE p.nick = e.recipient)
  )
  SELECT seen.nick, l.level,
         EXISTS (SELECT 1 FROM mention_rows r WHERE r.nick = seen.nick AND r.event_id = e.id)
           AS mentioned
    FROM seen JOIN e ON seen.nick <> e.sender
    LEFT JOIN notify_levels l ON l.nick = seen.nick AND l.conversation =
      CASE WHEN e.recipient = '${EVERYONE}' OR e.recipient LIKE '#%' THEN e.recipient
           ELSE e.sender END
   ORDER BY seen.nick COLLATE "C"`,
};

/**
 * PostgresStore's NotifyStore. Each call first waits for the appends queued before it
 * (`flushed`), so that a count sees every message appended before it.
 */
export class PostgresNotify implements NotifyStore {
  /** Reads and writes through `pool`, whose connections already use the store's schema. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly flushed: () => Promise<void>,
  ) {}

  async setMarker(nick: string, conversation: Conversation, upTo: EventId): Promise<EventId> {
    await this.flushed();
    await this.pool.query({ ...BASELINE_ROW, values: [nick] });
    if (conversation === BASELINE) return this.baseline(nick);
    const { rows } = await this.pool.query<{ up_to: number }>({
      ...MARK,
      values: [nick, conversation, upTo],
    });
    return rows[0]?.up_to ?? 0;
  }

  async unread(nick: string): Promise<UnreadCount[]> {
    await this.flushed();
    await this.pool.query({ ...BASELINE_ROW, values: [nick] });
    const rows = await readWindows<{
      conv: string;
      marker: number;
      unread: number;
      mentions: number;
    }>(this.pool, UNREAD, nick);
    return rows
      .map((r) => ({ with: r.conv, marker: r.marker, unread: r.unread, mentions: r.mentions }))
      .sort((a, b) => (a.with < b.with ? -1 : a.with > b.with ? 1 : 0));
  }

  // No wait for this process's pending appends, as for the push work below: the push
  // dispatch calls it for every push.
  async unreadTotal(nick: string): Promise<number> {
    const rows = await readWindows<{ n: number }>(this.pool, UNREAD_TOTAL, nick);
    return rows[0]?.n ?? 0;
  }

  async levels(nick: string): Promise<Map<Conversation, NotifyLevel>> {
    const { rows } = await this.pool.query<{ conversation: string; level: NotifyLevel }>(
      'SELECT conversation, level FROM notify_levels WHERE nick = $1',
      [nick],
    );
    return new Map(rows.map((r) => [r.conversation, r.level]));
  }

  async setLevel(nick: string, conversation: Conversation, level: NotifyLevel | null) {
    if (level === null) {
      await this.pool.query('DELETE FROM notify_levels WHERE nick = $1 AND conversation = $2', [
        nick,
        conversation,
      ]);
      return;
    }
    await this.pool.query(
      `INSERT INTO notify_levels (nick, conversation, level) VALUES ($1, $2, $3)
       ON CONFLICT (nick, conversation) DO UPDATE SET level = excluded.level`,
      [nick, conversation, level],
    );
  }

  async setAttention(nick: string, client: string, until: number): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO attention (nick, client, until) VALUES ($1, $2, $3)
         ON CONFLICT (nick, client) DO UPDATE SET until = excluded.until`,
        [nick, client, until],
      );
      await c.query(
        `DELETE FROM attention WHERE nick = $1 AND client NOT IN (
           SELECT client FROM attention WHERE nick = $1
            ORDER BY until DESC LIMIT ${MAX_ATTENTION_CLIENTS})`,
        [nick],
      );
    });
  }

  async attentive(nicks: readonly string[], now: number): Promise<Set<string>> {
    if (nicks.length === 0) return new Set();
    const { rows } = await this.pool.query<{ nick: string }>(
      'SELECT DISTINCT nick FROM attention WHERE nick = ANY ($1::text[]) AND until > $2',
      [nicks, now],
    );
    return new Set(rows.map((r) => r.nick));
  }

  async pruneAttention(now: number): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM attention WHERE until <= $1', [now]);
    return rowCount ?? 0;
  }

  /**
   * The cursor's row is locked (FOR UPDATE) for the whole transaction: a second process
   * claiming at once waits, then reads the moved cursor.
   */
  async claimPushWork(limit: number): Promise<LoggedEvent[]> {
    if (!Number.isSafeInteger(limit) || limit <= 0) return [];
    // No wait for this process's pending appends: the next claim takes them (see
    // sqlite/notify.ts), and waiting would hold the push work behind every batch.
    return inTransaction(this.pool, async (client) => {
      const { rows: found } = await client.query<{ value: number }>(
        "SELECT value FROM meta WHERE key = 'push_cursor' FOR UPDATE",
      );
      const cursor = found[0]?.value;
      if (cursor === undefined) {
        await client.query(
          `INSERT INTO meta (key, value) SELECT 'push_cursor', coalesce(max(id), 0) FROM messages
           ON CONFLICT (key) DO NOTHING`,
        );
        return [];
      }
      const { rows } = await client.query<Row & { head: number }>({
        ...WORK,
        values: [cursor, limit],
      });
      const work = rows.filter((r) => r.id !== null);
      const head = rows[0]?.head ?? cursor;
      const moved = work.length === limit ? (work.at(-1)?.id ?? head) : head;
      await client.query("UPDATE meta SET value = $1 WHERE key = 'push_cursor'", [moved]);
      return work.map(toEvent);
    });
  }

  // One statement: never moves the cursor back past another process's claim.
  async skipPushWork(): Promise<void> {
    await this.pool.query(
      `INSERT INTO meta (key, value) SELECT 'push_cursor', coalesce(max(id), 0) FROM messages
       ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value, excluded.value)`,
    );
  }

  async pushAudience(id: EventId): Promise<PushCandidate[]> {
    const { rows } = await this.pool.query<PushCandidate>({ ...AUDIENCE, values: [id] });
    return rows.map(({ nick, level, mentioned }) => ({ nick, level, mentioned }));
  }

  private async baseline(nick: string): Promise<EventId> {
    const { rows } = await this.pool.query<{ up_to: number }>(
      `SELECT up_to FROM read_markers WHERE nick = $1 AND conversation = '${BASELINE}'`,
      [nick],
    );
    return rows[0]?.up_to ?? 0;
  }
}
