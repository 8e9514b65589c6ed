import type {
  EventId,
  LoggedEvent,
  NewDelete,
  NewEdit,
  NewMemberChange,
  NewMessage,
  NewReceipt,
  Role,
  StoredDelete,
  StoredEdit,
  StoredMemberChange,
  StoredMessage,
  StoredReceipt,
} from '../domain/events.js';
import type { AccountStore } from '../store/accounts.js';
import type {
  Appended,
  Member,
  MembershipSnapshot,
  RetentionPolicy,
  RoomInfo,
  RoomListing,
  Store,
} from '../store/store.js';
import { type Observer, secondsSince } from './stats.js';

/** Observes `work`'s duration in seconds, whether it resolves or rejects. */
export function timed<T>(observer: Observer, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const done = (): void => observer.observe(secondsSince(start));
  const promise = work();
  promise.then(done, done);
  return promise;
}

/**
 * A Store that times appends (messages, receipts, room changes, edits and deletes alike) and the reads of a resume (`since`),
 * and passes every call straight through. Each call reaches the inner Store in the same turn
 * it was made, so the ordering promises of store.ts hold unchanged.
 */
export class TimedStore implements Store {
  readonly accounts: AccountStore;

  constructor(
    private readonly inner: Store,
    private readonly appendSeconds: Observer,
    private readonly readSeconds: Observer,
  ) {
    this.accounts = inner.accounts;
  }

  append(message: NewMessage): Promise<Appended> {
    return timed(this.appendSeconds, () => this.inner.append(message));
  }

  appendReceipt(receipt: NewReceipt): Promise<StoredReceipt> {
    return timed(this.appendSeconds, () => this.inner.appendReceipt(receipt));
  }

  appendMember(change: NewMemberChange): Promise<StoredMemberChange[]> {
    return timed(this.appendSeconds, () => this.inner.appendMember(change));
  }

  appendEdit(edit: NewEdit): Promise<StoredEdit> {
    return timed(this.appendSeconds, () => this.inner.appendEdit(edit));
  }

  appendDelete(del: NewDelete): Promise<StoredDelete> {
    return timed(this.appendSeconds, () => this.inner.appendDelete(del));
  }

  room(name: string): Promise<RoomInfo | undefined> {
    return this.inner.room(name);
  }

  rooms(viewer: string): Promise<RoomListing[]> {
    return this.inner.rooms(viewer);
  }

  role(room: string, user: string): Promise<Role | null> {
    return this.inner.role(room, user);
  }

  members(room: string): Promise<Member[]> {
    return this.inner.members(room);
  }

  memberships(): Promise<MembershipSnapshot> {
    return this.inner.memberships();
  }

  since(viewer: string, after: EventId, limit: number): Promise<LoggedEvent[]> {
    return timed(this.readSeconds, () => this.inner.since(viewer, after, limit));
  }

  takeOffline(nick: string): Promise<StoredMessage[]> {
    return this.inner.takeOffline(nick);
  }

  head(): Promise<EventId> {
    return this.inner.head();
  }

  prunedThrough(): Promise<EventId> {
    return this.inner.prunedThrough();
  }

  log(after: EventId, limit: number): Promise<LoggedEvent[]> {
    return this.inner.log(after, limit);
  }

  history(viewer: string, peer: string, before: EventId, limit: number): Promise<StoredMessage[]> {
    return this.inner.history(viewer, peer, before, limit);
  }

  message(id: EventId): Promise<StoredMessage | undefined> {
    return this.inner.message(id);
  }

  prune(policy: RetentionPolicy): Promise<number> {
    return this.inner.prune(policy);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
