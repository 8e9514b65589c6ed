import { ChatError } from '../domain/errors.js';
import {
  EVERYONE,
  type EventId,
  eventId,
  eventTime,
  isRoom,
  type LoggedEvent,
  type NewDelete,
  type NewEdit,
  type NewMemberChange,
  type NewMessage,
  type NewReceipt,
  type Role,
  type StoredDelete,
  type StoredEdit,
  type StoredMemberChange,
  type StoredMessage,
  type StoredReceipt,
  storedMessage,
} from '../domain/events.js';
import { type MembershipOutcome, WITHDRAWN } from '../domain/room-rules.js';
import { MemoryAccounts } from './memory-accounts.js';
import { MemoryRooms } from './memory-rooms.js';
import type {
  Appended,
  Member,
  MembershipSnapshot,
  RetentionPolicy,
  RoomInfo,
  RoomListing,
  Store,
  StoreLimits,
} from './store.js';

/**
 * A Store that lives in this process's memory and is gone when it exits. For tests and for
 * `--store memory` (a demo with nothing on disk). It keeps every entry until `prune` removes
 * it, so memory grows with the log unless retention is configured.
 */
export class MemoryStore implements Store {
  readonly accounts = new MemoryAccounts({
    head: () => this.lastId,
    forget: (which) => {
      for (const nick of this.mailboxes.keys()) if (which(nick)) this.mailboxes.delete(nick);
      this.roomState.dropInvitations(which);
    },
  });
  private lastId = 0;
  private pruned = 0;
  /** Every logged entry, in id order. */
  private entries: LoggedEvent[] = [];
  /** The ids of the messages waiting in each mailbox. */
  private readonly mailboxes = new Map<string, EventId[]>();
  /** The ids of the messages that carry a clientId, by sender and clientId. */
  private readonly byClientId = new Map<string, EventId>();
  /** The ids of each message's edits, so that a delete can empty their texts. */
  private readonly editsOf = new Map<EventId, EventId[]>();
  private readonly roomState = new MemoryRooms();
  /** Set by close(), so that ping() tells a closed store from a live one. */
  private closed = false;

  constructor(private readonly limits: StoreLimits) {}

  async append(message: NewMessage): Promise<Appended> {
    const { from, to, offline, clientId } = message;
    const key = clientId === undefined ? undefined : clientKey(from, clientId);
    // Before the mailbox check, so that a retry neither fills nor is refused by a mailbox the
    // first send already counts in.
    const firstId = key === undefined ? undefined : this.byClientId.get(key);
    const first = firstId === undefined ? undefined : this.messageNow(firstId);
    if (first) return { message: first, created: false };
    let box: EventId[] | undefined;
    if (offline) {
      box = this.mailboxes.get(to) ?? [];
      if (box.length >= this.limits.maxOfflinePerUser) throw new ChatError('CHAT_MAILBOX_FULL');
    }
    const stored = storedMessage(message, ++this.lastId);
    this.entries.push({ kind: 'message', message: stored });
    if (key !== undefined) this.byClientId.set(key, stored.id);
    if (box) {
      box.push(stored.id);
      this.mailboxes.set(to, box);
    }
    return { message: stored, created: true };
  }

  async appendReceipt(receipt: NewReceipt): Promise<StoredReceipt> {
    const { from, to, upTo, ts } = receipt;
    const stored: StoredReceipt = { from, to, upTo, ts, id: ++this.lastId };
    this.entries.push({ kind: 'read', receipt: stored });
    return stored;
  }

  async takeOffline(nick: string): Promise<StoredMessage[]> {
    const box = this.mailboxes.get(nick) ?? [];
    this.mailboxes.delete(nick);
    const registered = this.accounts.registeredAt(nick);
    return box
      .filter((id) => id > registered)
      .map((id) => this.messageNow(id))
      .filter((m) => m !== undefined);
  }

  async head(): Promise<EventId> {
    return this.lastId;
  }

  async prunedThrough(): Promise<EventId> {
    return this.pruned;
  }

