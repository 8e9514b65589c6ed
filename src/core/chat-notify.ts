import { ChatError } from '../domain/errors.js';
import { EVERYONE, type EventId, isRoom, type OwnChange } from '../domain/events.js';
import { type InputLimits, parseTarget } from '../domain/input.js';
import {
  ATTENTION_TTL_MS,
  DEFAULT_LEVELS,
  HIDDEN_GRACE_MS,
  NOTIFY_LEVELS,
  type NotifyLevel,
} from '../domain/notify.js';
import type { NotifyStore, UnreadCount } from '../store/notify-store.js';
import type { PushStore } from '../store/push-store.js';

/** What a user's notification settings look like (`GET /api/v1/notify`). */
export interface NotifySettings {
  /** The levels they chose, by conversation; the rest take `defaults`. */
  readonly levels: Record<string, NotifyLevel>;
  readonly defaults: typeof DEFAULT_LEVELS;
  /** Pushes say "New message" only: no sender, no text on a lock screen. */
  readonly hideText: boolean;
  /** Whether a mention notifies: not in open mode, where anyone can claim a nick. */
  readonly mentionsNotify: boolean;
}

/** What ChatNotify needs from the chat service's collaborators. */
export interface ChatNotifyDeps {
  readonly notify: NotifyStore;
  readonly push: Pick<PushStore, 'hideText' | 'setHideText'>;
  readonly limits: InputLimits;
  /** Throws unless `user` is a member of `room` (ChatRooms.requireMember). */
  readonly requireMember: (room: string, user: string) => Promise<unknown>;
  /** Accounts mode: whether a nick is registered (see ChatDeps.registered); absent in open mode. */
  readonly registered?: (nick: string) => Promise<boolean>;
  /** Whether `nick` and `peer` have a direct message between them that `nick` sees. */
  readonly exchanged: (nick: string, peer: string) => Promise<boolean>;
  /** Tells the user's own streams, on every process (an `own` event on the Bus). */
  readonly tell: (nick: string, change: OwnChange) => Promise<void>;
  readonly now: () => number;
}

/** A browser's id for attention reports: short and plain, it is a key. */
const CLIENT = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A user's own notification state: read markers and unread counts, notification levels,
 * whether pushes hide their text, and whether any of their browsers is being looked at. Each
 * change is kept by the Store and told to the user's other tabs and devices.
 */
export class ChatNotify {
  constructor(private readonly deps: ChatNotifyDeps) {}

  /** Whether a mention notifies on this server (accounts mode). */
  get mentionsNotify(): boolean {
    return this.deps.limits.auth === 'accounts';
  }

  /** `nick`'s unread counts, by conversation. */
  unread(nick: string): Promise<UnreadCount[]> {
    return this.deps.notify.unread(nick);
  }

  /**
   * Moves `nick`'s read marker in `withRaw` forward to `upTo` and tells their other tabs;
   * returns where it is now (a lower `upTo` leaves it).
   */
  async setMarker(nick: string, withRaw: string, upTo: unknown): Promise<EventId> {
    if (typeof upTo !== 'number' || !Number.isSafeInteger(upTo) || upTo < 0) {
      throw new ChatError('CHAT_MESSAGE_MALFORMED', '"upTo" must be a message id');
    }
    const conversation = await this.conversation(nick, withRaw);
    const marker = await this.deps.notify.setMarker(nick, conversation, upTo);
    await this.deps.tell(nick, { type: 'marker', with: conversation, upTo: marker });
    return marker;
  }

  /** `nick`'s levels, the defaults, and their push settings. */
  async settings(nick: string): Promise<NotifySettings> {
    const [levels, hideText] = await Promise.all([
      this.deps.notify.levels(nick),
      this.deps.push.hideText(nick),
    ]);
    return {
      levels: Object.fromEntries(levels),
      defaults: DEFAULT_LEVELS,
      hideText,
      mentionsNotify: this.mentionsNotify,
    };
  }

  /** Sets `nick`'s level in `withRaw` (null: back to the default) and tells their other tabs. */
  async setLevel(nick: string, withRaw: string, levelRaw: unknown): Promise<NotifyLevel | null> {
    const level = levelRaw === null ? null : NOTIFY_LEVELS.find((l) => l === levelRaw);
    if (level === undefined) {
      throw new ChatError('CHAT_MESSAGE_MALFORMED', '"level" must be all, mentions, none or null');
    }
    const conversation = await this.conversation(nick, withRaw);
    await this.deps.notify.setLevel(nick, conversation, level);
    await this.deps.tell(nick, { type: 'level', with: conversation, level });
    return level;
  }

  /** Sets whether pushes to `nick` hide the text and sender, and tells their other tabs. */
  async setHideText(nick: string, hide: unknown): Promise<boolean> {
    if (typeof hide !== 'boolean') {
      throw new ChatError('CHAT_MESSAGE_MALFORMED', '"hideText" must be true or false');
    }
    await this.deps.push.setHideText(nick, hide);
    await this.deps.tell(nick, { type: 'hideText', hideText: hide });
    return hide;
  }

  /**
   * Records whether browser `client` of `nick` is being looked at: while it is (and for
   * HIDDEN_GRACE_MS after it says it is hidden), pushes to `nick` wait.
   */
  async attention(nick: string, client: unknown, visible: unknown): Promise<void> {
    if (typeof client !== 'string' || !CLIENT.test(client)) {
      throw new ChatError('CHAT_MESSAGE_MALFORMED', '"client" must be 1 to 64 of A-Z a-z 0-9 _ -');
    }
    if (typeof visible !== 'boolean') {
      throw new ChatError('CHAT_MESSAGE_MALFORMED', '"visible" must be true or false');
    }
    const until = this.deps.now() + (visible ? ATTENTION_TTL_MS : HIDDEN_GRACE_MS);
    await this.deps.notify.setAttention(nick, client, until);
  }

  /**
   * The conversation `withRaw` names for `nick`: a room they are a member of, `all`, or a
   * peer: a registered user (accounts mode), or in open mode, where every nick is valid, one
   * they have a direct message with. Checked, so that nobody keeps state about rooms they are
   * not in, and the rows one user may make are bounded by accounts, or by messages that the
   * flood guards bound (a row per made-up nick would not be).
   */
  private async conversation(nick: string, withRaw: string): Promise<string> {
    const conversation = parseTarget(withRaw, this.deps.limits);
    if (isRoom(conversation)) await this.deps.requireMember(conversation, nick);
    else if (conversation !== EVERYONE && conversation !== nick) {
      const { registered } = this.deps;
      const known = registered
        ? await registered(conversation)
        : await this.deps.exchanged(nick, conversation);
      if (!known) {
        throw new ChatError(
          'CHAT_USER_NOT_FOUND',
          registered ? undefined : 'no direct messages with this nick',
        );
      }
    }
    return conversation;
  }
}
