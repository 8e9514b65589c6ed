import type { Bus } from '../bus/bus.js';
import { ChatError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { Presence } from '../presence/presence.js';
import type { Appended, Store } from '../store/store.js';
import {
  type ChatEvent,
  EVERYONE,
  type EventId,
  type InputLimits,
  parseNick,
  parseRecipient,
  parseText,
  type StoredMessage,
  type StoredReceipt,
} from './events.js';
import type { Hub, Subscriber } from './hub.js';
import type { Sequencer } from './sequencer.js';

/** What a new stream shows before any live event. */
export interface Greeting {
  /** Users online just before this connection, in order of arrival. */
  readonly online: readonly string[];
  /** Messages kept while the user was offline, oldest first; handed out this once. */
  readonly offline: StoredMessage[];
  /**
   * The highest event id when the stream joined the Hub: every event up to it is in the
   * Store, and every later one reaches this stream live.
   */
  readonly head: EventId;
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
  /** Puts a networked Bus's events in id order before the Hub; absent for in-process buses. */
  readonly sequencer?: Sequencer;
  readonly logger?: Logger;
  /** Called once when a user comes online (their first connection anywhere; webhooks). */
  readonly onOnline?: (nick: string) => void;
}

// A clientId is echoed in events and used as a key; keep it short and plain.
const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Most messages one history page returns (API `limit`). */
export const MAX_HISTORY_PAGE = 200;

/**
 * The chat service: the rules of the chat, independent of any wire format. Both front doors
 * (the seed's classic protocol, the JSON API) call it; it calls the Store, then the Bus.
 *
 * Within one process, presence answers synchronously and a send queues its append in the same
 * turn as its "is the recipient connected?" check; takeOffline sees every append queued before
 * it (store.ts). So a message to a user who is logging in is either delivered live or in that
 * login's greeting, never left behind.
 */
export class ChatService {
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(private readonly deps: ChatDeps) {
    this.now = deps.now ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
    const { sequencer, hub } = deps;
    deps.bus.subscribe(sequencer ? (e) => sequencer.accept(e) : (e) => hub.deliver(e));
    deps.presence.onOffline((nick) => {
      // publish rejects only once the bus is closed, at shutdown: nobody is left to tell.
      deps.bus.publish({ kind: 'left', nick }).catch(() => {});
    });
  }

  /** Validates a nick from a client; throws CHAT_NICK_INVALID or CHAT_NICK_RESERVED. */
  parseNick(raw: string): string {
    return parseNick(raw, this.deps.limits);
  }

  /**
   * Logs a stream in. The subscriber joins the Hub first, so that nothing published while the
   * greeting is being gathered is missed: the transport holds such frames until it has
   * written the greeting (see SseSubscriber.open), and `head`, read after joining, tells
   * which of them the Store already covers.
   */
  async connect(sub: Subscriber): Promise<Greeting> {
    const { hub, presence, store, bus } = this.deps;
    hub.add(sub);
    let counted = false;
    try {
      const arrival = await presence.connect(sub.nick);
      counted = true;
      // The seed announces every login, a user's second tab included, to every other stream;
      // `first` lets formats that announce only arrivals tell them apart. A user back within
      // their grace window never left, so nothing is announced.
      const back = !arrival.first && arrival.tabs === 0;
      if (arrival.first) this.deps.onOnline?.(sub.nick);
      if (!back) {
        await bus.publish({ kind: 'joined', nick: sub.nick, origin: sub.id, first: arrival.first });
      }
      // Last, so that a failure above leaves the mailbox untouched.
      const offline = await store.takeOffline(sub.nick);
      const head = await store.head();
      return { online: arrival.online, offline, head };
    } catch (err) {
      hub.remove(sub);
      if (counted) await presence.disconnect(sub.nick, 0);
      throw err;
    }
  }

  /**
   * Logs a stream out. When it was the user's last, they are announced as gone after
   * `graceMs`, unless they come back first.
   */
  async disconnect(sub: Subscriber, graceMs: number): Promise<void> {
    this.deps.hub.remove(sub);
    await this.deps.presence.disconnect(sub.nick, graceMs);
  }

  /**
   * Sends `text` from `from` to a user or to everyone. A recipient with no open stream gets it
   * in their mailbox. Resolves once the message is durable and published. A retry with the
   * same `clientId` returns the first message and publishes nothing.
   */
  async send(
    fromRaw: string,
    toRaw: string,
    textRaw: string,
    clientId?: string,
  ): Promise<Appended> {
    const { limits, presence, store } = this.deps;
    const from = parseNick(fromRaw, limits);
    const to = parseRecipient(toRaw, limits);
    const text = parseText(textRaw, limits);
    if (clientId !== undefined && !CLIENT_ID.test(clientId)) {
      throw new ChatError('CHAT_CLIENT_ID_INVALID');
    }
    const offline = to !== EVERYONE && !(await presence.isConnected(to));
    const ts = this.now();
    const message =
      clientId === undefined
        ? { from, to, text, ts, offline }
        : { from, to, text, ts, offline, clientId };
    const appended = await store.append(message);
    if (appended.created) await this.publish({ kind: 'message', message: appended.message });
    return appended;
  }

  /**
   * Tells the sender of message `upTo` that `reader` has read up to it. Returns undefined for
   * the reader's own message: there is nobody to tell.
   */
  async markRead(reader: string, upTo: EventId): Promise<StoredReceipt | undefined> {
    const { store } = this.deps;
    const message = await store.message(upTo);
    if (!message || !sees(reader, message)) throw new ChatError('CHAT_RECEIPT_INVALID');
    if (message.from === reader) return undefined;
    const receipt = await store.appendReceipt({
      from: reader,
      to: message.from,
      upTo,
      ts: this.now(),
    });
    await this.publish({ kind: 'read', receipt });
    return receipt;
  }

  /**
   * Publishes a logged event. Once it is in the Store it is acknowledged whatever the Bus
   * does: if the Bus is down, every process's Sequencer reads it from the Store, and clients
   * that miss it live get it on resume.
   */
  private async publish(event: ChatEvent): Promise<void> {
    try {
      await this.deps.bus.publish(event);
    } catch (err) {
      this.logger.warn('publish failed; the event is stored and will be caught up', { err });
    }
  }

  /** A page of the conversation of `viewer` with `peerRaw` (a nick, or `all`), oldest first. */
  async history(
    viewer: string,
    peerRaw: string,
    before: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    const peer = parseRecipient(peerRaw, this.deps.limits);
    return this.deps.store.history(viewer, peer, before, Math.min(limit, MAX_HISTORY_PAGE));
  }

  /**
   * Ends this process's streams of `nick` that `which` selects: a revoked session must stop
   * receiving at once, not when the client next reconnects.
   */
  endStreams(nick: string, which: (sub: Subscriber) => boolean): void {
    for (const sub of this.deps.hub.streamsOf(nick)) if (which(sub)) sub.close();
  }

  /** Users online now (grace windows included), in order of arrival. */
  online(): Promise<string[]> {
    return this.deps.presence.online();
  }
}

/** Whether `viewer` may see `message`: a broadcast, or a message to or from them. */
export function sees(viewer: string, message: StoredMessage): boolean {
  return message.to === EVERYONE || message.to === viewer || message.from === viewer;
}