  async since(viewer: string, after: EventId, limit: number): Promise<LoggedEvent[]> {
    const out: LoggedEvent[] = [];
    for (let i = this.indexAbove(after); i < this.entries.length && out.length < limit; i++) {
      const entry = this.entries[i] as LoggedEvent;
      if (this.sees(viewer, entry)) out.push(entry);
    }
    return out;
  }

  async log(after: EventId, limit: number): Promise<LoggedEvent[]> {
    const start = this.indexAbove(after);
    return this.entries.slice(start, start + Math.max(0, limit));
  }

  async history(
    viewer: string,
    peer: string,
    before: EventId,
    limit: number,
  ): Promise<StoredMessage[]> {
    const registered = this.accounts.registeredAt(viewer);
    // What reached the viewer's nick before they registered is not theirs (store.ts).
    const between = (m: StoredMessage): boolean =>
      peer === EVERYONE || isRoom(peer)
        ? m.to === peer && (peer === EVERYONE || this.roomState.inHistory(peer, viewer, m.id))
        : m.to === viewer
          ? m.from === peer && m.id > registered
          : m.from === viewer && m.to === peer;
    const out: StoredMessage[] = [];
    for (let i = this.indexAbove(before - 1) - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.entries[i] as LoggedEvent;
      if (entry.kind === 'message' && between(entry.message)) out.push(entry.message);
    }
    return out.reverse();
  }

  async message(id: EventId): Promise<StoredMessage | undefined> {
    return this.messageNow(id);
  }

  async appendMember(change: NewMemberChange): Promise<StoredMemberChange[]> {
    const outcome = this.roomState.decide(change);
    if (!outcome) return [];
    const logged: StoredMemberChange[] = [];
    const log = (c: NewMemberChange, o: MembershipOutcome): void => {
      const id = ++this.lastId;
      this.roomState.apply(c, o, id);
      const { room, user, by, action, ts } = c;
      const stored = { id, room, user, by, action, ts, role: o.role, quiet: o.quiet };
      this.entries.push({ kind: 'member', change: stored });
      logged.push(stored);
    };
    for (const invitee of this.roomState.withdrawn(change, outcome)) {
      log({ ...change, action: 'remove', user: invitee, by: change.user }, WITHDRAWN);
    }
    if (outcome.replaces) log({ ...change, ...outcome.replaces, action: 'remove' }, WITHDRAWN);
    log(change, outcome);
    return logged;
  }

  async appendEdit(edit: NewEdit): Promise<StoredEdit> {
    const target = this.live(edit.target);
    const { from, to, text, ts } = edit;
    const stored: StoredEdit = { id: ++this.lastId, target: edit.target, from, to, text, ts };
    this.entries.push({ kind: 'edit', edit: stored });
    this.replace({ ...target, text, edited: ts });
    this.editsOf.set(target.id, [...(this.editsOf.get(target.id) ?? []), stored.id]);
    return stored;
  }

  async appendDelete(del: NewDelete): Promise<StoredDelete> {
    const target = this.live(del.target);
    const { from, to, ts } = del;
    const stored: StoredDelete = { id: ++this.lastId, target: del.target, from, to, ts };
    this.entries.push({ kind: 'delete', delete: stored });
    this.replace({ ...target, text: '', deleted: true });
    for (const id of this.editsOf.get(target.id) ?? []) {
      const entry = this.entries[this.indexAbove(id - 1)];
      if (entry?.kind === 'edit' && entry.edit.id === id) {
        this.entries[this.indexAbove(id - 1)] = { kind: 'edit', edit: { ...entry.edit, text: '' } };
      }
    }
    this.editsOf.delete(target.id);
    return stored;
  }

  async room(name: string): Promise<RoomInfo | undefined> {
    return this.roomState.info(name);
  }

  async rooms(viewer: string): Promise<RoomListing[]> {
    return this.roomState.list(viewer);
  }

  async role(room: string, user: string): Promise<Role | null> {
    return this.roomState.role(room, user);
  }

