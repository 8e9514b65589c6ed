import type Database from 'better-sqlite3';
import { EVERYONE, type LoggedEvent, type StoredMessage } from '../../domain/events.js';
import { REPLY_PREVIEW_CHARS } from '../../domain/replies.js';
import { attachPreviews, messagesOf, type TargetRow, withMessages } from '../replies.js';
import { NOT_ROOM, OPEN } from './log.js';

// The targets of a page's replies that the viewer sees, by the rule of history (store.ts): a
// broadcast; a direct message they sent, or one sent to them above their registration point
// (notes to self by the second arm, as the notes page does; not one withheld from them,
// blocks-store.ts); a message of a room's current life that one of their spans covers, or any
// of it while they are a member of a room whose history mode is `all`. Deleted targets are left out: they read as unavailable. The text is
// cut in SQL to twice the preview's bound (a grapheme may take several code points), and to
// the bound on a grapheme boundary in JavaScript (domain/replies.ts).
const SEEN = `
  SELECT m.id, m.sender, substr(m.text, 1, ${REPLY_PREVIEW_CHARS * 2}) AS text, m.ts, m.edited,
         json_array_length(m.attachments) AS files
    FROM messages m
   WHERE m.id IN (SELECT value FROM json_each(@ids)) AND m.kind = 'message' AND m.deleted = 0
     AND (m.recipient = '${EVERYONE}'
       OR (m.sender = @viewer AND m.recipient <> @viewer AND ${NOT_ROOM.replace('recipient', 'm.recipient')})
       OR (m.recipient = @viewer AND m.id > @registered AND m.withheld = 0)
       OR (substr(m.recipient, 1, 1) = '#' AND EXISTS (
             SELECT 1 FROM rooms r WHERE r.name = m.recipient AND r.created_id <= m.id AND (
                  EXISTS (SELECT 1 FROM spans s WHERE s.nick = @viewer AND s.room = m.recipient
                             AND s.from_id <= m.id AND ifnull(s.to_id, ${OPEN}) >= m.id)
               OR (r.history = 'all' AND EXISTS (
                    SELECT 1 FROM members mb WHERE mb.room = r.name AND mb.nick = @viewer))))))`;

interface SeenParams {
  ids: string;
  viewer: string;
  registered: number;
}

/**
 * Builds the previews of replies (store.ts, "Replies") for one reader: one query per page,
 * which states who sees a target. Synchronous, like SqliteLog's reads.
 */
export class SqliteReplies {
  private readonly selectSeen: Database.Statement<[SeenParams], TargetRow>;

  constructor(
    db: Database.Database,
    private readonly registeredAt: (nick: string) => number,
  ) {
    this.selectSeen = db.prepare(SEEN);
  }

  /** `messages` with the preview each reply shows `viewer`. */
  messages(viewer: string, messages: StoredMessage[]): StoredMessage[] {
    return attachPreviews(messages, (ids) => this.seen(viewer, ids));
  }

  /** `events` with the preview each reply among them shows `viewer`. */
  events(viewer: string, events: LoggedEvent[]): LoggedEvent[] {
    const messages = messagesOf(events);
    return withMessages(events, messages, this.messages(viewer, messages));
  }

  private seen(viewer: string, ids: readonly number[]): TargetRow[] {
    const registered = this.registeredAt(viewer);
    return this.selectSeen.all({ ids: JSON.stringify(ids), viewer, registered });
  }
}
