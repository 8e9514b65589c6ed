// The Web Push routes over the real wire: the key, subscribing and unsubscribing (only one's
// own), hostile endpoints and keys, logout, and a subscription made through the API that a
// push then reaches (or, with the address check on, does not).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Config, configWith, OPTIONS, parseArgs, resolveConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/main.js';
import { EndpointGuard } from '../src/outbound/push/endpoint-guard.js';
import { PushSender } from '../src/outbound/push/sender.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { api, NO_LIMITS, recordingLogger, session, startTestServer } from './helpers.js';
import { SUBJECT } from './push-fixture.js';
import { FakePushService } from './push-service.js';

/** A server on a data directory of its own, with its Store in the test's hands. */
async function start(
  dir: string,
  over: Partial<Config> = {},
): Promise<{ server: RunningServer; store: SqliteStore }> {
  const config = configWith({
    port: 0,
    store: 'sqlite',
    logLevel: 'silent',
    dataDir: dir,
    pushSubject: SUBJECT,
    ...NO_LIMITS,
    ...over,
  });
  const store = new SqliteStore({
    path: join(dir, 'ssechat.db'),
    synchronous: 'normal',
    maxOfflinePerUser: 100,
  });
  const server = await startServer(config, silentLogger, { openStore: async () => store });
  return { server, store };
}

/** What served gives the tests of a describe block. */
interface Served {
  readonly store: SqliteStore;
  /** The server's URL. */
  readonly base: string;
  readonly service: FakePushService;
}

/**
 * Registers, in the calling describe block, a server (as `start` makes it, with `over`) on a
 * fresh data directory and a push service, both started before the tests and removed after.
 */
function served(over: Partial<Config> = {}): Served {
  let dir = '';
  let running: { server: RunningServer; store: SqliteStore } | undefined;
  let service: FakePushService | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-push-'));
    running = await start(dir, over);
    service = await FakePushService.start(SUBJECT);
  });
  after(async () => {
    await running?.server.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get store() {
      return (running as { store: SqliteStore }).store;
    },
    get base() {
      return (running as { server: RunningServer }).server.url;
    },
    get service() {
      return service as FakePushService;
    },
  };
}

/** A sender with the server's own VAPID keys, whose address check allows loopback or not. */
async function senderOn(store: SqliteStore, allowPrivate: boolean): Promise<PushSender> {
  return new PushSender({
    keys: await store.push.vapidKeys(() => assert.fail('generated')),
    subject: SUBJECT,
    guard: new EndpointGuard({ allowPrivate }),
    store: store.push,
    logger: silentLogger,
  });
}

/** A subscription body a browser would send, with real keys, to `endpoint`. */
function browserJson(service: FakePushService, endpoint?: string) {
  const { json } = service.browser();
  return endpoint === undefined ? json : { ...json, endpoint };
}

