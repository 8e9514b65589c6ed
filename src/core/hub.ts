import {
  type ChatEvent,
  type EventId,
  eventId,
  isRoom,
  type LoggedEvent,
  type SharedEvent,
  type StoredMemberChange,
} from '../domain/events.js';
import { unavailable } from '../domain/replies.js';
import { type Audience, audience } from '../domain/visibility.js';
import { Coalescer } from './coalescer.js';
import { RoomDirectory } from './rooms.js';
import type { Format, Subscriber } from './subscriber.js';

/**
 * How often, at most, the members of a big room are told its new member count (a `room`
 * event), instead of each join and leave (see StoredMemberChange.quiet).
 */
export const ROOM_COUNT_MS = 1_000;

/**
 * Local fan-out: which Subscribers on this process belong to which user. It decides who sees
 * an event and renders each frame as few times as it can. It does no I/O of its own.
 */
/** Where the Hub counts what it hands to streams (ops/stats.ts's Stats is one). */
export interface DeliveryCounter {
  deliveries: number;
}

export class Hub {
  private readonly all = new Set<Subscriber>();
  /** How many local streams use each format: a broadcast is rendered once per format. */
  private readonly formats = new Map<Format, number>();
  private readonly byNick = new Map<string, Set<Subscriber>>();
  /** Big rooms whose member count changed: their members are told within ROOM_COUNT_MS. */
  private readonly recounted = new Coalescer<string>(ROOM_COUNT_MS, (rooms) => {
    for (const room of rooms) {
      this.deliver({ kind: 'room', room, members: this.rooms.members(room).size });
    }
  });
  /** The crowd's count changed: streams whose format counts it are told within ROOM_COUNT_MS. */
  private readonly recountedOnline = new Coalescer<true>(ROOM_COUNT_MS, () => this.tellOnline());
  /**
   * Users online in the whole chat, as counted from the joins and leaves delivered here
   * (started from Presence at startup: see setOnline). It decides when presence becomes a
   * count (Format.crowd), and is the count shown.
   */
  private online = 0;
  /** Whether streams were last told presence as a count (see Format.crowd). */
  private inCrowd = false;

  /**
   * `stats.deliveries` counts the frames handed to streams (added once per event, not per
   * frame). `rooms` is this process's room directory, which the Hub keeps up to date with the
   * membership changes it delivers.
   */
  constructor(
    private readonly stats: DeliveryCounter = { deliveries: 0 },
    readonly rooms: RoomDirectory = new RoomDirectory(),
    /** More users online than this, and presence becomes a count (Format.crowd). */
    private readonly crowd = Number.POSITIVE_INFINITY,
  ) {}

  /** Sets the count of users online, at startup (other processes' users, in a cluster). */
  setOnline(count: number): void {
    this.online = count;
  }

  /** Number of open streams on this process. */
  get size(): number {
    return this.all.size;
  }

  /** Number of users with at least one open stream on this process. */
  get users(): number {
    return this.byNick.size;
  }

  add(sub: Subscriber): void {
    if (this.all.has(sub)) return;
    this.all.add(sub);
    this.formats.set(sub.format, (this.formats.get(sub.format) ?? 0) + 1);
    let tabs = this.byNick.get(sub.nick);
    if (!tabs) {
      tabs = new Set();
      this.byNick.set(sub.nick, tabs);
    }
    tabs.add(sub);
  }

  remove(sub: Subscriber): void {
    if (!this.all.delete(sub)) return;
    const count = this.formats.get(sub.format) ?? 1;
    if (count > 1) this.formats.set(sub.format, count - 1);
    else this.formats.delete(sub.format);
    const tabs = this.byNick.get(sub.nick);
    tabs?.delete(sub);
    if (tabs?.size === 0) this.byNick.delete(sub.nick);
  }

  /** The local streams of one user. */
  streamsOf(nick: string): Subscriber[] {
    return [...(this.byNick.get(nick) ?? [])];
  }

  /** Calls `fn` for every local stream (heartbeats, shutdown). */
  forEach(fn: (sub: Subscriber) => void): void {
    for (const sub of [...this.all]) fn(sub);
  }

