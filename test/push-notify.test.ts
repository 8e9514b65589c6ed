// Who hears of what by Web Push, end to end: a real server pushes to a push service this test
// runs on loopback, which checks each push's VAPID header and decrypts its RFC 8291 body with
// the subscription's own keys (push-service.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';
import { type FakeBrowser, FakePushService } from './push-service.js';

const SUBJECT = 'mailto:ops@chat.example.com';
const PASSWORD = 'correct horse battery';

interface Payload {
  title: string;
  body: string;
  with?: string;
  tag: string;
  url: string;
  unread: number;
}

describe('Web Push: who is pushed, and what', () => {
  let server: RunningServer;
  let base = '';
  let service: FakePushService;
  const cookies = new Map<string, Record<string, string>>();
  const browsers = new Map<string, FakeBrowser>();
  const streams: SseClient[] = [];
  const call = (nick: string, method: string, path: string, body?: unknown) =>
    api(base, method, `/api/v1${path}`, body, cookies.get(nick));
  const say = async (from: string, to: string, text: string) => {
    const r = await call(from, 'POST', '/messages', { to, text });
    assert.equal(r.status, 201, r.body);
    return r.json.id as number;
  };
  /** The pushes `nick`'s browser got, decrypted. */
  const pushesOf = (nick: string): Payload[] => {
    const id = browsers.get(nick)?.json.endpoint.split('/').at(-1);
    return service.received.filter((p) => p.id === id).map((p) => JSON.parse(p.plaintext));
  };

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
    for (const nick of ['alice', 'bob', 'carol']) {
      cookies.set(nick, await session(base, nick, PASSWORD, true));
      const browser = service.browser();
      browsers.set(nick, browser);
      const r = await call(nick, 'POST', '/push/subscriptions', browser.json);
      assert.equal(r.status, 201, r.body);
    }
    assert.equal((await call('alice', 'POST', '/rooms', { name: '#dev' })).status, 201);
    assert.equal((await call('bob', 'POST', '/rooms/dev/join', {})).status, 201);
  });
  after(async () => {
    for (const s of streams) s.close();
    await server.close();
    await service.close();
  });

  test('a DM to a user who is away is pushed, signed and encrypted for their browser', async () => {
    await say('alice', 'bob', 'hello bob');
    await service.waitFor(1);
    assert.deepEqual(service.rejected, []);
    const [push] = service.received;
    assert.equal(push?.claims.aud, service.origin);
    assert.equal(push?.claims.sub, SUBJECT);
    const key = await api(base, 'GET', '/api/v1/push/key');
    assert.equal(push?.k, key.json.publicKey);
    const [payload] = pushesOf('bob');
    assert.equal(payload?.title, 'alice');
    assert.equal(payload?.body, 'hello bob');
    assert.equal(payload?.with, 'alice');
    assert.equal(payload?.tag, 'ssechat:alice');
    assert.equal(payload?.url, '/#alice');
    // Nobody is pushed their own message.
    assert.deepEqual(pushesOf('alice'), []);
  });

  test('a room message reaches a member at the default level only when it mentions them', async () => {
    const before = service.received.length;
    await say('alice', '#dev', 'plain room talk');
    await say('alice', '#dev', 'look @bob');
    await service.waitFor(before + 1);
    const texts = pushesOf('bob').map((p) => p.body);
    assert.ok(texts.includes('look @bob'), String(texts));
    assert.ok(!texts.includes('plain room talk'), String(texts));
    assert.equal(pushesOf('bob').at(-1)?.title, 'alice in #dev');
    // carol is not in #dev: she hears nothing of it, mention or not.
    assert.deepEqual(pushesOf('carol'), []);
  });

  test('a muted conversation is never pushed', async () => {
    const muted = await call('bob', 'PUT', '/notify', { with: 'alice', level: 'none' });
    assert.equal(muted.status, 200, muted.body);
    const before = service.received.length;
    await say('alice', 'bob', 'muted dm');
    await say('alice', 'carol', 'carol trigger');
    await service.waitFor(before + 1);
    // The cursor hands events out in order: had the muted DM been pushed, it would be here.
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!pushesOf('bob').some((p) => p.body === 'muted dm'));
    assert.equal(pushesOf('carol').at(-1)?.body, 'carol trigger');
    await call('bob', 'PUT', '/notify', { with: 'alice', level: null });
  });

  test('a user who is present (a stream, a visible page) gets no push', async () => {
    const stream = await SseClient.open(base, '/api/v1/events', cookies.get('bob'));
    streams.push(stream);
    await stream.waitFor((c) => c.of('hello').length > 0);
    const seen = await call('bob', 'PUT', '/attention', { client: 'tab-1', visible: true });
    assert.equal(seen.status, 204);
    const before = service.received.length;
    await say('alice', 'bob', 'while present');
    await say('alice', 'carol', 'second trigger');
    await service.waitFor(before + 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!pushesOf('bob').some((p) => p.body === 'while present'));
    await stream.waitFor((c) => c.of('message').some((m) => m.text === 'while present'));
    stream.close();
  });

  test('hideText: the push says "New message", without sender or text', async () => {
    const hide = await call('bob', 'PUT', '/notify', { hideText: true });
    assert.equal(hide.status, 200);
    // bob's stream is closed (no grace): away, though his last page said it was visible.
    const before = service.received.length;
    await say('alice', 'bob', 'the secret plan');
    await service.waitFor(before + 1);
    const last = service.received.at(-1);
    assert.equal(last?.plaintext.includes('secret'), false);
    assert.equal(last?.plaintext.includes('alice'), false);
    const payload = JSON.parse(last?.plaintext ?? '{}') as Payload;
    assert.equal(payload.title, 'ssechat');
    assert.equal(payload.body, 'New message');
    assert.equal(typeof payload.unread, 'number');
  });
});
