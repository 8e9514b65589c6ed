import type { NewMessage, StoredMessage } from '../core/events.js';

/**
 * The Store is ssechat's durable truth. Every accepted message is appended here before it is
 * published on the Bus, so a message the server acknowledged (a 2xx) survives a crash of the
 * process: that is the whole point of the order "append, then publish".
 *
 * Contract (checked for every backend by store.contract.ts):
 *
 * - `append` assigns the message its id. Ids are positive safe integers and strictly increase
 *   in the order appends complete on one store; an id is never reused, even after its message
 *   left a mailbox.
 * - When `message.offline` is true, `append` also puts the message in the recipient's mailbox,
 *   in the same transaction: either both happen or neither does. A full mailbox (more than
 *   `maxOfflinePerUser` waiting) rejects the append with CHAT_MAILBOX_FULL and stores nothing.
 * - `takeOffline(nick)` returns the messages waiting for `nick`, oldest first, and removes them
 *   from the mailbox in the same transaction, so each is handed out once. Concurrent calls for
 *   one nick never both receive the same message.
 * - Appends made concurrently get ids in the order `append` was called.
 * - `takeOffline` sees every append that was called before it, even one whose promise has not
 *   resolved yet. The chat service relies on this (see core/chat.ts): a message queued for a
 *   user who is logging in at that moment lands in that login's greeting.
 * - After `close()` resolves, no call may be made.
 */
export interface Store {
  /** Makes a message durable and returns it with its id. */
  append(message: NewMessage): Promise<StoredMessage>;
  /** Hands out, and removes, the messages kept for `nick` while it was offline. */
  takeOffline(nick: string): Promise<StoredMessage[]>;
  /** Flushes and releases the backend. */
  close(): Promise<void>;
}

/** Limits every Store backend enforces. */
export interface StoreLimits {
  /** How many messages may wait in one user's offline mailbox. */
  readonly maxOfflinePerUser: number;
}
