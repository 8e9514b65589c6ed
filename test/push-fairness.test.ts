// The Web Push sender under attack, over the real wire (push-service.ts on loopback): a user
// whose subscriptions point at a push service that never answers must not hold up anyone
// else's pushes, nor fill the queue; and an endpoint that keeps failing is removed.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { EndpointGuard } from '../src/outbound/push/endpoint-guard.js';
import { PUSH_LIMITS, PushSender, type PushSenderOptions } from '../src/outbound/push/sender.js';
import { generateVapidKeys } from '../src/outbound/push/vapid.js';
import type { PushSubscriptionRecord } from '../src/store/push-store.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { recordingLogger } from './helpers.js';
import { type FakeBrowser, FakePushService } from './push-service.js';
import { waitUntil } from './wait-until.js';

const SUBJECT = 'mailto:ops@chat.example.com';
const keys = generateVapidKeys();

/** The record the Store would hold for `browser` of `nick`. */
const recordOf = (browser: FakeBrowser, nick: string): PushSubscriptionRecord => ({
  endpoint: browser.json.endpoint,
  p256dh: browser.json.keys.p256dh,
  auth: browser.json.keys.auth,
  nick,
  session: 's1',
  created: Date.now(),
});

/** `count` browsers on `service` that never answer (for the next `times` pushes each). */
function hanging(service: FakePushService, count: number, times = 200): FakeBrowser[] {
  return Array.from({ length: count }, () => {
    const browser = service.browser();
    service.answer(browser, ...Array.from({ length: times }, () => 'hang' as const));
    return browser;
  });
}