  /**
   * Hands an event from the Bus to the streams that should see it, following the seed:
   * a broadcast, a join and a leave go to every stream (a join skips the stream that joined);
   * a direct message goes to every tab of the recipient (once for a note to self) and to
   * every tab of the sender. A read receipt goes to both parties' tabs too. A presence
   * snapshot goes to every stream and resets the count of users online. A room's message,
   * edit or delete goes to its members, as the directory has them at that event; edits and
   * deletes of other messages go where their message went.
   */
  deliver(event: ChatEvent): void {
    switch (event.kind) {
      case 'typing':
        if (isRoom(event.to)) this.toRoom(event.to, event, undefined, event.from, event.hide);
        else if (event.to !== event.from) this.toNick(event.to, event, undefined);
        return;
      case 'room':
        this.toRoom(event.room, event, undefined);
        return;
      case 'own':
      case 'sanction':
        this.toNick(event.nick, event, undefined);
        return;
      case 'profile':
      case 'listed':
        this.toEveryone(event, undefined);
        return;
      case 'joined':
        if (event.first) this.online++;
        this.toPresence(event, this.local(event.nick, event.origin));
        return;
      case 'left':
        this.online = Math.max(0, this.online - 1);
        this.toPresence(event, undefined);
        return;
      case 'presence':
        // A snapshot replaces the count kept from joins and leaves, and carries the whole
        // list (or a crowd's first users and the count): nothing is left to tell of a crowd
        // that ended.
        this.online = event.online.length;
        this.inCrowd = this.online > this.crowd;
        this.toEveryone(event, undefined);
        return;
      case 'member':
        this.member(event.change, event);
        return;
      default:
        // A message flagged offline still goes to any stream the recipient has: one may have
        // connected between the sender's presence check and the append. Whether to show it
        // is the format's call (the classic one leaves it to the mailbox; the JSON one shows
        // it, and a stream that replayed it drops the copy by id).
        if (event.kind === 'message' && event.message.replyTo !== undefined) this.reply(event);
        else
          this.reach(
            audience(event),
            event,
            eventId(event),
            (event.kind === 'react' && event.hide) || undefined,
          );
    }
  }

  /**
   * A reply goes where any message goes, but its preview of the target (message.reply) only
   * to the readers the chat service named (ReplyReaders): everyone it reaches for a broadcast,
   * the named parties of a direct message, a room's members whose open span began at or
   * before the target (all members in a history-`all` room). Every other stream, and every
   * stream when the event names no readers (a reply read from the Store to fill a gap, which
   * has no preview), gets the preview `unavailable`, never the text.
   */
  private reply(event: Extract<SharedEvent, { kind: 'message' }>): void {
    const { message, readers } = event;
    const id = message.id;
    const hidden: ChatEvent = {
      kind: 'message',
      message: { ...message, reply: unavailable(message.replyTo ?? 0) },
    };
    const previewed = message.reply !== undefined && !('unavailable' in message.reply);
    const shown: ChatEvent = previewed ? { kind: 'message', message } : hidden;
    const to = audience(event);
    switch (to.kind) {
      case 'everyone':
        this.toEveryone(readers?.kind === 'everyone' ? shown : hidden, undefined, id);
        return;
      case 'pair':
        for (const nick of to.from === to.to ? [to.to] : [to.to, to.from]) {
          const sees = readers?.kind === 'nicks' && readers.nicks.includes(nick);
          this.toNick(nick, sees ? shown : hidden, id);
        }
        return;
      case 'room': {
        if (readers?.kind !== 'members') {
          this.toRoom(to.room, hidden, id, undefined);
          return;
        }
        const upTo = readers.upTo ?? Number.POSITIVE_INFINITY;
        this.toRoom(to.room, shown, id, undefined, undefined, Number.POSITIVE_INFINITY, {
          hidden,
          upTo,
        });
        return;
      }
      default:
        this.reach(to, hidden, id);
    }
  }

  /** Hands a logged event to its audience (domain/visibility.ts) among the local streams. */
  private reach(
    to: Audience,
    event: ChatEvent,
    id: EventId,
    /** In a room: members not handed it (they block its sender). */
    hide?: readonly string[],
  ): void {
    switch (to.kind) {
      case 'everyone':
        this.toEveryone(event, undefined, id);
        return;
      case 'pair':
        this.toNick(to.to, event, id);
        if (to.from !== to.to) this.toNick(to.from, event, id);
        return;
      case 'room':
        this.toRoom(to.room, event, id, undefined, hide, to.coveredFrom);
        if (to.user !== undefined && !this.rooms.has(to.room, to.user)) {
          this.toNick(to.user, event, id);
        }
        return;
      case 'user':
        this.toNick(to.user, event, id);
        this.recounted.add(to.room);
        return;
    }
  }

  /**
   * A membership change goes to its audience (domain/visibility.ts): the room's members and
   * the user it is about, whether they are a member before it (a leave, a removal), after it
   * (a join) or neither (an invitation); a quiet one goes to that user alone, and the members
   * get the new count within ROOM_COUNT_MS. The directory is updated after a leave is
   * delivered, before a join is, so that both reach the user who left or joined.
   */
  private member(change: StoredMemberChange, event: LoggedEvent): void {
    if (change.role !== null) this.rooms.apply(change);
    this.reach(audience(event), event, change.id);
    if (change.role === null) this.rooms.apply(change);
  }

  /**
   * Tells every stream whose format counts a crowd the number online; `ended` when the crowd
   * has just thinned out, so that clients go back to following joins and leaves.
   */
  private tellOnline(ended = false): void {
    // A count still pending when the crowd ended would start it again on the clients.
    if (!ended && this.online <= this.crowd) return;
    const frames = new Map<Format, string>();
    for (const format of this.formats.keys()) {
      if (format.crowd) frames.set(format, format.crowd(this.online, ended));
    }
    this.toAll(frames, undefined, undefined);
  }

