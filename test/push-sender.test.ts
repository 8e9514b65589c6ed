// The Web Push sender over the real wire, against a push service the test runs on loopback
// (push-service.ts): VAPID and RFC 8291 checked and decrypted there, retries, pruning, the
// queue's bound, the timeout, and the address check at send time.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { EndpointGuard, type Resolver } from '../src/outbound/push/endpoint-guard.js';
import {
  MAX_PAYLOAD_BYTES,
  PUSH_LIMITS,
  PushSender,
  type PushSenderOptions,
} from '../src/outbound/push/sender.js';
import { generateVapidKeys } from '../src/outbound/push/vapid.js';
import type { PushSubscriptionRecord } from '../src/store/push-store.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { recordingLogger } from './helpers.js';
import { type FakeBrowser, FakePushService } from './push-service.js';

const SUBJECT = 'mailto:ops@chat.example.com';
const keys = generateVapidKeys();

/** The record the Store would hold for `browser`. */
const recordOf = (browser: FakeBrowser, nick = 'ann'): PushSubscriptionRecord => ({
  endpoint: browser.json.endpoint,
  p256dh: browser.json.keys.p256dh,
  auth: browser.json.keys.auth,
  nick,
  session: 's1',
  created: Date.now(),
});

describe('PushSender', () => {
  let service: FakePushService;
  let store: SqliteStore;
  const senders: PushSender[] = [];
  const open = (over: Partial<PushSenderOptions> = {}): PushSender => {
    const sender = new PushSender({
      keys,
      subject: SUBJECT,
      guard: new EndpointGuard({ allowPrivate: true }),
      store: store.push,
      logger: recordingLogger(),
      limits: { retryBaseMs: 20, timeoutMs: 2_000 },
      ...over,
    });
    senders.push(sender);
    return sender;
  };

  before(async () => {
    service = await FakePushService.start(SUBJECT);
  });
  after(() => service.close());
  beforeEach(async () => {
    for (const s of senders.splice(0)) await s.close();
    await store?.close();
    store = new SqliteStore({ path: ':memory:', synchronous: 'normal', maxOfflinePerUser: 10 });
  });

  test('a push arrives signed (VAPID) and decrypts with the browser keys', async () => {
    const sender = open();
    const browser = service.browser();
    const before = service.received.length;
    const payload = { title: 'ann', body: 'héllo 👋', with: 'ann', id: 7, tag: 'ssechat:ann' };
    assert.equal(
      sender.send(recordOf(browser), payload, { ttl: 60, urgency: 'high', topic: 'ann' }),
      true,
    );
    await sender.idle();
    assert.deepEqual(service.rejected, []);
    const got = service.received.slice(before);
    assert.equal(got.length, 1);
    const push = got[0] as (typeof got)[number];
    assert.deepEqual(JSON.parse(push.plaintext), payload);
    assert.equal(push.k, keys.publicKey);
    assert.equal(push.claims.aud, service.origin);
    assert.equal(push.claims.sub, SUBJECT);
    assert.equal(push.headers.ttl, '60');
    assert.equal(push.headers.urgency, 'high');
    assert.equal(push.headers.topic, 'ann');
    assert.equal(sender.publicKey, keys.publicKey);
    assert.deepEqual(sender.counts, { sent: 1, failed: 0, pruned: 0, dropped: 0 });
  });

  test('a long body is cut to fit MAX_PAYLOAD_BYTES', async () => {
    const sender = open();
    const browser = service.browser();
    const before = service.received.length;
    sender.send(recordOf(browser), { title: 'bob', body: '€'.repeat(10_000), with: 'bob' });
    await sender.idle();
    const push = service.received[before];
    assert.ok(push);
    assert.ok(Buffer.byteLength(push.plaintext) <= MAX_PAYLOAD_BYTES);
    const json = JSON.parse(push.plaintext);
    assert.equal(json.title, 'bob');
    assert.match(json.body, /^€+…$/);
    assert.ok(json.body.length > 500);
  });

  test('410 and 404 remove the subscription from the store', async () => {
    const sender = open();
    const gone = service.browser();
    const missing = service.browser();
    const kept = service.browser();
    for (const b of [gone, missing, kept]) await store.push.subscribe(recordOf(b));
    service.answer(gone, 410);
    service.answer(missing, 404);
    for (const b of [gone, missing, kept]) sender.send(recordOf(b), { body: 'x' });
    await sender.idle();
    const left = await store.push.subscriptions(['ann']);
    assert.deepEqual(
      left.map((s) => s.endpoint),
      [kept.json.endpoint],
    );
    assert.deepEqual(sender.counts, { sent: 1, failed: 0, pruned: 2, dropped: 0 });
  });

  test('429 and 5xx are retried with backoff, within the attempts', async () => {
    const sender = open();
    const busy = service.browser();
    const broken = service.browser();
    const refusing = service.browser();
    service.answer(busy, 429, 503);
    service.answer(broken, 500, 500, 500, 500);
    service.answer(refusing, 400);
    const start = service.requests;
    for (const b of [busy, broken, refusing]) sender.send(recordOf(b), { body: 'x' });
    await sender.idle();
    // busy: 3 attempts, the last accepted; broken: 3 attempts; refusing: 1, not retried.
    assert.equal(service.requests - start, 3 + PUSH_LIMITS.attempts + 1);
    assert.deepEqual(sender.counts, { sent: 1, failed: 2, pruned: 0, dropped: 0 });
  });

  test('a full queue drops without blocking the caller', async () => {
    const sender = open({ limits: { maxQueued: 3, concurrency: 1, timeoutMs: 60_000 } });
    const browser = service.browser();
    service.answer(browser, 'hang', 'hang', 'hang', 'hang', 'hang');
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
    const browser = service.browser();
    service.answer(browser, 'hang', 'hang');
    const start = performance.now();
    sender.send(recordOf(browser), { body: 'x' });
    await sender.idle();
    const took = performance.now() - start;
    assert.ok(took >= 400 && took < 2_000, `took ${took} ms`);
    assert.deepEqual(sender.counts, { sent: 0, failed: 1, pruned: 0, dropped: 0 });
  });

  test('the address is checked at send: a name that resolves to loopback is refused', async () => {
    const sender = open({ guard: new EndpointGuard({ allowPrivate: false }) });
    const port = new URL(service.origin).port;
    const browser = service.browser(`https://localhost:${port}`);
    const start = service.requests;
    sender.send(recordOf(browser), { body: 'x' });
    await sender.idle();
    assert.equal(service.requests, start);
    assert.deepEqual(sender.counts, { sent: 0, failed: 1, pruned: 0, dropped: 0 });
  });

  test('the connection goes to the address the guard checked, not to a second lookup', async () => {
    // `.invalid` never resolves (RFC 6761): the push can only arrive through the checked answer.
    const resolve: Resolver = async (hostname) =>
      hostname === 'push.invalid' ? [{ address: '127.0.0.1', family: 4 }] : [];
    const sender = open({ guard: new EndpointGuard({ allowPrivate: true, resolve }) });
    const port = new URL(service.origin).port;
    const browser = service.browser(`http://push.invalid:${port}`);
    const before = service.received.length;
    sender.send(recordOf(browser), { body: 'via the pinned address' });
    await sender.idle();
    assert.deepEqual(service.rejected, []);
    assert.equal(
      JSON.parse(service.received[before]?.plaintext ?? '{}').body,
      'via the pinned address',
    );
    assert.equal(sender.counts.sent, 1);
  });

  test('invalid options are the caller bug: a TypeError, nothing queued', () => {
    const sender = open();
    const record = recordOf(service.browser());
    assert.throws(() => sender.send(record, {}, { topic: 'has spaces' }), TypeError);
    assert.throws(() => sender.send(record, {}, { topic: 'x'.repeat(33) }), TypeError);
    assert.throws(() => sender.send(record, {}, { ttl: -1 }), TypeError);
    // biome-ignore lint/suspicious/noExplicitAny: a caller outside the type system
    assert.throws(() => sender.send(record, {}, { urgency: 'now' as any }), TypeError);
  });
});
