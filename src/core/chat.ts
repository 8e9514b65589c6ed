import type { Bus } from '../bus/bus.js';
import type { Presence } from '../presence/presence.js';
import type { Store } from '../store/store.js';
import {
  EVERYONE,
  type InputLimits,
  parseNick,
  parseRecipient,
  parseText,
  type StoredMessage,
} from './events.js';
import type { Hub, Subscriber } from './hub.js';

/** What a new stream shows before any live event: the seed's login preamble. */
export interface Greeting {
  /** Users online just before this connection, in order of arrival. */
  readonly online: string[];
  /** Messages kept while the user was offline, oldest first; handed out this once. */
  readonly offline: StoredMessage[];
}

/** The collaborators the chat service is built from (see main.ts). */
export interface ChatDeps {
  readonly store: Store;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly hub: Hub;
  readonly limits: InputLimits;
  /** Clock for message timestamps; injectable for tests. */
  readonly now?: () => number;
}

/**
 * The chat service: the rules of the chat, independent of any wire format. Both front doors
 * (the seed's classic protocol, the JSON API) call it; it calls the Store, then the Bus.
 *
 * Within one process, presence answers synchronously and a send queues its append in the same
 * turn as its "is the recipient online?" check; takeOffline sees every append queued before it
 * (store.ts). So a message to a user who is logging in is either delivered live or in that
 * login's greeting, never left behind.
 */
export class ChatService {
  private readonly now: () => number;

  constructor(private readonly deps: ChatDeps) {
    this.now = deps.now ?? Date.now;
    deps.bus.subscribe((event) => deps.hub.deliver(event));
  }

  /** Validates a nick from a client; throws CHAT_NICK_INVALID or CHAT_NICK_RESERVED. */
  parseNick(raw: string): string {
    return parseNick(raw, this.deps.limits);
  }

  /**
   * Logs a stream in. The subscriber joins the Hub first, so that nothing published while the
   * greeting is being gathered is missed: the transport holds such frames until it has
   * written the greeting (see SseSubscriber.open).
   */
  async connect(sub: Subscriber): Promise<Greeting> {
    const { hub, presence, store, bus } = this.deps;
    hub.add(sub);
    let counted = false;
    try {
      const online = await presence.connect(sub.nick);
      counted = true;
      // The seed announces every login, a user's second tab included, to every other stream.
      await bus.publish({ kind: 'joined', nick: sub.nick, origin: sub.id });
      // Last, so that a failure above leaves the mailbox untouched.
      const offline = await store.takeOffline(sub.nick);
      return { online, offline };
    } catch (err) {
      hub.remove(sub);
      if (counted) await presence.disconnect(sub.nick);
      throw err;
    }
  }

  /** Logs a stream out; the user's last stream announces that they left. */
  async disconnect(sub: Subscriber): Promise<void> {
    const { hub, presence, bus } = this.deps;
    hub.remove(sub);
    if (await presence.disconnect(sub.nick)) await bus.publish({ kind: 'left', nick: sub.nick });
  }

  /**
   * Sends `text` from `from` to a user or to everyone. A recipient with no open stream gets it
   * in their mailbox. Resolves once the message is durable and published.
   */
  async send(fromRaw: string, toRaw: string, textRaw: string): Promise<StoredMessage> {
    const { limits, presence, store, bus } = this.deps;
    const from = parseNick(fromRaw, limits);
    const to = parseRecipient(toRaw, limits);
    const text = parseText(textRaw, limits);
    const offline = to !== EVERYONE && !(await presence.isOnline(to));
    const message = await store.append({ from, to, text, ts: this.now(), offline });
    await bus.publish({ kind: 'message', message });
    return message;
  }
}
