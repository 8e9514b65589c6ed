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
import { FakePushService } from './push-service.js';

const SUBJECT = 'mailto:ops@chat.example.com';

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

/** A subscription body a browser would send, with real keys, to `endpoint`. */
function browserJson(service: FakePushService, endpoint?: string) {
  const { json } = service.browser();
  return endpoint === undefined ? json : { ...json, endpoint };
}

describe('Web Push API', () => {
  let dir: string;
  let server: RunningServer;
  let store: SqliteStore;
  let base: string;
  let service: FakePushService;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-push-'));
    ({ server, store } = await start(dir));
    base = server.url;
    service = await FakePushService.start(SUBJECT);
  });
  after(async () => {
    await server.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GET /api/v1/push/key: the VAPID public key, without a login', async () => {
    const reply = await api(base, 'GET', '/api/v1/push/key');
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.json), ['publicKey']);
    const { publicKey } = reply.json;
    assert.match(publicKey, /^[A-Za-z0-9_-]+$/);
    const point = Buffer.from(publicKey, 'base64url');
    assert.equal(point.length, 65);
    assert.equal(point[0], 0x04);
    assert.equal(publicKey, (await store.push.vapidKeys(() => assert.fail('generated'))).publicKey);
  });

  test('subscribing needs a login', async () => {
    const body = browserJson(service, 'https://93.184.215.14/push/x');
    const reply = await api(base, 'POST', '/api/v1/push/subscriptions', body);
    assert.equal(reply.status, 401);
    assert.equal(
      (await api(base, 'DELETE', '/api/v1/push/subscriptions', { endpoint: 'x' })).status,
      401,
    );
  });

  test('hostile endpoints and keys get 400 and store nothing', async () => {
    const cookie = await session(base, 'mallory');
    const good = browserJson(service, 'https://93.184.215.14/push/ok');
    const endpoints = [
      service.browser().json.endpoint, // http: without --push-allow-private-endpoints
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
      `https://localhost:${new URL(service.origin).port}/push/x`,
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
        base,
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
        base,
        'POST',
        '/api/v1/push/subscriptions',
        { ...good, keys },
        cookie,
      );
      assert.equal(reply.status, 400, JSON.stringify(keys));
      assert.equal(reply.json.error.code, 'PUSH_KEYS_INVALID', JSON.stringify(keys));
    }
    const badExpiry = { ...good, expirationTime: 'soon' };
    const reply = await api(base, 'POST', '/api/v1/push/subscriptions', badExpiry, cookie);
    assert.equal(reply.status, 400);
    assert.deepEqual(await store.push.subscriptions(['mallory']), []);
  });

  test('subscribe and unsubscribe: each user removes only their own', async () => {
    const ann = await session(base, 'ann');
    const bob = await session(base, 'bob');
    const body = browserJson(service, 'https://93.184.215.14/push/ann-1');
    const made = await api(base, 'POST', '/api/v1/push/subscriptions', body, ann);
    assert.equal(made.status, 201);
    assert.deepEqual(made.json, { endpoint: body.endpoint });
    const [stored] = await store.push.subscriptions(['ann']);
    assert.equal(stored?.endpoint, body.endpoint);
    assert.equal(stored?.p256dh, body.keys.p256dh);
    assert.equal(stored?.auth, body.keys.auth);
    // Bob cannot remove it, and cannot tell that it exists.
    const theirs = await api(base, 'DELETE', '/api/v1/push/subscriptions', body, bob);
    assert.equal(theirs.status, 204);
    assert.equal((await store.push.subscriptions(['ann'])).length, 1);
    const mine = await api(
      base,
      'DELETE',
      '/api/v1/push/subscriptions',
      { endpoint: body.endpoint },
      ann,
    );
    assert.equal(mine.status, 204);
    assert.deepEqual(await store.push.subscriptions(['ann']), []);
    const noField = await api(base, 'DELETE', '/api/v1/push/subscriptions', {}, ann);
    assert.equal(noField.status, 400);
  });

  test('logging out removes the subscriptions of that session only', async () => {
    const phone = await session(base, 'cy');
    const laptop = await session(base, 'cy');
    const a = browserJson(service, 'https://93.184.215.14/push/cy-phone');
    const b = browserJson(service, 'https://93.184.215.14/push/cy-laptop');
    assert.equal((await api(base, 'POST', '/api/v1/push/subscriptions', a, phone)).status, 201);
    assert.equal((await api(base, 'POST', '/api/v1/push/subscriptions', b, laptop)).status, 201);
    assert.equal((await api(base, 'DELETE', '/api/v1/session', undefined, phone)).status, 204);
    const left = await store.push.subscriptions(['cy']);
    assert.deepEqual(
      left.map((s) => s.endpoint),
      [b.endpoint],
    );
  });

  test('the keys are kept: a restart on the same store serves the same key', async () => {
    const first = (await api(base, 'GET', '/api/v1/push/key')).json.publicKey;
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
  let dir: string;
  let server: RunningServer;
  let store: SqliteStore;
  let base: string;
  let service: FakePushService;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-push-'));
    ({ server, store } = await start(dir, { pushAllowPrivateEndpoints: 'yes' }));
    base = server.url;
    service = await FakePushService.start(SUBJECT);
  });
  after(async () => {
    await server.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a loopback push service can be subscribed, and a push reaches it decrypted', async () => {
    const ann = await session(base, 'ann');
    const browser = service.browser();
    const made = await api(base, 'POST', '/api/v1/push/subscriptions', browser.json, ann);
    assert.equal(made.status, 201);
    const subs = await store.push.subscriptions(['ann']);
    assert.equal(subs.length, 1);
    const keys = await store.push.vapidKeys(() => assert.fail('generated'));
    const sender = new PushSender({
      keys,
      subject: SUBJECT,
      guard: new EndpointGuard({ allowPrivate: true }),
      store: store.push,
      logger: silentLogger,
    });
    sender.send(subs[0] as (typeof subs)[number], { title: 'bob', body: 'ping', with: 'bob' });
    await sender.idle();
    await sender.close();
    assert.deepEqual(service.rejected, []);
    assert.equal(service.received.length, 1);
    assert.deepEqual(JSON.parse(service.received[0]?.plaintext ?? ''), {
      title: 'bob',
      body: 'ping',
      with: 'bob',
    });
    const key = (await api(base, 'GET', '/api/v1/push/key')).json.publicKey;
    assert.equal(service.received[0]?.k, key);
  });

  test('other schemes are still refused', async () => {
    const ann = await session(base, 'ann');
    for (const endpoint of ['ftp://127.0.0.1/x', 'javascript:alert(1)', 'file:///etc/passwd']) {
      const body = { ...service.browser().json, endpoint };
      const reply = await api(base, 'POST', '/api/v1/push/subscriptions', body, ann);
      assert.equal(reply.status, 400, endpoint);
      assert.equal(reply.json.error.code, 'PUSH_ENDPOINT_INVALID');
    }
  });

  test('the address is checked again at send: without the flag, the sender refuses it', async () => {
    const bob = await session(base, 'bob');
    const port = new URL(service.origin).port;
    const browser = service.browser(`http://localhost:${port}`);
    const made = await api(base, 'POST', '/api/v1/push/subscriptions', browser.json, bob);
    assert.equal(made.status, 201);
    const [sub] = await store.push.subscriptions(['bob']);
    assert.ok(sub);
    const keys = await store.push.vapidKeys(() => assert.fail('generated'));
    const sender = new PushSender({
      keys,
      subject: SUBJECT,
      guard: new EndpointGuard({ allowPrivate: false }),
      store: store.push,
      logger: silentLogger,
    });
    const before = service.requests;
    sender.send(sub, { body: 'must not arrive' });
    await sender.idle();
    await sender.close();
    assert.equal(service.requests, before);
    assert.deepEqual(sender.counts, { sent: 0, failed: 1, pruned: 0, dropped: 0 });
    // Refused, not removed: the answer may change back.
    assert.equal((await store.push.subscriptions(['bob'])).length, 1);
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
  let dir: string;
  let server: RunningServer;
  let store: SqliteStore;
  let base: string;
  let service: FakePushService;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-push-'));
    ({ server, store } = await start(dir, { auth: 'accounts' }));
    base = server.url;
    service = await FakePushService.start(SUBJECT);
  });
  after(async () => {
    await server.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const subscribe = async (headers: Record<string, string>, name: string): Promise<string> => {
    const body = browserJson(service, `https://93.184.215.14/push/${name}`);
    const reply = await api(base, 'POST', '/api/v1/push/subscriptions', body, headers);
    assert.equal(reply.status, 201);
    return body.endpoint;
  };
  const held = async (nick: string): Promise<string[]> =>
    (await store.push.subscriptions([nick])).map((s) => s.endpoint).sort();

  test('a password change drops the subscriptions of the sessions it ends', async () => {
    const password = 'correct horse battery staple';
    const here = await session(base, 'dee', password, true);
    const there = await session(base, 'dee', password);
    const kept = await subscribe(here, 'dee-here');
    await subscribe(there, 'dee-there');
    const changed = await api(
      base,
      'POST',
      '/api/v1/password',
      { current: password, password: 'another long passphrase' },
      here,
    );
    assert.equal(changed.status, 204);
    assert.deepEqual(await held('dee'), [kept]);
  });

  test('revoking a token drops the subscriptions made with it', async () => {
    const cookie = await session(base, 'eve', 'correct horse battery staple', true);
    const token = await api(base, 'POST', '/api/v1/tokens', { label: 'phone' }, cookie);
    assert.equal(token.status, 201);
    const bearer = { Authorization: `Bearer ${token.json.token}` };
    await subscribe(bearer, 'eve-token');
    const kept = await subscribe(cookie, 'eve-cookie');
    const revoked = await api(base, 'DELETE', `/api/v1/tokens/${token.json.id}`, undefined, cookie);
    assert.equal(revoked.status, 204);
    assert.deepEqual(await held('eve'), [kept]);
  });
});
