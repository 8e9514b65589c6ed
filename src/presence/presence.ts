/**
 * Presence counts each user's open connections, across all processes, so that the chat
 * service knows who is online, when a login is a user's first connection and when a logout
 * is the last.
 *
 * Contract (checked for every backend by presence.contract.ts):
 *
 * - `connect` adds one connection and returns the users that were online just before it, in
 *   the order they came online (their first open connection). That list is the seed's
 *   "now online" line, so it includes `nick` itself when another tab of it is open.
 * - `disconnect` removes one connection and returns true when it was the user's last one.
 *   Disconnecting a user with no connections is a no-op that returns false.
 * - `isOnline` is true while the user has at least one connection.
 * - In-process backends answer synchronously inside the call (see store.ts for why).
 */
export interface Presence {
  /** Counts a new connection of `nick`; returns who was online before it. */
  connect(nick: string): Promise<string[]>;
  /** Uncounts a connection of `nick`; true when it was the last. */
  disconnect(nick: string): Promise<boolean>;
  /** Whether `nick` has any open connection. */
  isOnline(nick: string): Promise<boolean>;
}
