import { ChatError } from '../domain/errors.js';
import { EVERYONE, type EventId, isRoom, type StoredMessage } from '../domain/events.js';
import type { Store } from '../store/store.js';

/**
 * Message `id` if `viewer` may see it now and it was not deleted; else CHAT_MESSAGE_NOT_FOUND,
 * the same answer as for an id that does not exist, so that an edit, a delete, a reaction or a reply
 * tells nobody what they could not read. The Store decides, with the question its history
 * asks for that one message (its registration point, room spans and the room's current life:
 * store.ts), rather than a second copy of those rules here. A room's history is only for its
 * members.
 */
export async function visibleMessage(
  store: Pick<Store, 'message' | 'role' | 'history'>,
  viewer: string,
  id: EventId,
): Promise<StoredMessage> {
  const message = await store.message(id);
  const peer = message && !message.deleted ? conversation(viewer, message) : undefined;
  if (peer === undefined || (isRoom(peer) && (await store.role(peer, viewer)) === null)) {
    throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
  }
  const [seen] = await store.history(viewer, peer, id + 1, 1);
  if (seen?.id !== id || seen.deleted) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
  return seen;
}

/**
 * The conversation `message` belongs to as `viewer`'s history names it (its `peer`): the room,
 * `all` for a broadcast, the other party of a direct message; undefined when it is not theirs.
 */
export function conversation(viewer: string, message: StoredMessage): string | undefined {
  const { from, to } = message;
  if (isRoom(to) || to === EVERYONE) return to;
  if (from === viewer) return to;
  if (to === viewer) return from;
  return undefined;
}
