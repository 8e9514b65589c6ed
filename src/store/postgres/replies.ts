import type pg from 'pg';
import { EVERYONE, type LoggedEvent, type StoredMessage } from '../../domain/events.js';
import { REPLY_PREVIEW_CHARS } from '../../domain/replies.js';
import { attachPreviews, messagesOf, type TargetRow, withMessages } from '../replies.js';
import { registered } from './accounts.js';
import { COVERS } from './log.js';

// The targets of a page's replies that the viewer ($2) sees, by the rule of history
// (store.ts): a broadcast; a direct message they sent, or one sent to them above their
// registration point (notes to self by the second arm, as the notes page does); a message of
// a room's current life that one of their spans covers, or any of it while they are a member
// of a room whose history mode is `all`. Deleted targets are left out: they read as
// unavailable. The text is cut in SQL to twice the preview's bound (a grapheme may take
// several code points), and to the bound on a grapheme boundary in JavaScript.
const SEEN: pg.QueryConfig = {
  name: 'ssechat_reply_targets',
  text: `
  SELECT m.id, m.sender, substr(m.text, 1, ${REPLY_PREVIEW_CHARS * 2}) AS text, m.ts, m.edited,
         jsonb_array_length(m.attachments::jsonb) AS files
    FROM messages m
   WHERE m.id = ANY ($1::int8[]) AND m.kind = 'message' AND NOT m.deleted
     AND (m.recipient = '${EVERYONE}'
       OR (m.sender = $2 AND m.recipient <> $2 AND m.recipient NOT LIKE '#%')
       OR (m.recipient = $2 AND m.id > ${registered(2)} AND NOT m.withheld)
       OR (m.recipient LIKE '#%' AND EXISTS (
             SELECT 1 FROM rooms r WHERE r.name = m.recipient AND r.created_id <= m.id AND (
                  EXISTS (SELECT 1 FROM spans s
                           WHERE s.nick = $2 AND s.room = m.recipient AND ${COVERS})
               OR (r.history = 'all' AND EXISTS (
                    SELECT 1 FROM members mb WHERE mb.room = r.name AND mb.nick = $2))))))`,
};

/** Builds the previews of replies (store.ts, "Replies") for one reader: one query per page. */
export class PostgresReplies {
  constructor(private readonly pool: pg.Pool) {}

  /** `messages` with the preview each reply shows `viewer`. */
  messages(viewer: string, messages: StoredMessage[]): Promise<StoredMessage[]> {
    return attachPreviews(messages, async (ids) => {
      const { rows } = await this.pool.query<TargetRow>({ ...SEEN, values: [ids, viewer] });
      return rows;
    });
  }

  /** `events` with the preview each reply among them shows `viewer`. */
  async events(viewer: string, events: LoggedEvent[]): Promise<LoggedEvent[]> {
    const messages = messagesOf(events);
    return withMessages(events, messages, await this.messages(viewer, messages));
  }
}
