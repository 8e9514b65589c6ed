// The Web Push sender over the real wire, against a push service the test runs on loopback
// (push-service.ts): VAPID and RFC 8291 checked and decrypted there, retries, pruning, the
// queue's bound, the timeout, and the address check at send time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EndpointGuard, type Resolver } from '../src/outbound/push/endpoint-guard.js';
import { MAX_PAYLOAD_BYTES, PUSH_LIMITS } from '../src/outbound/push/sender.js';
import { recordOf, SUBJECT, senderFixture } from './push-fixture.js';

describe('PushSender', () => {
  const fx = senderFixture({ limits: { retryBaseMs: 20, timeoutMs: 2_000 } });
  const { open } = fx;

  test('a push arrives signed (VAPID) and decrypts with the browser keys', async () => {
    const sender = open();
    const browser = fx.service.browser();
    const before = fx.service.received.length;
    const payload = { title: 'ann', body: 'héllo 👋', with: 'ann', id: 7, tag: 'ssechat:ann' };
    assert.equal(
      sender.send(recordOf(browser), payload, { ttl: 60, urgency: 'high', topic: 'ann' }),
      true,
    );
    await sender.idle();
    assert.deepEqual(fx.service.rejected, []);
    const got = fx.service.received.slice(before);
    assert.equal(got.length, 1);
    const push = got[0] as (typeof got)[number];
    assert.deepEqual(JSON.parse(push.plaintext), payload);
    assert.equal(push.k, fx.keys.publicKey);
    assert.equal(push.claims.aud, fx.service.origin);
    assert.equal(push.claims.sub, SUBJECT);
    assert.equal(push.headers.ttl, '60');
    assert.equal(push.headers.urgency, 'high');
    assert.equal(push.headers.topic, 'ann');
    assert.equal(sender.publicKey, fx.keys.publicKey);
    assert.deepEqual(sender.counts, { sent: 1, failed: 0, pruned: 0, dropped: 0 });
  });

  test('a long body is cut to fit MAX_PAYLOAD_BYTES', async () => {
    const sender = open();
    const browser = fx.service.browser();
    const before = fx.service.received.length;
    sender.send(recordOf(browser), { title: 'bob', body: '€'.repeat(10_000), with: 'bob' });
    await sender.idle();
    const push = fx.service.received[before];
    assert.ok(push);
    assert.ok(Buffer.byteLength(push.plaintext) <= MAX_PAYLOAD_BYTES);
    const json = JSON.parse(push.plaintext);
    assert.equal(json.title, 'bob');
    assert.match(json.body, /^€+…$/);
    assert.ok(json.body.length > 500);
  });

  test('410 and 404 remove the subscription from the store', async () => {
    const sender = open();
    const gone = fx.service.browser();
    const missing = fx.service.browser();
    const kept = fx.service.browser();
    for (const b of [gone, missing, kept]) await fx.store.push.subscribe(recordOf(b));
    fx.service.answer(gone, 410);
    fx.service.answer(missing, 404);
    for (const b of [gone, missing, kept]) sender.send(recordOf(b), { body: 'x' });
    await sender.idle();
    const left = await fx.store.push.subscriptions(['ann']);
    assert.deepEqual(
      left.map((s) => s.endpoint),
      [kept.json.endpoint],
    );
    assert.deepEqual(sender.counts, { sent: 1, failed: 0, pruned: 2, dropped: 0 });
  });

  test('429 and 5xx are retried with backoff, within the attempts', async () => {
    const sender = open();
    const busy = fx.service.browser();
    const broken = fx.service.browser();
    const refusing = fx.service.browser();
    fx.service.answer(busy, 429, 503);
    fx.service.answer(broken, 500, 500, 500, 500);
    fx.service.answer(refusing, 400);
    const start = fx.service.requests;
    for (const b of [busy, broken, refusing]) sender.send(recordOf(b), { body: 'x' });
    await sender.idle();
    // busy: 3 attempts, the last accepted; broken: 3 attempts; refusing: 1, not retried.
    assert.equal(fx.service.requests - start, 3 + PUSH_LIMITS.attempts + 1);
    assert.deepEqual(sender.counts, { sent: 1, failed: 2, pruned: 0, dropped: 0 });
  });

  test('a full queue drops without blocking the caller', async () => {
    const sender = open({ limits: { maxQueued: 3, concurrency: 1, timeoutMs: 60_000 } });
    const browser = fx.service.browser();
    fx.service.answer(browser, 'hang', 'hang', 'hang', 'hang', 'hang');
    const start = performance.now();
    const queued = Array.from({ length: 6 }, () => sender.send(recordOf(browser), { body: 'x' }));
    const took = performance.now() - start;
    assert.deepEqual(queued, [true, true, true, false, false, false]);
    assert.ok(took < 100, `send took ${took} ms`);
    assert.equal(sender.counts.dropped, 3);
    // Closing abandons what waits and cuts the request in flight, within its bound.
    const closing = performance.now();
    await sender.close();
    assert.ok(performance.now() - closing < PUSH_LIMITS.closeWaitMs + 1_000);
    assert.equal(sender.counts.dropped, 5);
    assert.equal(sender.send(recordOf(browser), { body: 'x' }), false);
  });

  test('a push service that never answers times out, and the push fails', async () => {
    const sender = open({ limits: { timeoutMs: 200, attempts: 2, retryBaseMs: 10 } });
    const browser = fx.service.browser();
    fx.service.answer(browser, 'hang', 'hang');
    const start = performance.now();
    sender.send(recordOf(browser), { body: 'x' });
    await sender.idle();
    const took = performance.now() - start;
    assert.ok(took >= 400 && took < 2_000, `took ${took} ms`);
    assert.deepEqual(sender.counts, { sent: 0, failed: 1, pruned: 0, dropped: 0 });
  });

  test('the address is checked at send: a name that resolves to loopback is refused', async () => {
    const sender = open({ guard: new EndpointGuard({ allowPrivate: false }) });
    const port = new URL(fx.service.origin).port;
    const browser = fx.service.browser(`https://localhost:${port}`);
    const start = fx.service.requests;
    sender.send(recordOf(browser), { body: 'x' });
    await sender.idle();
    assert.equal(fx.service.requests, start);
    assert.deepEqual(sender.counts, { sent: 0, failed: 1, pruned: 0, dropped: 0 });
  });

  test('the connection goes to the address the guard checked, not to a second lookup', async () => {
    // `.invalid` never resolves (RFC 6761): the push can only arrive through the checked answer.
    const resolve: Resolver = async (hostname) =>
      hostname === 'push.invalid' ? [{ address: '127.0.0.1', family: 4 }] : [];
    const sender = open({ guard: new EndpointGuard({ allowPrivate: true, resolve }) });
    const port = new URL(fx.service.origin).port;
    const browser = fx.service.browser(`http://push.invalid:${port}`);
    const before = fx.service.received.length;
    sender.send(recordOf(browser), { body: 'via the pinned address' });
    await sender.idle();
    assert.deepEqual(fx.service.rejected, []);
    assert.equal(
      JSON.parse(fx.service.received[before]?.plaintext ?? '{}').body,
      'via the pinned address',
    );
    assert.equal(sender.counts.sent, 1);
  });

  test('invalid options are the caller bug: a TypeError, nothing queued', () => {
    const sender = open();
    const record = recordOf(fx.service.browser());
    assert.throws(() => sender.send(record, {}, { topic: 'has spaces' }), TypeError);
    assert.throws(() => sender.send(record, {}, { topic: 'x'.repeat(33) }), TypeError);
    assert.throws(() => sender.send(record, {}, { ttl: -1 }), TypeError);
    // biome-ignore lint/suspicious/noExplicitAny: a caller outside the type system
    assert.throws(() => sender.send(record, {}, { urgency: 'now' as any }), TypeError);
  });
});