  /**
   * A join or leave: to everyone, but in a crowd (more online than the crowd bound) formats
   * that count a crowd get the count instead, within ROOM_COUNT_MS, and the end of a crowd is
   * told at once.
   */
  private toPresence(event: ChatEvent, skip: Subscriber | undefined): void {
    const crowded = this.online > this.crowd;
    if (!crowded && this.inCrowd) this.tellOnline(true);
    this.inCrowd = crowded;
    this.toEveryone(event, skip, undefined, crowded);
  }

  /**
   * To the local streams of a room's members (but those of `skip`). The frame is rendered
   * once per format (see Format); the loop walks whichever is smaller, the room's members or
   * the users with streams here, so a big room with few local members costs little.
   */
  private toRoom(
    room: string,
    event: ChatEvent,
    id: EventId | undefined,
    skip?: string,
    /** Members not handed it (they block its sender: blocks-store.ts). */
    hide?: readonly string[],
    /** Only members since this id or earlier. */
    before = Number.POSITIVE_INFINITY,
    /** Members since a later id than `upTo` get `hidden` instead (a reply's preview). */
    split?: { readonly hidden: ChatEvent; readonly upTo: EventId },
  ): void {
    const members = this.rooms.members(room);
    if (members.size === 0) return;
    const frames = new Map<Format, string | null>();
    const hiddenFrames = new Map<Format, string | null>();
    let handed = 0;
    const visit = (tabs: Set<Subscriber>, since: EventId): void => {
      const hide = split !== undefined && since > split.upTo;
      const cache = hide ? hiddenFrames : frames;
      const shown = hide ? split.hidden : event;
      for (const sub of tabs) {
        let frame = cache.get(sub.format);
        if (frame === undefined) {
          frame = sub.format.render(shown, '');
          cache.set(sub.format, frame);
        }
        if (frame !== null) {
          sub.send(frame, id);
          handed++;
        }
      }
    };
    if (members.size <= this.byNick.size) {
      for (const [nick, member] of members) {
        const tabs = this.byNick.get(nick);
        if (tabs && nick !== skip && member.since <= before && !hide?.includes(nick)) {
          visit(tabs, member.since);
        }
      }
    } else {
      for (const [nick, tabs] of this.byNick) {
        const member = members.get(nick);
        if (member && nick !== skip && member.since <= before && !hide?.includes(nick)) {
          visit(tabs, member.since);
        }
      }
    }
    this.stats.deliveries += handed;
  }

  /** `counted`: formats that count a crowd are told the count later instead (toPresence). */
  private toEveryone(
    event: ChatEvent,
    skip: Subscriber | undefined,
    id?: EventId,
    counted = false,
  ): void {
    // A frame for everyone does not depend on the viewer (see Format): render it once per
    // format in use. When no format shows the event (a JSON stream's view of a second tab's
    // login), no stream is visited at all: in a reconnect storm that loop was most of the cost.
    const frames = new Map<Format, string>();
    for (const format of this.formats.keys()) {
      if (counted && format.crowd) {
        this.recountedOnline.add(true);
        continue;
      }
      const frame = format.render(event, '');
      if (frame !== null) frames.set(format, frame);
    }
    this.toAll(frames, skip, id);
  }

  /**
   * Hands each stream the frame of its format, if there is one (but the stream `skip`). This
   * loop runs once per stream per join, leave and broadcast (N² for a crowd of classic
   * logins: issue 24), so it compares objects only: with one format to send, not even a Map
   * lookup per stream.
   */
  private toAll(
    frames: Map<Format, string>,
    skip: Subscriber | undefined,
    id: EventId | undefined,
  ): void {
    if (frames.size === 0) return;
    let handed = 0;
    if (frames.size === 1) {
      const [format, frame] = frames.entries().next().value as [Format, string];
      for (const sub of this.all) {
        if (sub.format === format && sub !== skip) {
          sub.send(frame, id);
          handed++;
        }
      }
    } else {
      for (const sub of this.all) {
        const frame = frames.get(sub.format);
        if (frame !== undefined && sub !== skip) {
          sub.send(frame, id);
          handed++;
        }
      }
    }
    this.stats.deliveries += handed;
  }

  /** The local stream of `nick` whose id is `id`, if it is on this process. */
  private local(nick: string, id: string): Subscriber | undefined {
    const tabs = this.byNick.get(nick);
    if (tabs) for (const sub of tabs) if (sub.id === id) return sub;
    return undefined;
  }

  private toNick(nick: string, event: ChatEvent, id: EventId | undefined): void {
    const tabs = this.byNick.get(nick);
    if (!tabs) return;
    let handed = 0;
    for (const sub of tabs) {
      const frame = sub.format.render(event, nick);
      if (frame !== null) {
        sub.send(frame, id);
        handed++;
      }
    }
    this.stats.deliveries += handed;
  }
}
