import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  MAX_PUSH_SUBSCRIPTIONS_PER_USER,
  type PushStore,
  type PushSubscriptionRecord,
  type VapidKeys,
} from './push-store.js';
import type { Store } from './store.js';

/**
 * How a backend's test file hands the suite a fresh store, whose `push` is tested; `again`
 * opens another store on the same database (another process of a cluster), when the backend
 * can.
 */
export interface PushFactory {
  open(): Promise<Store> | Store;
  again?: (first: Store) => Promise<Store> | Store;
}

const NOW = 1_700_000_000_000;

const sub = (n: number, over: Partial<PushSubscriptionRecord> = {}): PushSubscriptionRecord => ({
  endpoint: `https://push.example.com/send/${n}`,
  p256dh: `p256dh-${n}`,
  auth: `auth-${n}`,
  nick: 'ann',
  session: `s-${n}`,
  created: NOW + n,
  ...over,
});

const endpoints = (subs: readonly PushSubscriptionRecord[]): string[] =>
  subs.map((s) => s.endpoint).sort();

/** The PushStore contract (push-store.ts), run by every backend's store.test.ts. */
export function pushContract(name: string, factory: PushFactory): void {
  describe(`PushStore contract: ${name}`, () => {
    let store: Store;
    let push: PushStore;
    const extra: Store[] = [];
    beforeEach(async () => {
      store = await factory.open();
      push = store.push;
    });
    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await store.close();
    });

    test('vapidKeys generates once, then returns the stored pair', async () => {
      let calls = 0;
      const make = (): VapidKeys => {
        calls++;
        return { publicKey: `pub-${calls}`, privateKey: `priv-${calls}` };
      };
      const first = await push.vapidKeys(make);
      assert.deepEqual(first, { publicKey: 'pub-1', privateKey: 'priv-1' });
      assert.deepEqual(await push.vapidKeys(make), first);
      assert.equal(calls, 1);
    });

    test('concurrent first calls all get the same pair', async () => {
      let calls = 0;
      const make = (): VapidKeys => {
        calls++;
        return { publicKey: `pub-${calls}`, privateKey: `priv-${calls}` };
      };
      const others: Store[] = [store];
      if (factory.again) {
        for (let i = 0; i < 3; i++) {
          const other = await factory.again(store);
          extra.push(other);
          others.push(other);
        }
      }
      const pairs = await Promise.all(
        others.flatMap((s) => [s.push.vapidKeys(make), s.push.vapidKeys(make)]),
      );
      for (const pair of pairs) assert.deepEqual(pair, pairs[0]);
      assert.deepEqual(await push.vapidKeys(make), pairs[0]);
    });

    test('secret keeps the first value of each name, apart from the VAPID pair', async () => {
      const others: Store[] = [store];
      if (factory.again) {
        const other = await factory.again(store);
        extra.push(other);
        others.push(other);
      }
      let n = 0;
      const values = await Promise.all(
        others.flatMap((s) => [
          s.push.secret('a', () => `a${++n}`),
          s.push.secret('a', () => `a${++n}`),
        ]),
      );
      for (const v of values) assert.equal(v, values[0]);
      assert.equal(await push.secret('b', () => 'b1'), 'b1');
      assert.equal(await push.secret('b', () => 'b2'), 'b1');
      const pair = await push.vapidKeys(() => ({ publicKey: 'p', privateKey: 'q' }));
      assert.deepEqual(pair, { publicKey: 'p', privateKey: 'q' });
      assert.equal(await push.secret('a', () => 'x'), values[0]);
    });

    test('subscribe stores; subscriptions returns those of the users asked about', async () => {
      assert.equal(await push.anySubscriptions(), false);
      await push.subscribe(sub(1));
      await push.subscribe(sub(2, { nick: 'bob' }));
      await push.subscribe(sub(3, { nick: 'cy' }));
      assert.deepEqual(await push.subscriptions(['ann']), [sub(1)]);
      assert.deepEqual(endpoints(await push.subscriptions(['ann', 'bob'])), [
        sub(1).endpoint,
        sub(2).endpoint,
      ]);
      assert.equal(await push.anySubscriptions(), true);
      assert.deepEqual(await push.subscriptions([]), []);
      assert.deepEqual(await push.subscriptions(['nobody']), []);
      // Nicks compare exactly: another spelling is another user.
      assert.deepEqual(await push.subscriptions(['ANN']), []);
    });

    test('subscribing an endpoint again replaces it, also for another user', async () => {
      await push.subscribe(sub(1));
      const moved = sub(1, { nick: 'bob', session: 's-9', p256dh: 'new', auth: 'new-a' });
      await push.subscribe(moved);
      assert.deepEqual(await push.subscriptions(['ann']), []);
      assert.deepEqual(await push.subscriptions(['bob']), [moved]);
    });

    test('a user holds at most MAX_PUSH_SUBSCRIPTIONS_PER_USER; the oldest go', async () => {
      const max = MAX_PUSH_SUBSCRIPTIONS_PER_USER;
      for (let n = 1; n <= max + 2; n++) await push.subscribe(sub(n));
      await push.subscribe(sub(100, { nick: 'bob' }));
      const held = await push.subscriptions(['ann']);
      assert.equal(held.length, max);
      assert.deepEqual(
        endpoints(held),
        endpoints(Array.from({ length: max }, (_, i) => sub(i + 3))),
      );
      assert.equal((await push.subscriptions(['bob'])).length, 1);
    });

    test('unsubscribe removes only what that user holds', async () => {
      await push.subscribe(sub(1));
      assert.equal(await push.unsubscribe('bob', sub(1).endpoint), false);
      assert.equal(await push.unsubscribe('ANN', sub(1).endpoint), false);
      assert.deepEqual(await push.subscriptions(['ann']), [sub(1)]);
      assert.equal(await push.unsubscribe('ann', sub(1).endpoint), true);
      assert.equal(await push.unsubscribe('ann', sub(1).endpoint), false);
      assert.deepEqual(await push.subscriptions(['ann']), []);
    });

    test('dropSession removes the subscriptions made under that session', async () => {
      await push.subscribe(sub(1, { session: 'x' }));
      await push.subscribe(sub(2, { session: 'x' }));
      await push.subscribe(sub(3, { session: 'y' }));
      assert.equal(await push.dropSession('x'), 2);
      assert.equal(await push.dropSession('x'), 0);
      assert.deepEqual(endpoints(await push.subscriptions(['ann'])), [sub(3).endpoint]);
    });

    test('dropEndpoint removes a subscription whoever holds it', async () => {
      await push.subscribe(sub(1, { nick: 'bob' }));
      assert.equal(await push.dropEndpoint(sub(1).endpoint), true);
      assert.equal(await push.dropEndpoint(sub(1).endpoint), false);
      assert.deepEqual(await push.subscriptions(['bob']), []);
    });

    test('hideText is false until set, and per user', async () => {
      assert.equal(await push.hideText('ann'), false);
      await push.setHideText('ann', true);
      assert.equal(await push.hideText('ann'), true);
      assert.equal(await push.hideText('bob'), false);
      await push.setHideText('ann', false);
      assert.equal(await push.hideText('ann'), false);
    });

    test('a long endpoint and unusual text survive the round trip', async () => {
      const long = sub(1, {
        endpoint: `https://push.example.com/${'x'.repeat(2000)}?a='b'&c="d"`,
        nick: 'Jöhn',
      });
      await push.subscribe(long);
      assert.deepEqual(await push.subscriptions(['Jöhn']), [long]);
    });
  });
}
