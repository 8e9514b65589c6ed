import type { ReactionSummary } from '../domain/events.js';

/**
 * A row of an engine's summaries query: one of the first MAX_REACTION_USERS users of an emoji
 * on a message, with `n` the emoji's count there (int8 may come as a string).
 */
export interface SummaryRow {
  message_id: number;
  emoji: string;
  n: number | string;
  nick: string;
}

/**
 * The summaries (StoredMessage.reactions) of a page's messages, by message id, from the rows
 * of a summaries query ordered by message, by each emoji's first reaction, then by user.
 */
export function summarize(rows: readonly SummaryRow[]): Map<number, ReactionSummary[]> {
  const out = new Map<number, ReactionSummary[]>();
  for (const row of rows) {
    const id = Number(row.message_id);
    const list = out.get(id) ?? [];
    if (list.length === 0) out.set(id, list);
    const last = list.at(-1);
    if (last?.emoji === row.emoji) (last.users as string[]).push(row.nick);
    else list.push({ emoji: row.emoji, count: Number(row.n), users: [row.nick] });
  }
  return out;
}

/**
 * `messages`, each with its summary from `summaries` when it has one: a new object, so that a
 * message read for a page never shares state with another read.
 */
export function withSummaries<T extends { readonly id: number }>(
  messages: T[],
  summaries: ReadonlyMap<number, ReactionSummary[]>,
): T[] {
  if (summaries.size === 0) return messages;
  return messages.map((m) => {
    const reactions = summaries.get(m.id);
    return reactions === undefined ? m : { ...m, reactions };
  });
}
