import { parseReason } from '../domain/audit.js';
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
  /**
   * Whether a nick is a server admin (core/admins.ts): they delete any message; absent:
   * nobody is.
   */
  readonly isAdmin?: (nick: string) => Promise<boolean>;
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
   * moderator, or `by` is a server admin (any message, a direct one included: reports of
   * direct messages go to admins). A delete of someone else's message is audited
   * ('message.delete', with `reasonRaw`) in its transaction. Its text is gone from the Store
   * once this resolves.
   */
  async delete(by: string, id: EventId, reasonRaw?: unknown): Promise<StoredDelete> {
    const reason = parseReason(reasonRaw, false);
    const message = await this.target(by, id);
    const mine = await this.own(by, message);
    let admin = false;
    if (!mine) {
      const role = isRoom(message.to) ? await this.deps.store.role(message.to, by) : null;
      admin = !canModerate(role) && (await this.deps.isAdmin?.(by)) === true;
      if (!canModerate(role) && !admin) {
        throw new ChatError(
          'CHAT_FORBIDDEN',
          "only a room's owners and moderators delete others' messages",
        );
      }
    }
    const ts = this.deps.now();
    const del = await this.deps.store.appendDelete({
      target: id,
      from: by,
      to: message.to,
      ts,
      ...(!mine && {
        audit: {
          ts,
          actor: by,
          action: 'message.delete' as const,
          target: message.from,
          ...(isRoom(message.to) && { room: message.to }),
          message: id,
          reason,
          ...(admin && { detail: { admin: true } }),
        },
      }),
    });
    await this.deps.publish({ kind: 'delete', delete: del });
    return del;
  }

  /**
   * Message `id` as `by` may delete it: one they see (visibleMessage), or for a server admin
   * any stored message not yet deleted; else CHAT_MESSAGE_NOT_FOUND.
   */
  private async target(by: string, id: EventId): Promise<StoredMessage> {
    try {
      return await visibleMessage(this.deps.store, by, id);
    } catch (err) {
      if (!(err instanceof ChatError) || !(await this.deps.isAdmin?.(by))) throw err;
      const message = await this.deps.store.message(id);
      if (!message || message.deleted) throw err;
      return message;
    }
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
