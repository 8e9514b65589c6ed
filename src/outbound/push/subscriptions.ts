import { ChatError } from '../../domain/errors.js';
import type { PushStore } from '../../store/push-store.js';
import type { EndpointGuard } from './endpoint-guard.js';
import { isBase64Url, isP256PublicKey } from './vapid.js';

/** What PushSubscriptions needs. */
export interface PushSubscriptionsDeps {
  readonly store: PushStore;
  readonly guard: EndpointGuard;
  /** The server's VAPID public key (base64url). */
  readonly publicKey: string;
  readonly now?: () => number;
}

/**
 * The browser side of Web Push, as the HTTP edge uses it: the key browsers subscribe with,
 * and subscriptions checked before they are stored (the endpoint by the EndpointGuard, with a
 * DNS lookup; the keys by form), removed by their user or with the session that made them.
 */
export class PushSubscriptions {
  constructor(private readonly deps: PushSubscriptionsDeps) {}

  /** The VAPID public key (65-byte uncompressed P-256 point, base64url). */
  get publicKey(): string {
    return this.deps.publicKey;
  }

  /**
   * Stores a browser's `PushSubscription.toJSON()` for `nick`, made under the credential
   * `session`; returns its endpoint. Throws PUSH_ENDPOINT_INVALID or PUSH_KEYS_INVALID.
   * `expirationTime` is accepted and not kept: browsers send null, and one that expires
   * answers 404 or 410 and is then removed.
   */
  async subscribe(nick: string, session: string, body: Record<string, unknown>): Promise<string> {
    this.deps.guard.parse(body.endpoint);
    const keys = body.keys;
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
      throw new ChatError('PUSH_KEYS_INVALID', '"keys" must be an object');
    }
    const { p256dh, auth } = keys as Record<string, unknown>;
    if (!isP256PublicKey(p256dh)) throw new ChatError('PUSH_KEYS_INVALID', 'bad p256dh');
    if (!isBase64Url(auth, 16)) throw new ChatError('PUSH_KEYS_INVALID', 'bad auth');
    const expiration = body.expirationTime;
    if (expiration !== undefined && expiration !== null && typeof expiration !== 'number') {
      throw new ChatError('API_BODY_INVALID', '"expirationTime" must be a number or null');
    }
    // The address too, now: a user learns at once that an endpoint can never work. It is
    // checked again at every send, since DNS answers change.
    await this.deps.guard.target(body.endpoint);
    // The endpoint as the browser gave it: it is the key of unsubscribe and of a 404 or 410.
    const endpoint = body.endpoint as string;
    const created = (this.deps.now ?? Date.now)();
    await this.deps.store.subscribe({ endpoint, p256dh, auth, nick, session, created });
    return endpoint;
  }

  /** Removes `nick`'s subscription of `endpoint`; false when they hold none there. */
  unsubscribe(nick: string, endpoint: string): Promise<boolean> {
    return this.deps.store.unsubscribe(nick, endpoint);
  }

  /** Removes the subscriptions made under the credential `session` (its logout). */
  dropSession(session: string): Promise<number> {
    return this.deps.store.dropSession(session);
  }

  /**
   * Removes every subscription of `nick` not made under the credential `keep`: a password
   * change ends every other session and token, and the browsers they subscribed with it.
   */
  async keepOnly(nick: string, keep: string): Promise<number> {
    let dropped = 0;
    for (const sub of await this.deps.store.subscriptions([nick])) {
      if (sub.session !== keep && (await this.deps.store.unsubscribe(nick, sub.endpoint))) {
        dropped++;
      }
    }
    return dropped;
  }
}
