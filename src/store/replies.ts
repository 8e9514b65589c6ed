import type { EventId, LoggedEvent, StoredMessage } from '../domain/events.js';
import { type ReplyPreview, replyPreview, unavailable } from '../domain/replies.js';

/** A reply's target as an engine's preview query reads it (sqlite/replies.ts, postgres/). */
export interface TargetRow {
  id: number;
  sender: string;
  /** Cut in SQL to a bound above the preview's; replyPreview cuts it on a grapheme. */
  text: string;
  ts: number;
  edited: number | null;
  /** How many files it carries; NULL for none. */
  files: number | null;
}

/**
 * `messages` with `reply` set on each reply (store.ts, "Replies"): the preview of its target
 * when `seen` (the engine's query, which states who sees what) returns it, else unavailable.
 * `seen` is asked once, for every distinct target of the page; a page without replies is
 * returned as it is. The engine's query decides visibility; this only pairs rows with ids.
 */
export function attachPreviews(
  messages: StoredMessage[],
  seen: (ids: readonly EventId[]) => TargetRow[],
): StoredMessage[];
export function attachPreviews(
  messages: StoredMessage[],
  seen: (ids: readonly EventId[]) => Promise<TargetRow[]>,
): Promise<StoredMessage[]>;
export function attachPreviews(
  messages: StoredMessage[],
  seen: (ids: readonly EventId[]) => TargetRow[] | Promise<TargetRow[]>,
): StoredMessage[] | Promise<StoredMessage[]> {
  const ids = new Set<EventId>();
  for (const m of messages) if (m.replyTo !== undefined) ids.add(m.replyTo);
  if (ids.size === 0) return messages;
  const rows = seen([...ids]);
  return rows instanceof Promise ? rows.then((r) => pair(messages, r)) : pair(messages, rows);
}

function pair(messages: StoredMessage[], rows: TargetRow[]): StoredMessage[] {
  const previews = new Map<EventId, ReplyPreview>();
  for (const row of rows) {
    previews.set(
      row.id,
      replyPreview({
        id: row.id,
        from: row.sender,
        text: row.text,
        ts: row.ts,
        ...(row.edited !== null && { edited: row.edited }),
        ...(row.files !== null && { attachments: row.files }),
      }),
    );
  }
  return messages.map((m) =>
    m.replyTo === undefined
      ? m
      : { ...m, reply: previews.get(m.replyTo) ?? unavailable(m.replyTo) },
  );
}

/** The messages among `events`, in order (for attachPreviews). */
export function messagesOf(events: readonly LoggedEvent[]): StoredMessage[] {
  return events.flatMap((e) => (e.kind === 'message' ? [e.message] : []));
}

/** `events` with their messages replaced, in order, by `shown` (messagesOf's, previewed). */
export function withMessages(
  events: LoggedEvent[],
  messages: readonly StoredMessage[],
  shown: readonly StoredMessage[],
): LoggedEvent[] {
  if (shown === messages) return events;
  let i = 0;
  return events.map((e) => (e.kind === 'message' ? { ...e, message: shown[i++] ?? e.message } : e));
}
