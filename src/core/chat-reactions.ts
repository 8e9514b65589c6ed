import {
  type EventId,
  isRoom,
  type ReactionSummary,
  type SharedEvent,
  type StoredReaction,
} from '../domain/events.js';
import { parseEmoji } from '../domain/reactions.js';
import type { Store } from '../store/store.js';
import { conversation, visibleMessage } from './visible-message.js';

/** What reactions need from the chat service. */
export interface ChatReactionsDeps {
  readonly store: Store;
  readonly now: () => number;
  /** Publishes a logged event (ChatService.publish). */
  readonly publish: (event: SharedEvent) => Promise<void>;
}

/** What a reaction request did, and the message's reactions after it. */
export interface Reacted {
  /** The reaction logged; null when it changed nothing (already there, or not there). */
  readonly reaction: StoredReaction | null;
  /** The message's reactions now (StoredMessage.reactions); empty when none. */
  readonly reactions: readonly ReactionSummary[];
}

/**
 * Reactions to messages (store.ts, Reactions): anyone who sees a message may add an emoji to
 * it or take theirs back. A change is logged and published like an edit, so every stream and
 * replay that shows the message shows it; nothing is notified (no push, no unread count).
 */
export class ChatReactions {
  constructor(private readonly deps: ChatReactionsDeps) {}

  /**
   * Adds (`on`) or takes back `by`'s reaction `emojiRaw` on message `id`. CHAT_REACTION_INVALID
   * for anything but one emoji (parseEmoji); CHAT_MESSAGE_NOT_FOUND when `by` cannot see the
   * message (visibleMessage) or it was deleted; CHAT_REACTIONS_FULL for one emoji too many.
   */
  async react(by: string, id: EventId, emojiRaw: string, on: boolean): Promise<Reacted> {
    const emoji = parseEmoji(emojiRaw);
    const { store } = this.deps;
    // `peer` is the recipient that makes the reaction reach whoever sees the message: the
    // room, `all`, or the other party of a direct message as `by` sees it.
    const target = await visibleMessage(store, by, id);
    // visibleMessage found it in one of `by`'s conversations, so it has one.
    const peer = conversation(by, target) as string;
    const reaction = await store.appendReaction({
      target: id,
      from: by,
      to: peer,
      emoji,
      on,
      ts: this.deps.now(),
    });
    if (reaction) {
      // In a room, members who block `by` are not shown it live (blocks-store.ts); their
      // replay and history leave it out in the Store's queries.
      const hide = isRoom(peer) ? await store.blocks.blockersIn(peer, by) : [];
      await this.deps.publish({ kind: 'react', reaction, ...(hide.length > 0 && { hide }) });
    }
    // The summary as `by`'s history shows it now (history pages carry them, store.ts).
    const [message] = await store.history(by, peer, id + 1, 1);
    return { reaction, reactions: message?.id === id ? (message.reactions ?? []) : [] };
  }
}
