/** What a new connection learns from Presence. */
export interface Arrival {
  /**
   * Users online just before this connection, in the order they came online. That list is
   * the seed's "now online" line, so it includes `nick` itself when another tab of it is open
   * (or it is within its grace window). Backends may hand the same frozen array to every
   * connection until the list changes, so that a formatter can render it once.
   */
  readonly online: readonly string[];
  /** True when the user was not online before: they came online, rather than back. */
  readonly first: boolean;
  /**
   * The user's connections open just before this one. 0 with `first` false means they came
   * back within their grace window.
   */
  readonly tabs: number;
}

/** Called when a user's last connection closed and the grace window ran out. */
export type OfflineListener = (nick: string) => void;

/**
 * Called when this process counted users again whom the backend had lost (a networked
 * backend that was reaped while cut off, or restarted empty): they came back online without a
 * join, so every process's view of who is online is stale. `back` lists the users this call
 * brought back online (they had been announced offline); it may be empty when a write-back
 * whose outcome was unknown is confirmed.
 */
export type RestoredListener = (back: readonly string[]) => void;

/**
 * Presence counts each user's open connections, across all processes, so that the chat
 * service knows who is online, when a login brings a user online and when they went offline.
 *
 * A user whose last connection closes stays online for a grace window, so that a client that
 * reconnects at once (a network blip, a page reload) does not flicker leave and join.
 *
 * Contract (checked for every backend by presence.contract.ts):
 *
 * - `connect` counts one connection. A user is online from their first connection until the
 *   grace window after their last one ran out; `online` lists them in the order they came
 *   online, and a user who comes back within the window keeps their place.
 * - `disconnect(nick, graceMs)` uncounts one connection. When it was the last, the user goes
 *   offline `graceMs` later unless they connect again; with 0 they go offline before the call
 *   resolves. Going offline calls every offline listener once. Disconnecting a user with no
 *   connections is a no-op.
 * - `isConnected` is true while the user has an open connection (grace does not count): a
 *   message to a user who is only within their grace window goes to their mailbox.
 * - In-process backends answer synchronously inside the call (see store.ts for why).
 * - Restored listeners are called after this process wrote back users its backend had lost
 *   (only networked backends lose anything; in-process ones never call them).
 * - `close` cancels pending grace windows without calling listeners.
 * - `ping` resolves when the backend can answer calls now and rejects otherwise (after `close`
 *   included); it changes nothing. Networked backends bound it by their command timeout.
 */
export interface Presence {
  /** Counts a new connection of `nick`. */
  connect(nick: string): Promise<Arrival>;
  /** Uncounts a connection of `nick`; the last one starts its grace window. */
  disconnect(nick: string, graceMs: number): Promise<void>;
  /** Whether `nick` has an open connection right now. */
  isConnected(nick: string): Promise<boolean>;
  /** Users online (grace windows included), in the order they came online. */
  online(): Promise<string[]>;
  /** Adds a listener for users going offline. */
  onOffline(listener: OfflineListener): void;
  /** Adds a listener for users this process restored after the backend lost them. */
  onRestored(listener: RestoredListener): void;
  /** Checks that presence can be read and counted now (readiness); see the contract above. */
  ping(): Promise<void>;
  /** Cancels timers; no listener is called afterwards. */
  close(): Promise<void>;
}
