import type { Bus } from '../bus/bus.js';
import { ChatError } from '../domain/errors.js';
import {
  EVERYONE,
  type EventId,
  isRoom,
  type SharedEvent,
  type StoredDelete,
  type StoredEdit,
  type StoredMessage,
  type StoredReceipt,
} from '../domain/events.js';
import {
  type InputLimits,
  parseNick,
  parseRecipient,
  parseTarget,
  parseText,
} from '../domain/input.js';
import { sees } from '../domain/visibility.js';
import { type Logger, silentLogger } from '../logger.js';
import type { Presence } from '../presence/presence.js';
import type { Appended, Store } from '../store/store.js';
import { AccountDeletion, type DeletionPolicy } from './account-deletion.js';
import { AccountExport } from './account-export.js';
import { Admins } from './admins.js';
import { ChatBlocks } from './chat-blocks.js';
import { ChatEdits } from './chat-edits.js';
import { ChatReactions, type Reacted } from './chat-reactions.js';
import { replyLive, replyTarget } from './chat-replies.js';
import { ChatRooms } from './chat-rooms.js';
import { ChatSearch } from './chat-search.js';
import type { Hub } from './hub.js';
import { PresenceSnapshots } from './presence-snapshots.js';
import { ChatReports } from './reports.js';
import { Sanctions } from './sanctions.js';
import type { Sequencer } from './sequencer.js';
import type { Subscriber } from './subscriber.js';
import { TypingThrottle } from './typing.js';

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
  /**
   * Called after this process logged a message or an edit (and published it): the push
   * dispatcher looks for work (core/push-dispatch.ts).
   */
  readonly onLogged?: () => void;
  /** What deleting an account does (config); absent: keep messages, no reservation. */
  readonly deletion?: DeletionPolicy;
  /** See config bigRoomMembers; 200 when absent. */
  readonly bigRoom?: number;
  /**
   * In accounts mode: whether exactly this nick is a registered account. A direct message or
   * a room invitation to any other nick is refused with CHAT_USER_NOT_FOUND, or the first
   * person to register it would read what was meant for someone else. Absent in open mode,
   * where nobody owns a nick.
   */
  readonly registered?: (nick: string) => Promise<boolean>;
}

/**
 * How often, and how many times, a process that restored users retries telling the cluster
 * when the Bus refuses (it is usually reconnecting too: both came back from the same outage).
 */
