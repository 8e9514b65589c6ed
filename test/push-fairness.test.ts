// The Web Push sender under attack, over the real wire (push-service.ts on loopback): a user
// whose subscriptions point at a push service that never answers must not hold up anyone
// else's pushes, nor fill the queue; and an endpoint that keeps failing is removed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PUSH_LIMITS } from '../src/outbound/push/sender.js';
import { recordOf, senderFixture } from './push-fixture.js';
import type { FakeBrowser, FakePushService } from './push-service.js';
import { waitUntil } from './wait-until.js';

/** `count` browsers on `service` that never answer (for the next `times` pushes each). */
function hanging(service: FakePushService, count: number, times = 200): FakeBrowser[] {
  return Array.from({ length: count }, () => {
    const browser = service.browser();
    service.answer(browser, ...Array.from({ length: times }, () => 'hang' as const));
    return browser;
  });
}

describe('PushSender under attack', () => {
  const fx = senderFixture();
  const { open } = fx;

  test("a user whose 10 endpoints hang delays no one else's pushes, and is capped", async () => {
    // Attempts that would hold a slot for a minute: before the fix, the hanging user's pushes
    // took all 8 slots and everyone else waited behind them.
    const sender = open({ limits: { timeoutMs: 60_000, closeWaitMs: 100 } });
    const mallory = hanging(fx.service, 10);
    const ann = fx.service.browser();
    const queued = { mallory: 0, ann: 0 };
    // Mallory's account is DMed a flood: 30 pushes to each of its 10 browsers.
    for (let round = 0; round < 30; round++) {
      for (const b of mallory)
        if (sender.send(recordOf(b, 'mallory'), { body: 'x' })) queued.mallory++;
    }
    assert.equal(queued.mallory, PUSH_LIMITS.maxQueuedPerUser);
    assert.equal(sender.counts.dropped, 300 - PUSH_LIMITS.maxQueuedPerUser);
    const start = performance.now();
    const before = fx.service.received.length;
    for (let i = 0; i < 20; i++)
      if (sender.send(recordOf(ann, 'ann'), { body: `hi ${i}` })) queued.ann++;
    assert.equal(queued.ann, 20);
    // Generous: far under the attempts' timeout, which is what ann waited for before.
    await fx.service.waitFor(before + 20, 10_000);
    const took = performance.now() - start;
    assert.ok(took < 10_000, `ann's pushes took ${took} ms`);
    const got = fx.service.received.slice(before).map((p) => JSON.parse(p.plaintext).body);
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
      browsers: hanging(fx.service, 2),
    }));
    for (let round = 0; round < 5; round++) {
      for (const { nick, browsers } of attackers) {
        for (const b of browsers) sender.send(recordOf(b, nick), { body: 'x' });
      }
    }
    const ann = fx.service.browser();
    const bob = fx.service.browser();
    const before = fx.service.received.length;
    const start = performance.now();
    for (let i = 0; i < 10; i++) {
      sender.send(recordOf(ann, 'ann'), { body: `ann ${i}` });
      sender.send(recordOf(bob, 'bob'), { body: `bob ${i}` });
    }
    await fx.service.waitFor(before + 20, 10_000);
    const took = performance.now() - start;
    assert.ok(took < 10_000, `took ${took} ms`);
    await waitUntil('the answers', () => sender.counts.sent === 20);
    // And later pushes of theirs do not wait for a slot the attackers hold.
    await new Promise((ok) => setTimeout(ok, 500));
    const again = performance.now();
    sender.send(recordOf(ann, 'ann'), { body: 'later' });
    await fx.service.waitFor(before + 21, 5_000);
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
    const dead = hanging(fx.service, 1)[0] as FakeBrowser;
    const alive = fx.service.browser();
    await fx.store.push.subscribe(recordOf(dead, 'ann'));
    await fx.store.push.subscribe(recordOf(alive, 'ann'));
    let pushes = 0;
    const start = performance.now();
    while ((await fx.store.push.subscriptions(['ann'])).length === 2 && pushes < 10) {
      sender.send(recordOf(dead, 'ann'), { body: 'x' });
      sender.send(recordOf(alive, 'ann'), { body: 'y' });
      await sender.idle();
      pushes++;
    }
    // Each push takes two timed-out attempts (200 ms and more): the third failure is more
    // than 300 ms after the first.
    assert.equal(pushes, 3);
    assert.ok(performance.now() - start >= 3 * 200);
    const left = await fx.store.push.subscriptions(['ann']);
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
    const flaky = fx.service.browser();
    fx.service.answer(flaky, 'hang', 'hang', 'hang', 'hang');
    await fx.store.push.subscribe(recordOf(flaky, 'ann'));
    for (let i = 0; i < 4; i++) {
      sender.send(recordOf(flaky, 'ann'), { body: 'x' });
      await sender.idle();
    }
    // Four failures in a row, but within a second, not an hour: a push service's outage.
    assert.equal((await fx.store.push.subscriptions(['ann'])).length, 1);
    assert.deepEqual(sender.counts, { sent: 0, failed: 4, pruned: 0, dropped: 0 });

    const sender2 = open({
      limits: { timeoutMs: 100, attempts: 1, deadAfterFailures: 3, deadAfterMs: 0 },
    });
    const browser = fx.service.browser();
    // Two failures, an answer, two failures: never three in a row; then the third.
    fx.service.answer(browser, 'hang', 500, 201, 'hang', 503, 'hang');
    await fx.store.push.subscribe(recordOf(browser, 'bob'));
    for (let i = 0; i < 5; i++) {
      sender2.send(recordOf(browser, 'bob'), { body: 'x' });
      await sender2.idle();
    }
    assert.equal((await fx.store.push.subscriptions(['bob'])).length, 1);
    assert.deepEqual(sender2.counts, { sent: 1, failed: 4, pruned: 0, dropped: 0 });
    sender2.send(recordOf(browser, 'bob'), { body: 'x' });
    await sender2.idle();
    assert.equal((await fx.store.push.subscriptions(['bob'])).length, 0);
    assert.deepEqual(sender2.counts, { sent: 1, failed: 4, pruned: 1, dropped: 0 });
  });
});
