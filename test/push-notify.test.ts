// Who hears of what by Web Push, end to end: a real server pushes to a push service this test
// runs on loopback, which checks each push's VAPID header and decrypts its RFC 8291 body with
// the subscription's own keys (push-service.ts).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { api, SseClient } from './helpers.js';
import { pushUsers, SUBJECT } from './push-fixture.js';

interface Payload {
  title: string;
  body: string;
  with?: string;
  tag: string;
  url: string;
  unread: number;
}

describe('Web Push: who is pushed, and what', () => {
  const fx = pushUsers(['alice', 'bob', 'carol']);
  const { call } = fx;
  const say = async (from: string, to: string, text: string) => {
    const r = await call(from, 'POST', '/messages', { to, text });
    assert.equal(r.status, 201, r.body);
    return r.json.id as number;
  };
  /** The pushes `nick`'s browser got, decrypted. */
  const pushesOf = (nick: string): Payload[] =>
    fx.received(nick).map((p) => JSON.parse(p.plaintext));

  before(async () => {
    assert.equal((await call('alice', 'POST', '/rooms', { name: '#dev' })).status, 201);
    assert.equal((await call('bob', 'POST', '/rooms/dev/join', {})).status, 201);
  });

  test('a DM to a user who is away is pushed, signed and encrypted for their browser', async () => {
    await say('alice', 'bob', 'hello bob');
    await fx.service.waitFor(1);
    assert.deepEqual(fx.service.rejected, []);
    const [push] = fx.service.received;
    assert.equal(push?.claims.aud, fx.service.origin);
    assert.equal(push?.claims.sub, SUBJECT);
    const key = await api(fx.base, 'GET', '/api/v1/push/key');
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
    const before = fx.service.received.length;
    await say('alice', '#dev', 'plain room talk');
    await say('alice', '#dev', 'look @bob');
    await fx.service.waitFor(before + 1);
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
    const before = fx.service.received.length;
    await say('alice', 'bob', 'muted dm');
    await say('alice', 'carol', 'carol trigger');
    await fx.service.waitFor(before + 1);
    // The cursor hands events out in order: had the muted DM been pushed, it would be here.
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!pushesOf('bob').some((p) => p.body === 'muted dm'));
    assert.equal(pushesOf('carol').at(-1)?.body, 'carol trigger');
    await call('bob', 'PUT', '/notify', { with: 'alice', level: null });
  });

  test('a user who is present (a stream, a visible page) gets no push', async () => {
    const stream = await SseClient.open(fx.base, '/api/v1/events', fx.cookies.get('bob'));
    fx.streams.push(stream);
    await stream.waitFor((c) => c.of('hello').length > 0);
    const seen = await call('bob', 'PUT', '/attention', { client: 'tab-1', visible: true });
    assert.equal(seen.status, 204);
    const before = fx.service.received.length;
    await say('alice', 'bob', 'while present');
    await say('alice', 'carol', 'second trigger');
    await fx.service.waitFor(before + 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!pushesOf('bob').some((p) => p.body === 'while present'));
    await stream.waitFor((c) => c.of('message').some((m) => m.text === 'while present'));
    stream.close();
  });

  test('hideText: the push says "New message", without sender or text', async () => {
    const hide = await call('bob', 'PUT', '/notify', { hideText: true });
    assert.equal(hide.status, 200);
    // bob's stream is closed (no grace): away, though his last page said it was visible.
    const before = fx.service.received.length;
    await say('alice', 'bob', 'the secret plan');
    await fx.service.waitFor(before + 1);
    const last = fx.service.received.at(-1);
    assert.equal(last?.plaintext.includes('secret'), false);
    assert.equal(last?.plaintext.includes('alice'), false);
    const payload = JSON.parse(last?.plaintext ?? '{}') as Payload;
    assert.equal(payload.title, 'ssechat');
    assert.equal(payload.body, 'New message');
    assert.equal(typeof payload.unread, 'number');
  });
});
