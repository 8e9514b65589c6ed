import type Database from 'better-sqlite3';
import { EVERYONE, type EventId, type LoggedEvent } from '../../domain/events.js';
import type {
  Conversation,
  NotifyLevel,
  NotifyStore,
  PushCandidate,
  UnreadCount,
} from '../notify-store.js';
import { BASELINE, COLUMNS, MAX_ATTENTION_CLIENTS, toEvent } from '../rows.js';
import { OPEN } from './log.js';
import { fromRaw, type RawRow } from './rows.js';
import { SqliteUnread } from './unread.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

// Who sees message or edit @id and holds a push subscription, but did not send it: everyone
// for a broadcast; a room's members whose span covers it (an edit: its target too); a DM's
// recipient, unless the message predates their registration (store.ts).
const AUDIENCE = `
  WITH e AS (
    SELECT id, sender, recipient, coalesce(up_to, id) AS subject FROM messages
     WHERE id = @id AND kind IN ('message', 'edit') AND withheld = 0
  ), seen (nick) AS (
    SELECT DISTINCT p.nick FROM e JOIN push_subscriptions p ON e.recipient = '${EVERYONE}'
    UNION
    SELECT m.nick FROM e JOIN members m ON m.room = e.recipient
     WHERE EXISTS (SELECT 1 FROM spans s WHERE s.nick = m.nick AND s.room = m.room
                      AND s.from_id <= e.subject AND ifnull(s.to_id, ${OPEN}) >= e.id)
       AND EXISTS (SELECT 1 FROM push_subscriptions p WHERE p.nick = m.nick)
    UNION
    SELECT e.recipient FROM e
     WHERE e.recipient <> '${EVERYONE}' AND substr(e.recipient, 1, 1) <> '#'
       AND e.subject > coalesce((SELECT registered FROM users u
                                  WHERE u.nick = e.recipient AND u.nick = e.recipient COLLATE BINARY), 0)
       AND EXISTS (SELECT 1 FROM push_subscriptions p WHERE p.nick = e.recipient)
  )
  SELECT seen.nick, l.level,
         EXISTS (SELECT 1 FROM mention_rows r WHERE r.nick = seen.nick AND r.event_id = e.id)
           AS mentioned
    FROM seen JOIN e ON seen.nick <> e.sender
    LEFT JOIN notify_levels l ON l.nick = seen.nick AND l.conversation =
      CASE WHEN e.recipient = '${EVERYONE}' OR substr(e.recipient, 1, 1) = '#' THEN e.recipient
           ELSE e.sender END
   ORDER BY seen.nick`;

/**
 * SqliteStore's NotifyStore: read markers, levels, attention and the push cursor, beside the
 * log. Calls are synchronous inside: the store flushes its queued appends first (`flush`), so
 * that a count sees every message appended before it.
 */
export class SqliteNotify implements NotifyStore {
  private readonly selectMarker: Statement<[string, string], { up_to: number }>;
  private readonly insertBaseline: Statement<[string, string]>;
  private readonly upsertMarker: Statement<[string, string, number], { up_to: number }>;
  private readonly selectHead: Statement<[], { id: number }>;
  private readonly selectLevels: Statement<[string], { conversation: string; level: NotifyLevel }>;
  private readonly upsertLevel: Statement<[string, string, NotifyLevel]>;
  private readonly deleteLevel: Statement<[string, string]>;
  private readonly upsertAttention: Statement<[string, string, number]>;
  private readonly trimAttention: Statement<[{ nick: string }]>;
  private readonly selectAttentive: Statement<[string, number], { nick: string }>;
  private readonly selectCursor: Statement<[], { value: number }>;
  private readonly setCursor: Statement<[number]>;
  private readonly selectWork: Statement<[number, number], RawRow>;
  private readonly selectAudience: Statement<
    [{ id: number }],
    { nick: string; level: NotifyLevel | null; mentioned: number }
  >;
  private readonly unreadTx: (nick: string) => UnreadCount[];
  private readonly totalTx: (nick: string) => number;
  private readonly markTx: (nick: string, conversation: string, upTo: number) => number;
  private readonly claimTx: (limit: number) => LoggedEvent[];
  private readonly skipTx: () => void;
  private readonly attendTx: (nick: string, client: string, until: number) => void;

