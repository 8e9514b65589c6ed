import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { NewMessage } from '../core/events.js';
import { ChatError } from '../errors.js';
import type { Store } from './store.js';

/** How a backend's test file hands the suite a fresh store with these limits. */
export type StoreFactory = (limits: { maxOfflinePerUser: number }) => Promise<Store> | Store;

const msg = (over: Partial<NewMessage> = {}): NewMessage => ({
  from: 'mary',
  to: 'john',
  text: 'hello',
  ts: 1_700_000_000_000,
  offline: false,
  ...over,
});

/** The Store contract (store.ts), run by every backend's *-store.test.ts. */
export function storeContract(name: string, open: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
    });
    afterEach(async () => {
      await store.close();
    });

    test('append returns the message with a positive, strictly increasing id', async () => {
      const a = await store.append(msg({ text: 'one' }));
      const b = await store.append(msg({ text: 'two', to: 'all' }));
      const c = await store.append(msg({ text: 'three', offline: true }));
      assert.ok(Number.isSafeInteger(a.id) && a.id > 0);
      assert.ok(b.id > a.id && c.id > b.id);
      assert.deepEqual({ ...b, id: 0 }, { ...msg({ text: 'two', to: 'all' }), id: 0 });
    });

    test('takeOffline returns the offline messages for a nick, oldest first, once', async () => {
      const first = await store.append(msg({ text: 'first', offline: true }));
      await store.append(msg({ text: 'live', offline: false }));
      await store.append(msg({ to: 'bob', text: 'for bob', offline: true }));
      const second = await store.append(msg({ from: 'ann', text: 'second\nline', offline: true }));

      const taken = await store.takeOffline('john');
      assert.deepEqual(taken, [first, second]);
      assert.deepEqual(await store.takeOffline('john'), []);
      assert.deepEqual(
        (await store.takeOffline('bob')).map((m) => m.text),
        ['for bob'],
      );
    });

    test('takeOffline of a nick with no mailbox is empty', async () => {
      assert.deepEqual(await store.takeOffline('nobody'), []);
    });

    test('nicks are compared exactly (case and Unicode preserved)', async () => {
      await store.append(msg({ to: 'Jöhn', text: 'umlaut', offline: true }));
      assert.deepEqual(await store.takeOffline('john'), []);
      assert.deepEqual(await store.takeOffline('jöhn'), []);
      assert.deepEqual(
        (await store.takeOffline('Jöhn')).map((m) => m.text),
        ['umlaut'],
      );
    });

    test('a full mailbox rejects with CHAT_MAILBOX_FULL and stores nothing', async () => {
      for (let i = 0; i < 3; i++) await store.append(msg({ text: `m${i}`, offline: true }));
      await assert.rejects(
        store.append(msg({ text: 'one too many', offline: true })),
        (err: unknown) => err instanceof ChatError && err.code === 'CHAT_MAILBOX_FULL',
      );
      // Other mailboxes and live messages are unaffected.
      await store.append(msg({ to: 'bob', offline: true }));
      await store.append(msg({ offline: false }));
      assert.deepEqual(
        (await store.takeOffline('john')).map((m) => m.text),
        ['m0', 'm1', 'm2'],
      );
      // Emptied, the mailbox takes messages again.
      await store.append(msg({ text: 'again', offline: true }));
      assert.equal((await store.takeOffline('john')).length, 1);
    });

    test('concurrent appends get ids in call order; takeOffline sees appends in flight', async () => {
      const texts = Array.from({ length: 20 }, (_, i) => `c${i}`);
      const stored = await Promise.all(texts.map((text) => store.append(msg({ text }))));
      assert.deepEqual(
        stored.map((m) => m.text),
        texts,
      );
      for (let i = 1; i < stored.length; i++) {
        assert.ok((stored[i]?.id ?? 0) > (stored[i - 1]?.id ?? 0));
      }
      const inFlight = store.append(msg({ text: 'racing', offline: true }));
      const taken = await store.takeOffline('john');
      assert.deepEqual(
        taken.map((m) => m.text),
        ['racing'],
      );
      assert.equal((await inFlight).id, taken[0]?.id);
    });

    test('a full mailbox fails only its own message among concurrent appends', async () => {
      const results = await Promise.allSettled(
        ['a', 'b', 'c', 'd', 'e'].map((text) => store.append(msg({ text, offline: text !== 'b' }))),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
      );
      assert.deepEqual(
        (await store.takeOffline('john')).map((m) => m.text),
        ['a', 'c', 'd'],
      );
    });

    test('ids are not reused after a mailbox is emptied', async () => {
      const a = await store.append(msg({ offline: true }));
      await store.takeOffline('john');
      const b = await store.append(msg({ offline: true }));
      assert.ok(b.id > a.id);
    });
  });
}
