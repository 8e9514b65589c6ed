import { ChatError } from '../domain/errors.js';
import { EVERYONE, type EventId, isRoom, type StoredMessage } from '../domain/events.js';
import { type ReplyReaders, replyPreview } from '../domain/replies.js';
import type { Store } from '../store/store.js';
import { conversation, visibleMessage } from './visible-message.js';

/**
 * The message a send from `from` to `to` answers (`replyTo`): one `from` sees by the rule of
 * history and that was not deleted (else CHAT_MESSAGE_NOT_FOUND, the answer for an id that
 * does not exist: a reply tells nobody what they could not read), in the same conversation
 * as the new message (else CHAT_REPLY_INVALID): the same room, the same pair of users (or
 * `from`'s notes), or both broadcasts. `to` is parsed already.
 */
export async function replyTarget(
  store: Store,
  from: string,
  to: string,
  replyTo: EventId,
): Promise<StoredMessage> {
  const target = await visibleMessage(store, from, replyTo);
  if (conversation(from, target) !== to) throw new ChatError('CHAT_REPLY_INVALID');
  return target;
}

/**
 * What a reply is published with: its preview of `target` (as `from` sees it now; see
 * StoredMessage.reply) and who else may see that preview live (ReplyReaders): the Hub shows
 * it to them and `unavailable` to everyone else the reply reaches.
 */
export async function replyLive(
  store: Store,
  reply: StoredMessage,
  target: StoredMessage,
): Promise<{ message: StoredMessage; readers: ReplyReaders }> {
  const message = {
    ...reply,
    reply: replyPreview({ ...target, attachments: target.attachments?.length ?? 0 }),
  };
  return { message, readers: await readers(store, reply, target) };
}

async function readers(
  store: Store,
  reply: StoredMessage,
  target: StoredMessage,
): Promise<ReplyReaders> {
  const { from, to } = reply;
  if (to === EVERYONE) return { kind: 'everyone' };
  if (isRoom(to)) {
    const room = await store.room(to);
    // Every member of a history-`all` room sees the messages of its current life.
    return { kind: 'members', upTo: room?.history === 'all' ? null : target.id };
  }
  // The sender saw it (replyTarget); the other party, unless it came to their nick before
  // they registered (store.ts): asked as history asks it.
  if (to === from) return { kind: 'nicks', nicks: [from] };
  const seen = await visibleMessage(store, to, target.id).then(
    () => true,
    () => false,
  );
  return { kind: 'nicks', nicks: seen ? [from, to] : [from] };
}