describe('PushSender under attack', () => {
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

  test("a user whose 10 endpoints hang delays no one else's pushes, and is capped", async () => {
    // Attempts that would hold a slot for a minute: before the fix, the hanging user's pushes
    // took all 8 slots and everyone else waited behind them.
    const sender = open({ limits: { timeoutMs: 60_000, closeWaitMs: 100 } });
    const mallory = hanging(service, 10);
    const ann = service.browser();
    const queued = { mallory: 0, ann: 0 };
    // Mallory's account is DMed a flood: 30 pushes to each of its 10 browsers.
    for (let round = 0; round < 30; round++) {
      for (const b of mallory)
        if (sender.send(recordOf(b, 'mallory'), { body: 'x' })) queued.mallory++;
    }
    assert.equal(queued.mallory, PUSH_LIMITS.maxQueuedPerUser);
    assert.equal(sender.counts.dropped, 300 - PUSH_LIMITS.maxQueuedPerUser);
    const start = performance.now();
    const before = service.received.length;
    for (let i = 0; i < 20; i++)
      if (sender.send(recordOf(ann, 'ann'), { body: `hi ${i}` })) queued.ann++;
    assert.equal(queued.ann, 20);
    // Generous: far under the attempts' timeout, which is what ann waited for before.
    await service.waitFor(before + 20, 10_000);
    const took = performance.now() - start;
    assert.ok(took < 10_000, `ann's pushes took ${took} ms`);
    const got = service.received.slice(before).map((p) => JSON.parse(p.plaintext).body);
    assert.deepEqual(got.sort(), Array.from({ length: 20 }, (_, i) => `hi ${i}`).sort());
    await waitUntil('the answers', () => sender.counts.sent === 20);
    assert.equal(sender.counts.dropped, 300 - PUSH_LIMITS.maxQueuedPerUser);
    // Still capped while the flood goes on.
    assert.equal(sender.send(recordOf(mallory[0] as FakeBrowser, 'mallory'), { body: 'x' }), false);
  });

  test('several users whose endpoints hang share the slow slots; others still get through', async () => {
    // Six accounts on the same hanging service take more than the 8 slots at first; the slow
    // ones leave them after slowMs and, once known slow, only ever use the slow slots.
    const sender = open({ limits: { timeoutMs: 60_000, slowMs: 300, closeWaitMs: 100 } });
    const attackers = Array.from({ length: 6 }, (_, i) => ({
      nick: `m${i}`,
      browsers: hanging(service, 2),
    }));
    for (let round = 0; round < 5; round++) {
      for (const { nick, browsers } of attackers) {
        for (const b of browsers) sender.send(recordOf(b, nick), { body: 'x' });
      }
    }
    const ann = service.browser();
    const bob = service.browser();
    const before = service.received.length;
    const start = performance.now();
    for (let i = 0; i < 10; i++) {
      sender.send(recordOf(ann, 'ann'), { body: `ann ${i}` });
      sender.send(recordOf(bob, 'bob'), { body: `bob ${i}` });
    }
    await service.waitFor(before + 20, 10_000);
    const took = performance.now() - start;
    assert.ok(took < 10_000, `took ${took} ms`);
    await waitUntil('the answers', () => sender.counts.sent === 20);
    // And later pushes of theirs do not wait for a slot the attackers hold.
    await new Promise((ok) => setTimeout(ok, 500));
    const again = performance.now();
    sender.send(recordOf(ann, 'ann'), { body: 'later' });
    await service.waitFor(before + 21, 5_000);
    assert.ok(performance.now() - again < 5_000);
  });

  test('an endpoint that failed 5 pushes in a row over a long enough time is removed', async () => {
    const sender = open({
      limits: {
        timeoutMs: 100,
        attempts: 2,
        retryBaseMs: 10,
        deadAfterFailures: 3,
        deadAfterMs: 300,
      },
    });
    const dead = hanging(service, 1)[0] as FakeBrowser;
    const alive = service.browser();
    await store.push.subscribe(recordOf(dead, 'ann'));
    await store.push.subscribe(recordOf(alive, 'ann'));
    let pushes = 0;
    const start = performance.now();
    while ((await store.push.subscriptions(['ann'])).length === 2 && pushes < 10) {
      sender.send(recordOf(dead, 'ann'), { body: 'x' });
      sender.send(recordOf(alive, 'ann'), { body: 'y' });
      await sender.idle();
      pushes++;
    }
    // Each push takes two timed-out attempts (200 ms and more): the third failure is more
    // than 300 ms after the first.
    assert.equal(pushes, 3);
    assert.ok(performance.now() - start >= 3 * 200);
    const left = await store.push.subscriptions(['ann']);
    assert.deepEqual(
      left.map((s) => s.endpoint),
      [alive.json.endpoint],
    );
    assert.deepEqual(sender.counts, { sent: 3, failed: 2, pruned: 1, dropped: 0 });
  });

  test('an endpoint is not removed for failures too close together, or broken by an answer', async () => {
    const sender = open({
      limits: { timeoutMs: 100, attempts: 1, deadAfterFailures: 3, deadAfterMs: 60_000 },
    });
    const flaky = service.browser();
    service.answer(flaky, 'hang', 'hang', 'hang', 'hang');
    await store.push.subscribe(recordOf(flaky, 'ann'));
    for (let i = 0; i < 4; i++) {
      sender.send(recordOf(flaky, 'ann'), { body: 'x' });
      await sender.idle();
    }
    // Four failures in a row, but within a second, not an hour: a push service's outage.
    assert.equal((await store.push.subscriptions(['ann'])).length, 1);
    assert.deepEqual(sender.counts, { sent: 0, failed: 4, pruned: 0, dropped: 0 });

    const sender2 = open({
      limits: { timeoutMs: 100, attempts: 1, deadAfterFailures: 3, deadAfterMs: 0 },
    });
    const browser = service.browser();
    // Two failures, an answer, two failures: never three in a row; then the third.
    service.answer(browser, 'hang', 500, 201, 'hang', 503, 'hang');
    await store.push.subscribe(recordOf(browser, 'bob'));
    for (let i = 0; i < 5; i++) {
      sender2.send(recordOf(browser, 'bob'), { body: 'x' });
      await sender2.idle();
    }
    assert.equal((await store.push.subscriptions(['bob'])).length, 1);
    assert.deepEqual(sender2.counts, { sent: 1, failed: 4, pruned: 0, dropped: 0 });
    sender2.send(recordOf(browser, 'bob'), { body: 'x' });
    await sender2.idle();
    assert.equal((await store.push.subscriptions(['bob'])).length, 0);
    assert.deepEqual(sender2.counts, { sent: 1, failed: 4, pruned: 1, dropped: 0 });
  });
});