describe('Web Push API', () => {
  const fx = served();

  test('GET /api/v1/push/key: the VAPID public key, without a login', async () => {
    const reply = await api(fx.base, 'GET', '/api/v1/push/key');
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.json), ['publicKey']);
    const { publicKey } = reply.json;
    assert.match(publicKey, /^[A-Za-z0-9_-]+$/);
    const point = Buffer.from(publicKey, 'base64url');
    assert.equal(point.length, 65);
    assert.equal(point[0], 0x04);
    assert.equal(
      publicKey,
      (await fx.store.push.vapidKeys(() => assert.fail('generated'))).publicKey,
    );
  });

  test('subscribing needs a login', async () => {
    const body = browserJson(fx.service, 'https://93.184.215.14/push/x');
    const reply = await api(fx.base, 'POST', '/api/v1/push/subscriptions', body);
    assert.equal(reply.status, 401);
    assert.equal(
      (await api(fx.base, 'DELETE', '/api/v1/push/subscriptions', { endpoint: 'x' })).status,
      401,
    );
  });

  test('hostile endpoints and keys get 400 and store nothing', async () => {
    const cookie = await session(fx.base, 'mallory');
    const good = browserJson(fx.service, 'https://93.184.215.14/push/ok');
    const endpoints = [
      fx.service.browser().json.endpoint, // http: without --push-allow-private-endpoints
      'http://93.184.215.14/push/x',
      'https://127.0.0.1/push/x',
      'https://127.1/push/x',
      'https://[::1]/push/x',
      'https://[::ffff:127.0.0.1]/push/x',
      'https://10.0.0.1/push/x',
      'https://169.254.169.254/latest/meta-data/',
      'https://192.168.1.1/push/x',
      'https://[fd00::1]/push/x',
      'https://localhost/push/x',
      `https://localhost:${new URL(fx.service.origin).port}/push/x`,
      'ftp://93.184.215.14/push/x',
      'javascript:alert(1)',
      'file:///etc/passwd',
      `https://93.184.215.14/${'a'.repeat(10_000)}`,
      '',
      42,
      null,
    ];
    for (const endpoint of endpoints) {
      const reply = await api(
        fx.base,
        'POST',
        '/api/v1/push/subscriptions',
        { ...good, endpoint },
        cookie,
      );
      assert.equal(reply.status, 400, String(endpoint).slice(0, 80));
      assert.equal(reply.json.error.code, 'PUSH_ENDPOINT_INVALID', String(endpoint).slice(0, 80));
    }
    const { p256dh, auth } = good.keys;
    const short = Buffer.from(p256dh, 'base64url').subarray(0, 33).toString('base64url');
    const notOnCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
    const compressed = Buffer.concat([Buffer.from([2]), Buffer.alloc(64, 1)]).toString('base64url');
    for (const keys of [
      undefined,
      null,
      'keys',
      [],
      {},
      { p256dh },
      { auth },
      { p256dh: short, auth },
      { p256dh: notOnCurve, auth },
      { p256dh: compressed, auth },
      { p256dh: `${p256dh}=`, auth },
      { p256dh: p256dh.replace(/.$/, '+'), auth },
      { p256dh, auth: Buffer.alloc(15).toString('base64url') },
      { p256dh, auth: Buffer.alloc(17).toString('base64url') },
      { p256dh, auth: 42 },
      { p256dh: 42, auth },
    ]) {
      const reply = await api(
        fx.base,
        'POST',
        '/api/v1/push/subscriptions',
        { ...good, keys },
        cookie,
      );
      assert.equal(reply.status, 400, JSON.stringify(keys));
      assert.equal(reply.json.error.code, 'PUSH_KEYS_INVALID', JSON.stringify(keys));
    }
    const badExpiry = { ...good, expirationTime: 'soon' };
    const reply = await api(fx.base, 'POST', '/api/v1/push/subscriptions', badExpiry, cookie);
    assert.equal(reply.status, 400);
    assert.deepEqual(await fx.store.push.subscriptions(['mallory']), []);
  });

  test('subscribe and unsubscribe: each user removes only their own', async () => {
    const ann = await session(fx.base, 'ann');
    const bob = await session(fx.base, 'bob');
    const body = browserJson(fx.service, 'https://93.184.215.14/push/ann-1');
    const made = await api(fx.base, 'POST', '/api/v1/push/subscriptions', body, ann);
    assert.equal(made.status, 201);
    assert.deepEqual(made.json, { endpoint: body.endpoint });
    const [stored] = await fx.store.push.subscriptions(['ann']);
    assert.equal(stored?.endpoint, body.endpoint);
    assert.equal(stored?.p256dh, body.keys.p256dh);
    assert.equal(stored?.auth, body.keys.auth);
    // Bob cannot remove it, and cannot tell that it exists.
    const theirs = await api(fx.base, 'DELETE', '/api/v1/push/subscriptions', body, bob);
    assert.equal(theirs.status, 204);
    assert.equal((await fx.store.push.subscriptions(['ann'])).length, 1);
    const mine = await api(
      fx.base,
      'DELETE',
      '/api/v1/push/subscriptions',
      { endpoint: body.endpoint },
      ann,
    );
    assert.equal(mine.status, 204);
    assert.deepEqual(await fx.store.push.subscriptions(['ann']), []);
    const noField = await api(fx.base, 'DELETE', '/api/v1/push/subscriptions', {}, ann);
    assert.equal(noField.status, 400);
  });

  test('logging out removes the subscriptions of that session only', async () => {
    const phone = await session(fx.base, 'cy');
    const laptop = await session(fx.base, 'cy');
    const a = browserJson(fx.service, 'https://93.184.215.14/push/cy-phone');
    const b = browserJson(fx.service, 'https://93.184.215.14/push/cy-laptop');
    assert.equal((await api(fx.base, 'POST', '/api/v1/push/subscriptions', a, phone)).status, 201);
    assert.equal((await api(fx.base, 'POST', '/api/v1/push/subscriptions', b, laptop)).status, 201);
    assert.equal((await api(fx.base, 'DELETE', '/api/v1/session', undefined, phone)).status, 204);
    const left = await fx.store.push.subscriptions(['cy']);
    assert.deepEqual(
      left.map((s) => s.endpoint),
      [b.endpoint],
    );
  });

  test('the keys are kept: a restart on the same store serves the same key', async () => {
    const first = (await api(fx.base, 'GET', '/api/v1/push/key')).json.publicKey;
    const otherDir = mkdtempSync(join(tmpdir(), 'ssechat-push-'));
    try {
      const other = await start(otherDir);
      const fresh = (await api(other.server.url, 'GET', '/api/v1/push/key')).json.publicKey;
      await other.server.close();
      assert.notEqual(fresh, first);
      const again = await start(otherDir);
      assert.equal((await api(again.server.url, 'GET', '/api/v1/push/key')).json.publicKey, fresh);
      await again.server.close();
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

describe('Web Push API with --push-allow-private-endpoints yes', () => {
  const fx = served({ pushAllowPrivateEndpoints: 'yes' });

  test('a loopback push service can be subscribed, and a push reaches it decrypted', async () => {
    const ann = await session(fx.base, 'ann');
    const browser = fx.service.browser();
    const made = await api(fx.base, 'POST', '/api/v1/push/subscriptions', browser.json, ann);
    assert.equal(made.status, 201);
    const subs = await fx.store.push.subscriptions(['ann']);
    assert.equal(subs.length, 1);
    const sender = await senderOn(fx.store, true);
    sender.send(subs[0] as (typeof subs)[number], { title: 'bob', body: 'ping', with: 'bob' });
    await sender.idle();
    await sender.close();
    assert.deepEqual(fx.service.rejected, []);
    assert.equal(fx.service.received.length, 1);
    assert.deepEqual(JSON.parse(fx.service.received[0]?.plaintext ?? ''), {
      title: 'bob',
      body: 'ping',
      with: 'bob',
    });
    const key = (await api(fx.base, 'GET', '/api/v1/push/key')).json.publicKey;
    assert.equal(fx.service.received[0]?.k, key);
  });

  test('other schemes are still refused', async () => {
    const ann = await session(fx.base, 'ann');
    for (const endpoint of ['ftp://127.0.0.1/x', 'javascript:alert(1)', 'file:///etc/passwd']) {
      const body = { ...fx.service.browser().json, endpoint };
      const reply = await api(fx.base, 'POST', '/api/v1/push/subscriptions', body, ann);
      assert.equal(reply.status, 400, endpoint);
      assert.equal(reply.json.error.code, 'PUSH_ENDPOINT_INVALID');
    }
  });

  test('the address is checked again at send: without the flag, the sender refuses it', async () => {
    const bob = await session(fx.base, 'bob');
    const port = new URL(fx.service.origin).port;
    const browser = fx.service.browser(`http://localhost:${port}`);
    const made = await api(fx.base, 'POST', '/api/v1/push/subscriptions', browser.json, bob);
    assert.equal(made.status, 201);
    const [sub] = await fx.store.push.subscriptions(['bob']);
    assert.ok(sub);
    const sender = await senderOn(fx.store, false);
    const before = fx.service.requests;
    sender.send(sub, { body: 'must not arrive' });
    await sender.idle();
    await sender.close();
    assert.equal(fx.service.requests, before);
    assert.deepEqual(sender.counts, { sent: 0, failed: 1, pruned: 0, dropped: 0 });
    // Refused, not removed: the answer may change back.
    assert.equal((await fx.store.push.subscriptions(['bob'])).length, 1);
  });
});

describe('--push-subject', () => {
  test('the server warns at startup while it is the default, which Apple refuses', async () => {
    for (const pushSubject of [OPTIONS.pushSubject.default, SUBJECT]) {
      const logger = recordingLogger();
      const server = await startTestServer({ pushSubject }, logger);
      await server.close();
      const warned = logger.lines.some((l) => l.msg.startsWith('push subject is the default'));
      assert.equal(warned, pushSubject === OPTIONS.pushSubject.default, pushSubject);
    }
  });

  test('must be a mailto: address or an https: URL', () => {
    for (const bad of [
      'admin@example.com',
      'http://chat.example.com',
      'mailto:',
      'mailto:nobody',
      'mailto:a b@example.com',
      'https://',
      'https://user:pw@chat.example.com',
      'javascript:alert(1)',
      `mailto:${'a'.repeat(300)}@example.com`,
    ]) {
      assert.throws(() => parseSubject(bad), /invalid --push-subject/, bad);
    }
    for (const good of ['mailto:admin@chat.example.com', 'https://chat.example.com/contact']) {
      assert.equal(parseSubject(good), good);
    }
  });
});

/** Parses a --push-subject value the way the command line does. */
function parseSubject(raw: string): string {
  return resolveConfig(parseArgs(['--push-subject', raw]), {}).pushSubject;
}

describe('Web Push subscriptions end with their credential (accounts mode)', () => {
  const fx = served({ auth: 'accounts' });

  const subscribe = async (headers: Record<string, string>, name: string): Promise<string> => {
    const body = browserJson(fx.service, `https://93.184.215.14/push/${name}`);
    const reply = await api(fx.base, 'POST', '/api/v1/push/subscriptions', body, headers);
    assert.equal(reply.status, 201);
    return body.endpoint;
  };
  const held = async (nick: string): Promise<string[]> =>
    (await fx.store.push.subscriptions([nick])).map((s) => s.endpoint).sort();

  test('a password change drops the subscriptions of the sessions it ends', async () => {
    const password = 'correct horse battery staple';
    const here = await session(fx.base, 'dee', password, true);
    const there = await session(fx.base, 'dee', password);
    const kept = await subscribe(here, 'dee-here');
    await subscribe(there, 'dee-there');
    const changed = await api(
      fx.base,
      'POST',
      '/api/v1/password',
      { current: password, password: 'another long passphrase' },
      here,
    );
    assert.equal(changed.status, 204);
    assert.deepEqual(await held('dee'), [kept]);
  });

  test('revoking a token drops the subscriptions made with it', async () => {
    const cookie = await session(fx.base, 'eve', 'correct horse battery staple', true);
    const token = await api(fx.base, 'POST', '/api/v1/tokens', { label: 'phone' }, cookie);
    assert.equal(token.status, 201);
    const bearer = { Authorization: `Bearer ${token.json.token}` };
    await subscribe(bearer, 'eve-token');
    const kept = await subscribe(cookie, 'eve-cookie');
    const revoked = await api(
      fx.base,
      'DELETE',
      `/api/v1/tokens/${token.json.id}`,
      undefined,
      cookie,
    );
    assert.equal(revoked.status, 204);
    assert.deepEqual(await held('eve'), [kept]);
  });
});
