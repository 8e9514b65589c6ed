import { ChatError } from '../errors.js';
import type { Store } from '../store/store.js';
import {
  type ChatEvent,
  type EventId,
  isRoom,
  type StoredDelete,
  type StoredEdit,
  type StoredMessage,
  sees,
} from './events.js';
import { type InputLimits, parseText } from './input.js';
import { canModerate } from './room-rules.js';

/** What edits and deletes need from the chat service. */
export interface ChatEditsDeps {
  readonly store: Store;
  readonly limits: InputLimits;
  readonly now: () => number;
  /** Publishes a logged event (ChatService.publish). */
  readonly publish: (event: ChatEvent) => Promise<void>;
}

/**
 * Edits and deletes of stored messages: who may, and the log entries that carry them to
 * every stream and every replay (the Store changes the message in the same transaction).
 */
export class ChatEdits {
  constructor(private readonly deps: ChatEditsDeps) {}

  /**
   * Replaces the text of message `id`, which `by` sent. CHAT_MESSAGE_NOT_FOUND when `by` cannot
   * see it (a room they are not in) or it was deleted; CHAT_FORBIDDEN for another's message.
   */
  async edit(by: string, id: EventId, textRaw: string): Promise<StoredEdit> {
    const text = parseText(textRaw, this.deps.limits);
    const message = await this.visible(by, id);
    if (message.from !== by)
      throw new ChatError('CHAT_FORBIDDEN', 'you can edit your own messages only');
    const { to } = message;
    const edit = await this.deps.store.appendEdit({
      target: id,
      from: by,
      to,
      text,
      ts: this.deps.now(),
    });
    await this.deps.publish({ kind: 'edit', edit });
    return edit;
  }

  /**
   * Deletes message `id`: `by` sent it, or it is in a room where `by` is an owner or
   * moderator. Its text is gone from the Store once this resolves.
   */
  async delete(by: string, id: EventId): Promise<StoredDelete> {
    const message = await this.visible(by, id);
    if (message.from !== by) {
      const role = isRoom(message.to) ? await this.deps.store.role(message.to, by) : null;
      if (!canModerate(role)) {
        throw new ChatError(
          'CHAT_FORBIDDEN',
          "only a room's owners and moderators delete others' messages",
        );
      }
    }
    const del = await this.deps.store.appendDelete({
      target: id,
      from: by,
      to: message.to,
      ts: this.deps.now(),
    });
    await this.deps.publish({ kind: 'delete', delete: del });
    return del;
  }

  /** Message `id` if `viewer` may see it now and it was not deleted; else CHAT_MESSAGE_NOT_FOUND. */
  private async visible(viewer: string, id: EventId): Promise<StoredMessage> {
    const message = await this.deps.store.message(id);
    const ok =
      message !== undefined &&
      !message.deleted &&
      (isRoom(message.to)
        ? (await this.deps.store.role(message.to, viewer)) !== null
        : sees(viewer, message));
    if (!ok) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
    return message as StoredMessage;
  }
}
