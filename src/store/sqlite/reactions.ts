import type Database from 'better-sqlite3';
import { ChatError } from '../../domain/errors.js';
import type { NewReaction, StoredMessage, StoredReaction } from '../../domain/events.js';
import { MAX_REACTION_EMOJI, MAX_REACTION_USERS } from '../../domain/reactions.js';
import { type SummaryRow, summarize, withSummaries } from '../reaction-rows.js';
import { LIVE_TARGET } from './append.js';
import { SqliteWithheld } from './withheld.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

// The summaries of a page's messages ($1: their ids as a JSON array), in one query: each
// emoji's count and first users, emoji in order of their first reaction (the lowest event_id),
// users oldest first. The window functions read each message's rows once, by the primary key.
// $2: the viewer: the reactions of users they block are not theirs to see (blocks-store.ts).
const SUMMARIES = `
  SELECT message_id, emoji, n, nick FROM (
    SELECT message_id, emoji, nick, event_id,
           row_number() OVER (PARTITION BY message_id, emoji ORDER BY event_id) AS rank,
           count(*) OVER (PARTITION BY message_id, emoji) AS n,
           min(event_id) OVER (PARTITION BY message_id, emoji) AS first
      FROM reactions WHERE message_id IN (SELECT value FROM json_each(?))
       AND nick NOT IN (SELECT blocked FROM blocks WHERE blocker = ?))
   WHERE rank <= ${MAX_REACTION_USERS}
   ORDER BY message_id, first, event_id`;

/**
 * The reactions table of SqliteStore (store.ts, Reactions): the writes of appendReaction,
 * which run in the append batch's transaction, the rows a delete or prune removes, and the
 * summaries history pages carry.
 */
export class SqliteReactions {
  private readonly selectTarget: Statement<[number], { id: number }>;
  private readonly selectOne: Statement<[number, string, string], { one: number }>;
  private readonly selectEmoji: Statement<[number, string], { one: number }>;
  private readonly countEmoji: Statement<[number], { n: number }>;
  private readonly insertRow: Statement<[number, string, string, number, number]>;
  private readonly deleteRow: Statement<[number, string, string]>;
  private readonly insertEvent: Statement<[number, string, string, string, number, number, number]>;
  private readonly withheld: SqliteWithheld;
  private readonly deleteFor: Statement<[number]>;
  private readonly deleteThrough: Statement<[number]>;
  private readonly selectSummaries: Statement<[string, string], SummaryRow>;

  constructor(db: Database.Database) {
    this.withheld = new SqliteWithheld(db);
    // The targets edits may have (append.ts).
    this.selectTarget = db.prepare(`SELECT id FROM messages WHERE ${LIVE_TARGET}`);
    this.selectOne = db.prepare(
      'SELECT 1 AS one FROM reactions WHERE message_id = ? AND emoji = ? AND nick = ?',
    );
    this.selectEmoji = db.prepare(
      'SELECT 1 AS one FROM reactions WHERE message_id = ? AND emoji = ? LIMIT 1',
    );
    this.countEmoji = db.prepare(
      'SELECT count(DISTINCT emoji) AS n FROM reactions WHERE message_id = ?',
    );
    this.insertRow = db.prepare(
      'INSERT INTO reactions (message_id, emoji, nick, event_id, ts) VALUES (?, ?, ?, ?, ?)',
    );
    this.deleteRow = db.prepare(
      'DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND nick = ?',
    );
    this.insertEvent = db.prepare(
      `INSERT INTO messages (kind, ts, sender, recipient, text, up_to, deleted, withheld)
       VALUES ('react', ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.deleteFor = db.prepare('DELETE FROM reactions WHERE message_id = ?');
    this.deleteThrough = db.prepare('DELETE FROM reactions WHERE message_id <= ?');
    this.selectSummaries = db.prepare(SUMMARIES);
  }

  /**
   * Adds or removes the reaction and logs it; null when that changes nothing. Throws a
   * ChatError, having written nothing, for a missing target or a full set of emoji.
   */
  write(reaction: NewReaction): StoredReaction | null {
    const { target, from, to, emoji, on, ts } = reaction;
    if (this.selectTarget.get(target) === undefined) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
    if (on) {
      if (this.selectOne.get(target, emoji, from) !== undefined) return null;
      if (
        this.selectEmoji.get(target, emoji) === undefined &&
        (this.countEmoji.get(target)?.n ?? 0) >= MAX_REACTION_EMOJI
      ) {
        throw new ChatError('CHAT_REACTIONS_FULL', `at most ${MAX_REACTION_EMOJI} emoji`);
      }
    } else if (this.deleteRow.run(target, emoji, from).changes === 0) return null;
    const held = this.withheld.of(from, to, target);
    const { lastInsertRowid } = this.insertEvent.run(
      ts,
      from,
      to,
      emoji,
      target,
      on ? 0 : 1,
      held ? 1 : 0,
    );
    const id = Number(lastInsertRowid);
    if (on) this.insertRow.run(target, emoji, from, id, ts);
    return { id, target, from, to, emoji, on, ts, ...(held && { withheld: true as const }) };
  }

  /** Removes a deleted message's reactions (in the delete's transaction). */
  drop(target: number): void {
    this.deleteFor.run(target);
  }

  /** Removes the reactions of the messages a prune removes (ids up to `last`). */
  dropThrough(last: number): void {
    this.deleteThrough.run(last);
  }

  /**
   * `messages`, each with its reactions' summary as `viewer` sees it when it has reactions
   * (one query): without the reactions of the users `viewer` blocks.
   */
  attach<T extends StoredMessage>(messages: T[], viewer: string): T[] {
    if (messages.length === 0) return messages;
    const rows = this.selectSummaries.all(JSON.stringify(messages.map((m) => m.id)), viewer);
    return withSummaries(messages, summarize(rows));
  }
}
