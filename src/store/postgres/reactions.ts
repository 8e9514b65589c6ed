import type pg from 'pg';
import { ChatError } from '../../domain/errors.js';
import type { NewReaction, StoredMessage, StoredReaction } from '../../domain/events.js';
import { MAX_REACTION_EMOJI, MAX_REACTION_USERS } from '../../domain/reactions.js';
import { type SummaryRow, summarize, withSummaries } from '../reaction-rows.js';
import { CURRENT } from './changes.js';
import { WITHHELD_PAIR } from './withheld.js';

// The writes of this file run inside an append batch's transaction, which holds the append
// lock (store.ts): nothing changes a message's reactions between the state read and the write.

// What appendReaction decides on ($1 target, $2 nick, $3 emoji): whether the target is a
// stored, undeleted message of its room's current life, whether this user's reaction is
// there, and whether a new emoji would be one too many.
const STATE: pg.QueryConfig = {
  name: 'ssechat_reaction_state',
  text: `
  SELECT EXISTS (
           SELECT 1 FROM messages
            WHERE id = $1 AND kind = 'message' AND NOT deleted AND ${CURRENT}
         ) AS found,
         EXISTS (SELECT 1 FROM reactions WHERE message_id = $1 AND emoji = $3 AND nick = $2)
           AS present,
         NOT EXISTS (SELECT 1 FROM reactions WHERE message_id = $1 AND emoji = $3)
           AND (SELECT count(DISTINCT emoji) FROM reactions WHERE message_id = $1)
               >= ${MAX_REACTION_EMOJI} AS full`,
};

// Logs the reaction ($1 ts, $2 from, $3 to, $4 emoji, $5 target, $6 taken back) and adds its
// row when it adds one; the caller removed the row of one taken back.
const LOG: pg.QueryConfig = {
  name: 'ssechat_reaction_log',
  text: `
  WITH logged AS (
    INSERT INTO messages (id, kind, ts, sender, recipient, text, up_to, deleted, withheld)
    VALUES (nextval('messages_id_seq'), 'react', $1, $2, $3, $4, $5, $6,
            ${WITHHELD_PAIR('$2', '$3')}
            OR coalesce((SELECT withheld FROM messages WHERE id = $5), false))
    RETURNING id, withheld
  ), added AS (
    INSERT INTO reactions (message_id, emoji, nick, event_id, ts)
    SELECT $5, $4, $2, id, $1 FROM logged WHERE NOT $6
  )
  SELECT id, withheld FROM logged`,
};

const REMOVE: pg.QueryConfig = {
  name: 'ssechat_reaction_remove',
  text: 'DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND nick = $3',
};

// The summaries of a page's messages ($1: their ids) as viewer $2 sees them: see
// sqlite/reactions.ts, SUMMARIES.
const SUMMARIES: pg.QueryConfig = {
  name: 'ssechat_reaction_summaries',
  text: `
  SELECT message_id, emoji, n, nick FROM (
    SELECT message_id, emoji, nick, event_id,
           row_number() OVER (PARTITION BY message_id, emoji ORDER BY event_id) AS rank,
           count(*) OVER (PARTITION BY message_id, emoji) AS n,
           min(event_id) OVER (PARTITION BY message_id, emoji) AS first
      FROM reactions WHERE message_id = ANY ($1::int8[])
       AND nick NOT IN (SELECT blocked FROM blocks WHERE blocker = $2)) s
   WHERE rank <= ${MAX_REACTION_USERS}
   ORDER BY message_id, first, event_id`,
};

/**
 * Adds or removes a reaction and logs it (Store.appendReaction); null when that changes
 * nothing. Throws a ChatError, having written nothing, for a missing target or a full set.
 */
export async function writeReaction(
  client: pg.ClientBase,
  reaction: NewReaction,
): Promise<StoredReaction | null> {
  const { target, from, to, emoji, on, ts } = reaction;
  const { rows } = await client.query<{ found: boolean; present: boolean; full: boolean }>({
    ...STATE,
    values: [target, from, emoji],
  });
  const state = rows[0];
  if (!state?.found) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
  if (on) {
    if (state.present) return null;
    if (state.full) {
      throw new ChatError('CHAT_REACTIONS_FULL', `at most ${MAX_REACTION_EMOJI} emoji`);
    }
  } else {
    if (!state.present) return null;
    await client.query({ ...REMOVE, values: [target, emoji, from] });
  }
  const logged = await client.query<{ id: number; withheld: boolean }>({
    ...LOG,
    values: [ts, from, to, emoji, target, !on],
  });
  const id = logged.rows[0]?.id as number;
  const held = logged.rows[0]?.withheld === true;
  return { id, target, from, to, emoji, on, ts, ...(held && { withheld: true as const }) };
}

/**
 * `messages`, each with its reactions' summary as `viewer` sees it when it has reactions (one
 * query): without the reactions of the users `viewer` blocks.
 */
export async function withReactions<T extends StoredMessage>(
  pool: pg.Pool,
  messages: T[],
  viewer: string,
): Promise<T[]> {
  if (messages.length === 0) return messages;
  const { rows } = await pool.query<SummaryRow>({
    ...SUMMARIES,
    values: [messages.map((m) => m.id), viewer],
  });
  return withSummaries(messages, summarize(rows));
}
