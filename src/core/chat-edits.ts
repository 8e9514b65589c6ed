import { ChatError } from '../domain/errors.js';
import {
  type EventId,
  isRoom,
  type SharedEvent,
  type StoredDelete,
  type StoredEdit,
  type StoredMessage,
} from '../domain/events.js';
import { type InputLimits, parseText } from '../domain/input.js';
import { canModerate } from '../domain/room-rules.js';
import type { Store } from '../store/store.js';
import { visibleMessage } from './visible-message.js';

/** What edits and deletes need from the chat service. */
export interface ChatEditsDeps {
  readonly store: Store;
  readonly limits: InputLimits;
  readonly now: () => number;
  /** Publishes a logged event (ChatService.publish). */
  readonly publish: (event: SharedEvent) => Promise<void>;
}

/**
 * Edits and deletes of stored messages: who may, and the log entries that carry them to
 * every stream and every replay (the Store changes the message in the same transaction).
 */
export class ChatEdits {
  constructor(private readonly deps: ChatEditsDeps) {}

  /**
   * Replaces the text of message `id`, which `by` sent. CHAT_MESSAGE_NOT_FOUND when `by` cannot
   * see it (visibleMessage) or it was deleted; CHAT_FORBIDDEN for a message that is not theirs (own).
   */
  async edit(by: string, id: EventId, textRaw: string): Promise<StoredEdit> {
    const text = parseText(textRaw, this.deps.limits);
    const message = await visibleMessage(this.deps.store, by, id);
    if (!(await this.own(by, message)))
      throw new ChatError('CHAT_FORBIDDEN', 'you can edit your own messages only');
    const { to } = message;
    const edit = await this.deps.store.appendEdit({
      target: id,
      from: by,
      to,
      text,
      ts: this.deps.now(),
      // In open mode a broadcast's mentions resolve to any nick (mentions.ts), as for a send.
      ...(this.deps.limits.auth !== 'accounts' && { claimed: true as const }),
    });
    await this.deps.publish({ kind: 'edit', edit });
    return edit;
  }

  /**
   * Deletes message `id`: `by` sent it, or it is in a room where `by` is an owner or
   * moderator. Its text is gone from the Store once this resolves.
   */
  async delete(by: string, id: EventId): Promise<StoredDelete> {
    const message = await visibleMessage(this.deps.store, by, id);
    if (!(await this.own(by, message))) {
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

  /**
   * Deletes a reported message for the moderator `by` who handles its report (core/reports.ts):
   * who may was decided by the report queue's query (an admin, or an owner or moderator of
   * the message's room now), so no visibility check here: an admin deletes a direct message
   * they are no party to, a moderator a message from before they joined. CHAT_MESSAGE_NOT_FOUND
   * when it is deleted already.
   */
  async deleteReported(
    by: string,
    message: { readonly id: EventId; readonly to: string; readonly from: string },
    _reason: string,
  ): Promise<StoredDelete> {
    const del = await this.deps.store.appendDelete({
      target: message.id,
      from: by,
      to: message.to,
      ts: this.deps.now(),
    });
    await this.deps.publish({ kind: 'delete', delete: del });
    return del;
  }

  /**
   * Whether `by` sent `message` as the account they are: what their nick sent before it was
   * registered (at or below its registration point, e.g. in open mode before a switch) was
   * sent by someone else of that name.
   */
  private async own(by: string, message: StoredMessage): Promise<boolean> {
    if (message.from !== by) return false;
    const registered = (await this.deps.store.accounts.registration(by)) ?? 0;
    return message.id > registered;
  }
}
