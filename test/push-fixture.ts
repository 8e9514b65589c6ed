/**
 * The fixtures the Web Push tests share, on the loopback push service of push-service.ts:
 * senders on a fresh Store for each test (push-sender, push-fairness), and a server in
 * accounts mode whose users each hold a subscription (push-notify, notify-hostile).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { EndpointGuard } from '../src/outbound/push/endpoint-guard.js';
import { PushSender, type PushSenderOptions } from '../src/outbound/push/sender.js';
import { generateVapidKeys } from '../src/outbound/push/vapid.js';
import type { PushSubscriptionRecord, VapidKeys } from '../src/store/push-store.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import {
  api,
  type JsonReply,
  NO_LIMITS,
  recordingLogger,
  type SseClient,
  session,
  startTestServer,
} from './helpers.js';
import { type FakeBrowser, FakePushService, type ReceivedPush } from './push-service.js';

/** The VAPID subject the tests' servers and senders use, and their push service expects. */
export const SUBJECT = 'mailto:ops@chat.example.com';
/** The password of every user pushUsers registers. */
export const PASSWORD = 'correct horse battery';

/** The record the Store would hold for `browser` of `nick`. */
export const recordOf = (browser: FakeBrowser, nick = 'ann'): PushSubscriptionRecord => ({
  endpoint: browser.json.endpoint,
  p256dh: browser.json.keys.p256dh,
  auth: browser.json.keys.auth,
  nick,
  session: 's1',
  created: Date.now(),
});

/** What senderFixture gives the tests of a describe block. */
export interface SenderFixture {
  /** The VAPID key pair every sender signs with. */
  readonly keys: VapidKeys;
  /** The push service, one for the whole block. */
  readonly service: FakePushService;
  /** An in-memory Store, a fresh one for each test. */
  readonly store: SqliteStore;
  /**
   * A sender on `store` (loopback allowed, a recording logger, the block's `defaults`), with
   * `over` replacing whole options; it is closed before the next test.
   */
  open(over?: Partial<PushSenderOptions>): PushSender;
}

/**
 * Registers, in the calling describe block, the hooks of a sender test: the push service
 * started before the tests and closed after them, and before each test the previous test's
 * senders and Store closed and a new Store opened.
 */
export function senderFixture(defaults: Partial<PushSenderOptions> = {}): SenderFixture {
  const keys = generateVapidKeys();
  let service: FakePushService | undefined;
  let store: SqliteStore | undefined;
  const senders: PushSender[] = [];
  before(async () => {
    service = await FakePushService.start(SUBJECT);
  });
  after(() => service?.close());
  beforeEach(async () => {
    for (const s of senders.splice(0)) await s.close();
    await store?.close();
    store = new SqliteStore({ path: ':memory:', synchronous: 'normal', maxOfflinePerUser: 10 });
  });
  return {
    keys,
    get service() {
      return service as FakePushService;
    },
    get store() {
      return store as SqliteStore;
    },
    open(over = {}) {
      const sender = new PushSender({
        keys,
        subject: SUBJECT,
        guard: new EndpointGuard({ allowPrivate: true }),
        store: (store as SqliteStore).push,
        logger: recordingLogger(),
        ...defaults,
        ...over,
      });
      senders.push(sender);
      return sender;
    },
  };
}

/** What pushUsers gives the tests of a describe block. */
export interface PushUsers {
  readonly server: RunningServer;
  /** The server's URL. */
  readonly base: string;
  readonly service: FakePushService;
  /** Each user's Cookie header. */
  readonly cookies: Map<string, Record<string, string>>;
  /** Each user's subscribed browser. */
  readonly browsers: Map<string, FakeBrowser>;
  /** Event streams the tests open, closed after them. */
  readonly streams: SseClient[];
  /** `method /api/v1<path>` as `nick`. */
  call(nick: string, method: string, path: string, body?: unknown): Promise<JsonReply>;
  /** The pushes `nick`'s browser received, in order of arrival. */
  received(nick: string): ReceivedPush[];
}

/**
 * Registers, in the calling describe block, a server in accounts mode that pushes to the
 * loopback service at once (no presence grace): before the tests each of `nicks` registers,
 * signs in, subscribes a browser and then runs `each`; after them all is closed.
 */
export function pushUsers(
  nicks: readonly string[],
  each: (nick: string) => Promise<void> = async () => {},
): PushUsers {
  let server: RunningServer | undefined;
  let base = '';
  let service: FakePushService | undefined;
  const cookies = new Map<string, Record<string, string>>();
  const browsers = new Map<string, FakeBrowser>();
  const streams: SseClient[] = [];
  const call = (nick: string, method: string, path: string, body?: unknown) =>
    api(base, method, `/api/v1${path}`, body, cookies.get(nick));
  before(async () => {
    service = await FakePushService.start(SUBJECT);
    server = await startTestServer({
      auth: 'accounts',
      pushSubject: SUBJECT,
      pushAllowPrivateEndpoints: 'yes',
      presenceGraceMs: 0,
      ...NO_LIMITS,
    });
    base = server.url;
    for (const nick of nicks) {
      cookies.set(nick, await session(base, nick, PASSWORD, true));
      const browser = service.browser();
      browsers.set(nick, browser);
      const r = await call(nick, 'POST', '/push/subscriptions', browser.json);
      assert.equal(r.status, 201, r.body);
      await each(nick);
    }
  });
  after(async () => {
    for (const s of streams) s.close();
    await server?.close();
    await service?.close();
  });
  return {
    get server() {
      return server as RunningServer;
    },
    get base() {
      return base;
    },
    get service() {
      return service as FakePushService;
    },
    cookies,
    browsers,
    streams,
    call,
    received(nick) {
      const id = browsers.get(nick)?.json.endpoint.split('/').at(-1);
      return (service as FakePushService).received.filter((p) => p.id === id);
    },
  };
}
