/** A browser's Web Push subscription (PushSubscription.toJSON()), as the server keeps it. */
export interface PushSubscriptionRecord {
  /** The push service URL the server POSTs to; unique across all users. */
  readonly endpoint: string;
  /** The browser's P-256 public key, base64url (65 bytes, uncompressed point). */
  readonly p256dh: string;
  /** The browser's auth secret, base64url (16 bytes). */
  readonly auth: string;
  readonly nick: string;
  /** The public id of the session that subscribed it: logging that session out removes it. */
  readonly session: string;
  /** ms since the epoch */
  readonly created: number;
}

/** The server's VAPID key pair, base64url: the public key is the 65-byte uncompressed point. */
export interface VapidKeys {
  readonly publicKey: string;
  readonly privateKey: string;
}

/**
 * Web Push state, kept by the same backend as the log (Store.push).
 *
 * Contract (checked for every backend by push.contract.ts):
 *
 * - `vapidKeys(generate)` returns the stored pair; when there is none it stores the pair
 *   `generate()` makes and returns it, once across every process: concurrent first calls all
 *   return the same pair.
 * - `secret(key, generate)` does the same for any other server-wide secret, by name: the
 *   first value stored under `key` is every process's, for good (the search cursors' key).
 * - `subscribe` stores a subscription, replacing one with the same endpoint (a browser that
 *   subscribed again, or moved to another user: it is the new user's now). A user holds at
 *   most MAX_PUSH_SUBSCRIPTIONS_PER_USER; a new one beyond that replaces their oldest.
 * - `unsubscribe(nick, endpoint)` removes only a subscription `nick` holds.
 * - `dropSession(session)` removes the subscriptions made under that session (logout).
 * - A subscription lives no longer than its credential: AccountStore's revoke, revokeAll and
 *   pruneCredentials remove the subscriptions of the credentials they delete, and a change of
 *   the auth mode removes every subscription (accounts.contract.ts checks it).
 * - `dropEndpoint(endpoint)` removes a subscription whoever holds it (the push service said
 *   404 or 410).
 * - `subscriptions(nicks)` returns the subscriptions of those users.
 */
export interface PushStore {
  vapidKeys(generate: () => VapidKeys): Promise<VapidKeys>;
  /** A server-wide secret by name, made by `generate` on first use; see the contract. */
  secret(key: string, generate: () => string): Promise<string>;
  subscribe(sub: PushSubscriptionRecord): Promise<void>;
  unsubscribe(nick: string, endpoint: string): Promise<boolean>;
  dropSession(session: string): Promise<number>;
  dropEndpoint(endpoint: string): Promise<boolean>;
  subscriptions(nicks: readonly string[]): Promise<PushSubscriptionRecord[]>;
  /** Whether anyone holds a subscription: with none, the push dispatcher reads nothing more. */
  anySubscriptions(): Promise<boolean>;
  /** Settings of the lock screen: whether `nick` hides text and sender ("New message"). */
  hideText(nick: string): Promise<boolean>;
  setHideText(nick: string, hide: boolean): Promise<void>;
}

/** Most push subscriptions (browsers) one user holds; a new one beyond replaces the oldest. */
export const MAX_PUSH_SUBSCRIPTIONS_PER_USER = 10;
