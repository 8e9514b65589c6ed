// The notification half of the composition root (main.ts): Web Push's sender and routes, the
// push dispatcher that decides who hears of what, and the user's own notification state. Apart
// from main.ts so that the root stays readable; it chooses nothing, it only builds.
import type { Bus } from './bus/bus.js';
import { type Config, OPTIONS } from './config.js';
import type { ChatService } from './core/chat.js';
import { ChatNotify } from './core/chat-notify.js';
import { PushDispatch } from './core/push-dispatch.js';
import type { Logger } from './logger.js';
import type { Stats } from './ops/stats.js';
import { EndpointGuard } from './outbound/push/endpoint-guard.js';
import { PushSender } from './outbound/push/sender.js';
import { PushSubscriptions } from './outbound/push/subscriptions.js';
import type { Presence } from './presence/presence.js';
import type { VapidKeys } from './store/push-store.js';
import type { Store } from './store/store.js';

/** What the notifications are built from. */
export interface NotificationDeps {
  readonly config: Config;
  readonly store: Store;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly stats: Stats;
  readonly logger: Logger;
  /** The server's VAPID keys, read from the Store at startup. */
  readonly vapid: VapidKeys;
}

/** The built notifications: what the HTTP edge serves, and what main.ts pokes and closes. */
export interface Notifications {
  /** Push subscriptions and the public key (`/api/v1/push/…`). */
  readonly subscriptions: PushSubscriptions;
  /** Pushes out of the server; closed before the Store (a 410 removes a subscription there). */
  readonly sender: PushSender;
  /** Who hears of what, by push; poked after each message or edit this process logs. */
  readonly dispatch: PushDispatch;
  /** A user's markers, levels and attention, given the chat service (for room membership). */
  notify(chat: ChatService): ChatNotify;
  /** Stops the dispatcher and the sender. */
  close(): Promise<void>;
}

/** Builds Web Push and the notification state from the server's parts. */
export function buildNotifications(deps: NotificationDeps): Notifications {
  const { config, store, logger } = deps;
  if (config.pushSubject === OPTIONS.pushSubject.default) {
    logger.warn('push subject is the default; Apple push services refuse it', {
      set: OPTIONS.pushSubject.flag,
    });
  }
  const guard = new EndpointGuard({ allowPrivate: config.pushAllowPrivateEndpoints === 'yes' });
  const sender = new PushSender({
    keys: deps.vapid,
    subject: config.pushSubject,
    guard,
    store: store.push,
    logger,
    counts: deps.stats.push,
  });
  const subscriptions = new PushSubscriptions({
    store: store.push,
    guard,
    publicKey: deps.vapid.publicKey,
  });
  const mentionsNotify = config.auth === 'accounts';
  const dispatch = new PushDispatch({
    notify: store.notify,
    push: store.push,
    isConnected: (nick) => deps.presence.isConnected(nick),
    sender: {
      send: (sub, payload, o) => {
        sender.send(sub, payload, { urgency: o.urgency, ttl: o.ttlSeconds });
      },
    },
    mentionsNotify,
    logger,
  });
  return {
    subscriptions,
    sender,
    dispatch,
    notify: (chat) =>
      new ChatNotify({
        notify: store.notify,
        push: store.push,
        limits: config,
        requireMember: (room, user) => chat.rooms.requireMember(room, user),
        registered: chat.registered,
        exchanged: async (nick, peer) =>
          (await store.history(nick, peer, Number.MAX_SAFE_INTEGER, 1)).length > 0,
        // Like typing, best effort: the state is in the Store, and a reload reads it.
        tell: (nick, change) => deps.bus.publish({ kind: 'own', nick, change }).catch(() => {}),
        now: Date.now,
      }),
    close: async () => {
      dispatch.close();
      await sender.close();
    },
  };
}