  async members(room: string): Promise<Member[]> {
    return this.roomState.members(room);
  }

  async memberships(): Promise<MembershipSnapshot> {
    return { head: this.lastId, members: this.roomState.all() };
  }

  /** The message with this id as it reads now, if it is still stored. */
  private messageNow(id: EventId): StoredMessage | undefined {
    const entry = this.entries[this.indexAbove(id - 1)];
    return entry?.kind === 'message' && entry.message.id === id ? entry.message : undefined;
  }

  /** The undeleted message with this id, or CHAT_MESSAGE_NOT_FOUND. */
  private live(id: EventId): StoredMessage {
    const message = this.messageNow(id);
    const gone = !message || message.deleted;
    if (gone || (isRoom(message.to) && !this.roomState.current(message.to, id))) {
      throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
    }
    return message;
  }

  /** Puts a changed copy of a stored message in its place (stored objects are never mutated). */
  private replace(message: StoredMessage): void {
    this.entries[this.indexAbove(message.id - 1)] = { kind: 'message', message };
  }

  /** Whether `viewer` may see `entry` (the visibility rule of store.ts). */
  private sees(viewer: string, entry: LoggedEvent): boolean {
    // What reached the viewer's nick before they registered is not theirs (store.ts).
    const registered = this.accounts.registeredAt(viewer);
    switch (entry.kind) {
      case 'read': {
        const { to, from, upTo } = entry.receipt;
        return to === viewer ? upTo > registered : from === viewer;
      }
      case 'member': {
        const { change } = entry;
        if (change.user === viewer && change.id > registered) return true;
        return !change.quiet && this.roomState.covers(change.room, viewer, change.id);
      }
      default: {
        const record =
          entry.kind === 'message'
            ? entry.message
            : entry.kind === 'edit'
              ? entry.edit
              : entry.delete;
        const { from, to, id } = record;
        // An edit shows only through a span that holds its target too (store.ts).
        const target = entry.kind === 'edit' ? entry.edit.target : id;
        if (isRoom(to)) return this.roomState.covers(to, viewer, id, target);
        // The message an entry to the viewer is about: itself, or an edit's or delete's target.
        const subject = 'target' in record ? record.target : id;
        if (to === viewer) return subject > registered;
        return to === EVERYONE || from === viewer;
      }
    }
  }

  /** The same cut as SqliteStore.prune: the oldest entries up to the first the policy keeps. */
  async prune(policy: RetentionPolicy): Promise<number> {
    const last = this.entries.length - 1;
    let cut = 0;
    if (policy.olderThan > 0) {
      const young = this.entries.findIndex((e) => eventTime(e) >= policy.olderThan);
      cut = young === -1 ? last : young;
    }
    if (policy.keep > 0) cut = Math.max(cut, this.entries.length - policy.keep);
    // The newest entry stays, as in SQLite, where it carries the id sequence.
    cut = Math.min(cut, last);
    if (cut <= 0) return 0;
    const gone = this.entries.slice(0, cut);
    this.entries = this.entries.slice(cut);
    this.pruned = eventId(gone[gone.length - 1] as LoggedEvent);
    for (const entry of gone) {
      if (entry.kind === 'message') this.editsOf.delete(entry.message.id);
      if (entry.kind !== 'message' || entry.message.clientId === undefined) continue;
      this.byClientId.delete(clientKey(entry.message.from, entry.message.clientId));
    }
    for (const [nick, box] of this.mailboxes) {
      const kept = box.filter((id) => id > this.pruned);
      if (kept.length === 0) this.mailboxes.delete(nick);
      else this.mailboxes.set(nick, kept);
    }
    return gone.length;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('ping on a closed store');
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The index of the first entry with an id above `id` (binary search; ids ascend). */
  private indexAbove(id: EventId): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (eventId(this.entries[mid] as LoggedEvent) <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// NUL cannot occur in a nick (events.ts forbids control characters), so keys cannot collide.
function clientKey(from: string, clientId: string): string {
  return `${from}\u0000${clientId}`;
}