  /** Prepares its statements on `db`, which must already have the current schema. */
  constructor(
    private readonly db: Database.Database,
    private readonly flush: () => void,
    registeredAt: (nick: string) => number,
  ) {
    this.selectMarker = db.prepare(
      'SELECT up_to FROM read_markers WHERE nick = ? AND conversation = ?',
    );
    // The baseline is the head when first asked for (notify-store.ts).
    this.insertBaseline = db.prepare(
      `INSERT INTO read_markers (nick, conversation, up_to)
       SELECT ?, ?, coalesce(max(id), 0) FROM messages WHERE true
       ON CONFLICT (nick, conversation) DO NOTHING`,
    );
    this.upsertMarker = db.prepare(
      `INSERT INTO read_markers (nick, conversation, up_to) VALUES (?, ?, ?)
       ON CONFLICT (nick, conversation) DO UPDATE SET up_to = max(up_to, excluded.up_to)
       RETURNING up_to`,
    );
    this.selectHead = db.prepare('SELECT coalesce(max(id), 0) AS id FROM messages');
    this.selectLevels = db.prepare('SELECT conversation, level FROM notify_levels WHERE nick = ?');
    this.upsertLevel = db.prepare(
      `INSERT INTO notify_levels (nick, conversation, level) VALUES (?, ?, ?)
       ON CONFLICT (nick, conversation) DO UPDATE SET level = excluded.level`,
    );
    this.deleteLevel = db.prepare('DELETE FROM notify_levels WHERE nick = ? AND conversation = ?');
    this.upsertAttention = db.prepare(
      `INSERT INTO attention (nick, client, until) VALUES (?, ?, ?)
       ON CONFLICT (nick, client) DO UPDATE SET until = excluded.until`,
    );
    this.trimAttention = db.prepare(
      `DELETE FROM attention WHERE nick = @nick AND client NOT IN (
         SELECT client FROM attention WHERE nick = @nick
          ORDER BY until DESC LIMIT ${MAX_ATTENTION_CLIENTS})`,
    );
    this.selectAttentive = db.prepare(
      `SELECT DISTINCT nick FROM attention
        WHERE nick IN (SELECT value FROM json_each(?)) AND until > ?`,
    );
    this.selectCursor = db.prepare("SELECT value FROM meta WHERE key = 'push_cursor'");
    this.setCursor = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('push_cursor', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    );
    this.selectWork = db
      .prepare<[number, number], RawRow>(
        `SELECT ${COLUMNS} FROM messages WHERE id > ? AND kind IN ('message', 'edit')
          ORDER BY id LIMIT ?`,
      )
      .raw(true);
    this.selectAudience = db.prepare(AUDIENCE);

    // The baseline is written once per user (IMMEDIATE, the write lock); the counts are read
    // in one read transaction, which takes no lock from appends.
    const counter = new SqliteUnread(db, registeredAt);
    const base = db.transaction((nick: string) => this.baseline(nick));
    const unread = db.transaction((nick: string) => counter.counts(nick));
    this.unreadTx = (nick) => {
      if (this.selectMarker.get(nick, BASELINE) === undefined) base.immediate(nick);
      return unread.deferred(nick).sort((a, b) => (a.with < b.with ? -1 : a.with > b.with ? 1 : 0));
    };
    const total = db.transaction((nick: string) => counter.total(nick));
    this.totalTx = (nick) => total.deferred(nick);
    const mark = db.transaction((nick: string, conversation: string, upTo: number) => {
      const base = this.baseline(nick);
      if (conversation === BASELINE) return base;
      const head = this.selectHead.get()?.id ?? 0;
      const to = Math.max(Math.min(upTo, head), base);
      return this.upsertMarker.get(nick, conversation, to)?.up_to ?? to;
    });
    this.markTx = (nick, conversation, upTo) => mark.immediate(nick, conversation, upTo);
    // IMMEDIATE: a second process claiming at once waits, then reads the moved cursor.
    const claim = db.transaction((limit: number): LoggedEvent[] => {
      const head = this.selectHead.get()?.id ?? 0;
      const cursor = this.selectCursor.get()?.value;
      if (cursor === undefined) {
        this.setCursor.run(head);
        return [];
      }
      const rows = this.selectWork.all(cursor, limit);
      const last = rows.at(-1);
      this.setCursor.run(rows.length === limit && last ? last[0] : head);
      return rows.map((r) => toEvent(fromRaw(r)));
    });
    this.claimTx = (limit) => claim.immediate(limit);
    // One statement, atomic: never moves the cursor back past another process's claim.
    const skip = db.prepare(
      `INSERT INTO meta (key, value)
         SELECT 'push_cursor', coalesce(max(id), 0) FROM messages WHERE true
       ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`,
    );
    this.skipTx = () => skip.run();
    const attend = db.transaction((nick: string, client: string, until: number) => {
      this.upsertAttention.run(nick, client, until);
      this.trimAttention.run({ nick });
    });
    this.attendTx = (nick, client, until) => attend.immediate(nick, client, until);
  }

