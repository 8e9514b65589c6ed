import {
  EVERYONE,
  type EventId,
  eventId,
  type LoggedEvent,
  type NewMessage,
  type NewReceipt,
  type StoredMessage,
  type StoredReceipt,
  storedMessage,
} from '../core/events.js';
import { ChatError } from '../errors.js';
import { MemoryAccounts } from './memory-accounts.js';
import type { Appended, RetentionPolicy, Store, StoreLimits } from './store.js';

/**
 * A Store that lives in this process's memory and is gone when it exits. For tests and for
 * `--store memory` (a demo with nothing on disk). It keeps every entry until `prune` removes
 * it, so memory grows with the log unless retention is configured.
 */
export class MemoryStore implements Store {
  readonly accounts = new MemoryAccounts();
  private lastId = 0;
  private pruned = 0;
  /** Every logged entry, in id order. */
  private entries: LoggedEvent[] = [];
  private readonly mailboxes = new Map<string, StoredMessage[]>();
  /** Messages that carry a clientId, by sender and clientId. */
  private readonly byClientId = new Map<string, StoredMessage>();
  /** Set by close(), so that ping() tells a closed store from a live one. */
  private closed = false;

  constructor(private readonly limits: StoreLimits) {}

  async append(message: NewMessage): Promise<Appended> {
    const { from, to, offline, clientId } = message;
    const key = clientId === undefined ? undefined : clientKey(from, clientId);
    // Before the mailbox check, so that a retry neither fills nor is refused by a mailbox the
    // first send already counts in.
    const first = key === undefined ? undefined : this.byClientId.get(key);
    if (first) return { message: first, created: false };
    let box: StoredMessage[] | undefined;
    if (offline) {
      box = this.mailboxes.get(to) ?? [];
      if (box.length >= this.limits.maxOfflinePerUser) throw new ChatError('CHAT_MAILBOX_FULL');
    }
    const stored = storedMessage(message, ++this.lastId);
    this.entries.push({ kind: 'message', message: stored });
    if (key !== undefined) this.byClientId.set(key, stored);
    if (box) {
      box.push(stored);
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
    return box;
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
      if (sees(viewer, entry)) out.push(entry);
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
    const between = (m: StoredMessage): boolean =>
      peer === EVERYONE
        ? m.to === EVERYONE
        : (m.from === viewer && m.to === peer) || (m.from === peer && m.to === viewer);
    const out: StoredMessage[] = [];
    for (let i = this.indexAbove(before - 1) - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.entries[i] as LoggedEvent;
      if (entry.kind === 'message' && between(entry.message)) out.push(entry.message);
    }
    return out.reverse();
  }

  async message(id: EventId): Promise<StoredMessage | undefined> {
    const entry = this.entries[this.indexAbove(id - 1)];
    return entry?.kind === 'message' && entry.message.id === id ? entry.message : undefined;
  }

  /** The same cut as SqliteStore.prune: the oldest entries up to the first the policy keeps. */
  async prune(policy: RetentionPolicy): Promise<number> {
    const last = this.entries.length - 1;
    let cut = 0;
    if (policy.olderThan > 0) {
      const young = this.entries.findIndex((e) => timeOf(e) >= policy.olderThan);
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
      if (entry.kind !== 'message' || entry.message.clientId === undefined) continue;
      this.byClientId.delete(clientKey(entry.message.from, entry.message.clientId));
    }
    for (const [nick, box] of this.mailboxes) {
      const kept = box.filter((m) => m.id > this.pruned);
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

/** Whether `viewer` may see `entry` (the visibility rule of store.ts). */
function sees(viewer: string, entry: LoggedEvent): boolean {
  if (entry.kind === 'read') return entry.receipt.to === viewer || entry.receipt.from === viewer;
  const { to, from } = entry.message;
  return to === EVERYONE || to === viewer || from === viewer;
}

function timeOf(entry: LoggedEvent): number {
  return entry.kind === 'message' ? entry.message.ts : entry.receipt.ts;
}

// NUL cannot occur in a nick (events.ts forbids control characters), so keys cannot collide.
function clientKey(from: string, clientId: string): string {
  return `${from}\u0000${clientId}`;
}