const RESYNC_RETRY_MS = 500;
const RESYNC_TRIES = 20;

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
  private readonly typed = new TypingThrottle();
  /** Creating rooms and changing their members. */
  readonly rooms: ChatRooms;
  /** Server admins and the audit log (core/admins.ts). */
  readonly admins: Admins;
  private readonly edits: ChatEdits;
  /** Deleting accounts (core/account-deletion.ts). */
  readonly accounts: AccountDeletion;
  /** A user's export of their data (core/account-export.ts). */
  readonly exports: AccountExport;
  private readonly reactions: ChatReactions;
  /** Bans and mutes (core/sanctions.ts). */
  readonly sanctions: Sanctions;
  /** A user's blocks (issue 23). */
  readonly blocks: ChatBlocks;
  /** Search, and the pages around a message. */
  readonly search: ChatSearch;
  /** Reports of messages, their queues and outcomes (core/reports.ts). */
  readonly reports: ChatReports;
  private readonly snapshots: PresenceSnapshots;
  private closed = false;
  /** Called on every `ended` event from the Bus (see onEnded). */
  private readonly endedListeners: Array<(nick: string) => void> = [];

  constructor(private readonly deps: ChatDeps) {
    this.now = deps.now ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
    this.admins = new Admins({
      store: deps.store,
      accounts: deps.limits.auth === 'accounts',
      now: this.now,
    });
    this.rooms = new ChatRooms({
      store: deps.store,
      directory: deps.hub.rooms,
      presence: deps.presence,
      limits: deps.limits,
      bigRoom: deps.bigRoom ?? 200,
      registered: deps.registered,
      isAdmin: (nick) => this.admins.isAdmin(nick),
      now: this.now,
      publish: (event) => this.publish(event),
    });
    this.search = new ChatSearch({
      store: deps.store,
      limits: deps.limits,
      requireMember: (room, user) => this.rooms.requireMember(room, user),
      now: this.now,
    });
    this.edits = new ChatEdits({
      store: deps.store,
      limits: deps.limits,
      now: this.now,
      isAdmin: (nick) => this.admins.isAdmin(nick),
      publish: async (event) => {
        await this.publish(event);
        if (event.kind === 'edit') deps.onLogged?.();
      },
    });
    this.accounts = new AccountDeletion({
      store: deps.store,
      rooms: this.rooms,
      policy: deps.deletion ?? { reserveMs: 0, deleteMessages: false },
      now: this.now,
      logger: this.logger,
      publish: (event) => this.publish(event),
      endUser: (nick) => this.endUser(nick),
    });
    this.exports = new AccountExport(deps.store);
    this.sanctions = new Sanctions({
      store: deps.store,
      rooms: this.rooms,
      now: this.now,
      logger: this.logger,
      publish: (event) => deps.bus.publish(event),
      endUser: (nick) => this.endUser(nick),
      purge: (nick) => this.accounts.purgeMessages(nick),
    });
    this.reports = new ChatReports({
      store: deps.store,
      now: this.now,
      isAdmin: (nick) => this.admins.isAdmin(nick),
      sanctions: () => this.sanctions,
      kick: (by, room, nick, reason) => this.sanctions.kick(by, room, nick, { reason }),
      deleteMessage: (by, message, reason, report) =>
        this.edits.deleteReported(by, message, reason, report).then(() => {}),
      // Like typing, best effort: the outcome is in the Store (GET /api/v1/account/reports).
      tell: (nick, change) => deps.bus.publish({ kind: 'own', nick, change }).catch(() => {}),
    });
    this.blocks = new ChatBlocks({
      blocks: deps.store.blocks,
      parseNick: (raw) => this.parseNick(raw),
      now: this.now,
    });
    this.reactions = new ChatReactions({
      store: deps.store,
      now: this.now,
      publish: (event) => this.publish(event),
    });
    const { sequencer, hub } = deps;
    this.snapshots = new PresenceSnapshots({
      presence: deps.presence,
      deliver: (e) => hub.deliver(e),
      logger: this.logger,
    });
    const deliver = sequencer ? (e: SharedEvent) => sequencer.accept(e) : hub.deliver.bind(hub);
    deps.bus.subscribe((e) => {
      if (e.kind === 'resync') {
        this.snapshots.request();
        return;
      }
      if (e.kind === 'ended') {
        this.ended(e.nick);
        return;
      }
      if (e.kind === 'sanction') this.sanctions.forget(e.nick);
      this.snapshots.seen(e);
      deliver(e);
    });
    deps.presence.onOffline((nick) => {
      // publish rejects only once the bus is closed, at shutdown: nobody is left to tell.
      deps.bus.publish({ kind: 'left', nick }).catch(() => {});
    });
    deps.presence.onRestored((back) => {
      // They were announced offline (a webhook included) when they were reaped.
      for (const nick of back) deps.onOnline?.(nick);
      this.announceResync(RESYNC_TRIES);
    });
  }

  /**
   * Sends this process's streams who is online now (a `presence` event), within SNAPSHOT_MS:
   * for main.ts to call once the Bus is back after an outage, when the joins and leaves
   * published meanwhile never reached this process.
   */
  refreshPresence(): void {
    this.snapshots.request();
  }

  /** Stops pending presence snapshots (shutdown). */
  close(): void {
    this.closed = true;
    this.snapshots.close();
    this.accounts.close();
  }

  /**
   * Presence counted users of this process again after losing them: every process, this one
   * included, refreshes its streams' lists. Retried while the Bus refuses, a bounded number
   * of times; the Bus's own reconnect refreshes the lists on the processes that were cut off.
   */
  private announceResync(tries: number): void {
    if (this.closed) return;
    this.deps.bus.publish({ kind: 'resync' }).catch((err: unknown) => {
      if (this.closed) return;
      if (tries <= 1) {
        this.logger.warn('could not tell the cluster about restored users', { err });
        return;
      }
      setTimeout(() => this.announceResync(tries - 1), RESYNC_RETRY_MS).unref();
    });
  }

  /** In accounts mode, whether a nick is registered (ChatDeps.registered); else undefined. */
  get registered(): ((nick: string) => Promise<boolean>) | undefined {
    return this.deps.registered;
  }

  /** Validates a nick from a client; throws CHAT_NICK_INVALID or CHAT_NICK_RESERVED. */
  parseNick(raw: string): string {
    return parseNick(raw, this.deps.limits);
  }

  /**
   * Logs a stream in. The subscriber joins the Hub first, so that nothing published while the
   * greeting is being gathered is missed: the transport holds such frames until it has
   * written the greeting (see SseStream.open), and `head`, read after joining, tells
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
   * Sends `text` from `from` to a user or to everyone, or, with `rooms` (the JSON API; the
   * classic protocol knows no rooms), to a room `from` is a member of. A recipient with no
   * open stream gets it in their mailbox. Resolves once the message is durable and published.
   * A retry with the same `clientId` returns the first message and publishes nothing.
   * `attach` (the JSON API) names the sender's uploads the message carries (NewMessage).
   * `replyTo` (the JSON API) is the message it answers: see replyTarget for what may be.
   */
  async send(
    fromRaw: string,
    toRaw: string,
    textRaw: string,
    clientId?: string,
    rooms = false,
    attach: readonly string[] = [],
    replyTo?: EventId,
  ): Promise<Appended> {
    const { limits, presence, store } = this.deps;
    const from = parseNick(fromRaw, limits);
    const to = rooms ? parseTarget(toRaw, limits) : parseRecipient(toRaw, limits);
    const text = parseText(textRaw, limits);
    if (clientId !== undefined && !CLIENT_ID.test(clientId)) {
      throw new ChatError('CHAT_CLIENT_ID_INVALID');
    }
    await this.requireUnmuted(from);
    // Room members catch up from the log (resume, history), not from a mailbox.
    const room = isRoom(to);
    if (room) await this.rooms.requirePoster(to, from);
    else if (to !== EVERYONE && to !== from) await requireUser(this.deps.registered, to);
    const target = replyTo === undefined ? undefined : await replyTarget(store, from, to, replyTo);
    const offline = to !== EVERYONE && !room && !(await presence.isConnected(to));
    const ts = this.now();
    // In open mode a broadcast's mentions cannot be checked against accounts (mentions.ts).
    const claimed = limits.auth !== 'accounts' ? ({ claimed: true } as const) : {};
    const message = {
      from,
      to,
      text,
      ts,
      offline,
      ...(clientId !== undefined && { clientId }),
      ...claimed,
      ...(attach.length > 0 && { attach }),
      ...(replyTo !== undefined && { replyTo }),
    };
    const appended = await store.append(message);
    if (appended.created) {
      await this.publish(
        target === undefined
          ? { kind: 'message', message: appended.message }
          : { kind: 'message', ...(await replyLive(store, appended.message, target)) },
      );
      this.deps.onLogged?.();
    }
    return appended;
  }

  /**
   * Tells the sender of message `upTo` that `reader` has read up to it. Returns undefined for
   * the reader's own message: there is nobody to tell.
   */
  async markRead(reader: string, upTo: EventId): Promise<StoredReceipt | undefined> {
    const { store } = this.deps;
    const message = await store.message(upTo);
    // Receipts are for direct messages and broadcasts; a room's messages take none.
    if (!message || isRoom(message.to) || !sees(reader, message)) {
      throw new ChatError('CHAT_RECEIPT_INVALID');
    }
    if (message.from === reader) return undefined;
    // A message to the reader's nick from before they registered is not theirs (store.ts):
    // ask the history query, which applies that rule, whether they see it.
    if (message.to === reader) {
      const [seen] = await store.history(reader, message.from, upTo + 1, 1);
      if (seen?.id !== upTo) throw new ChatError('CHAT_RECEIPT_INVALID');
    }
    const receipt = await store.appendReceipt({
      from: reader,
      to: message.from,
      upTo,
      ts: this.now(),
    });
    await this.publish({ kind: 'read', receipt });
    return receipt;
  }

  /** Replaces the text of message `id`, which `by` sent (see ChatEdits.edit). */
  async edit(by: string, id: EventId, textRaw: string): Promise<StoredEdit> {
    await this.requireUnmuted(by);
    return this.edits.edit(by, id, textRaw);
  }

  /** Deletes message `id`, audited when it is someone else's (see ChatEdits.delete). */
  delete(by: string, id: EventId, reason?: unknown): Promise<StoredDelete> {
    return this.edits.delete(by, id, reason);
  }

  /** Adds (`on`) or takes back `by`'s reaction on message `id` (see ChatReactions.react). */
  async react(by: string, id: EventId, emoji: string, on: boolean): Promise<Reacted> {
    await this.requireUnmuted(by);
    return this.reactions.react(by, id, emoji, on);
  }

  /** CHAT_MUTED for a muted user (accounts mode: open mode has no mutes). */
  private async requireUnmuted(nick: string): Promise<void> {
    if (this.deps.limits.auth === 'accounts') await this.sanctions.requireUnmuted(nick);
  }

  /**
   * Tells `toRaw` (a nick, or a room `from` is in) that `from` is typing. Not stored; passed on
   * at most once per TYPING_EVERY_MS per conversation (the rest are dropped). Returns whether
   * it was passed on.
   */
  async typing(from: string, toRaw: string): Promise<boolean> {
    const to = parseTarget(toRaw, this.deps.limits);
    if (to === EVERYONE)
      throw new ChatError('CHAT_MESSAGE_MALFORMED', 'typing goes to a user or a room');
    if (isRoom(to)) await this.rooms.requirePoster(to, from);
    if (!this.typed.pass(from, to, this.now())) return false;
    // Who blocks `from` never hears it (blocks-store.ts); `from` is answered the same either
    // way. Read from the Store, which every process shares, once per notice passed on.
    const { blocks } = this.deps.store;
    if (isRoom(to)) {
      const hide = await blocks.blockersIn(to, from);
      const event = { kind: 'typing' as const, from, to, ...(hide.length > 0 && { hide }) };
      // Like presence, typing is best effort: lost with the Bus, never an error for the client.
      this.deps.bus.publish(event).catch(() => {});
    } else if (!(await blocks.blocks(to, from))) {
      this.deps.bus.publish({ kind: 'typing', from, to }).catch(() => {});
    }
    return true;
  }

  /**
   * Publishes a logged event. Once it is in the Store it is acknowledged whatever the Bus
   * does: if the Bus is down, every process's Sequencer reads it from the Store, and clients
   * that miss it live get it on resume.
   */
  private async publish(event: SharedEvent): Promise<void> {
    try {
      await this.deps.bus.publish(event);
    } catch (err) {
      this.logger.warn('publish failed; the event is stored and will be caught up', { err });
    }
  }

  /**
   * A page of the conversation of `viewer` with `peerRaw` (a nick, `all`, or a room they are a
   * member of), oldest first.
   */
  async history(
    viewer: string,
    peerRaw: string,
    before: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    const peer = parseTarget(peerRaw, this.deps.limits);
    if (isRoom(peer)) await this.rooms.requireMember(peer, viewer);
    return this.deps.store.history(viewer, peer, before, Math.min(limit, MAX_HISTORY_PAGE));
  }

  /**
   * Ends this process's streams of `nick` that `which` selects: a revoked session must stop
   * receiving at once, not when the client next reconnects.
   */
  endStreams(nick: string, which: (sub: Subscriber) => boolean): void {
    for (const sub of this.deps.hub.streamsOf(nick)) if (which(sub)) sub.close();
  }

  /**
   * Ends every session and stream of `nick` on every process of the cluster (EndedEvent): this
   * process at once, the others when the Bus brings them the event. The credentials must be
   * gone from the Store first; this makes every process stop trusting what it remembered.
   * Resolves once published; rejects when the Bus refuses (this process has ended them).
   */
  async endUser(nick: string): Promise<void> {
    this.ended(nick);
    await this.deps.bus.publish({ kind: 'ended', nick });
  }

  /**
   * Registers `listener` for every user ended anywhere in the cluster (endUser), this process
   * included: the HTTP edge drops its cached credentials of that nick.
   */
  onEnded(listener: (nick: string) => void): void {
    this.endedListeners.push(listener);
  }

  /** Ends this process's streams of `nick` and tells the listeners (EndedEvent). */
  private ended(nick: string): void {
    for (const listener of this.endedListeners) listener(nick);
    this.endStreams(nick, () => true);
  }

  /** Users online now (grace windows included), in order of arrival. */
  online(): Promise<string[]> {
    return this.deps.presence.online();
  }
}

/**
 * Throws CHAT_USER_NOT_FOUND unless `nick` is a registered account, when `registered` is
 * given (accounts mode; see ChatDeps.registered).
 */
async function requireUser(
  registered: ((nick: string) => Promise<boolean>) | undefined,
  nick: string,
): Promise<void> {
  if (registered && !(await registered(nick))) throw new ChatError('CHAT_USER_NOT_FOUND');
}