  async setMarker(nick: string, conversation: Conversation, upTo: EventId): Promise<EventId> {
    this.flush();
    return this.markTx(nick, conversation, upTo);
  }

  async unread(nick: string): Promise<UnreadCount[]> {
    this.flush();
    return this.unreadTx(nick);
  }

  // No flush, as for the push work below: the push dispatch calls it for every push.
  async unreadTotal(nick: string): Promise<number> {
    return this.totalTx(nick);
  }

  async levels(nick: string): Promise<Map<Conversation, NotifyLevel>> {
    return new Map(this.selectLevels.all(nick).map((r) => [r.conversation, r.level]));
  }

  async setLevel(nick: string, conversation: Conversation, level: NotifyLevel | null) {
    if (level === null) this.deleteLevel.run(nick, conversation);
    else this.upsertLevel.run(nick, conversation, level);
  }

  async setAttention(nick: string, client: string, until: number): Promise<void> {
    this.attendTx(nick, client, until);
  }

  async attentive(nicks: readonly string[], now: number): Promise<Set<string>> {
    if (nicks.length === 0) return new Set();
    const rows = this.selectAttentive.all(JSON.stringify(nicks), now);
    return new Set(rows.map((r) => r.nick));
  }

  async pruneAttention(now: number): Promise<number> {
    return this.db.prepare('DELETE FROM attention WHERE until <= ?').run(now).changes;
  }

  // No flush before the push work: it would commit the write queue's batch early, once per
  // claim, and cost the send path its group commit. An append still in the queue is claimed
  // by the next call (the dispatcher is poked after each append has committed).
  async claimPushWork(limit: number): Promise<LoggedEvent[]> {
    if (!Number.isSafeInteger(limit) || limit <= 0) return [];
    return this.claimTx(limit);
  }

  // No flush, as for claimPushWork.
  async skipPushWork(): Promise<void> {
    this.skipTx();
  }

  async pushAudience(id: EventId): Promise<PushCandidate[]> {
    return this.selectAudience
      .all({ id })
      .map((r) => ({ nick: r.nick, level: r.level, mentioned: r.mentioned === 1 }));
  }

  /** `nick`'s baseline, set to the head on first use; runs in a write transaction. */
  private baseline(nick: string): EventId {
    this.insertBaseline.run(nick, BASELINE);
    return this.selectMarker.get(nick, BASELINE)?.up_to ?? 0;
  }
}
