import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ChatError } from '../domain/errors.js';
import {
  eventId,
  type LoggedEvent,
  type NewMessage,
  type NewReceipt,
  type StoredMessage,
} from '../domain/events.js';
import { blocksContract } from './blocks.contract.js';
import { mentionsContract } from './mentions.contract.js';
import { profilesContract } from './profiles.contract.js';
import { reactionsContract } from './reactions.contract.js';
import { repliesContract } from './replies.contract.js';
import { roomLivesContract } from './room-lives.contract.js';
import { roomsContract } from './rooms.contract.js';
import { rosterContract } from './roster.contract.js';
import { sanctionsContract } from './sanctions.contract.js';
import { searchContract } from './search.contract.js';
import type { Store } from './store.js';
import { uploadsContract } from './uploads.contract.js';

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

const receipt = (over: Partial<NewReceipt> = {}): NewReceipt => ({
  from: 'john',
  to: 'mary',
  upTo: 1,
  ts: 1_700_000_000_000,
  ...over,
});

/** `before` for the newest page of a history. */
const NEWEST = Number.MAX_SAFE_INTEGER;

const isMailboxFull = (err: unknown): boolean =>
  err instanceof ChatError && err.code === 'CHAT_MAILBOX_FULL';

const idOf = (e: LoggedEvent): number => eventId(e);

/** The Store contract (store.ts), run by every backend's *-store.test.ts. */
export function storeContract(name: string, open: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    /** Appends and returns the stored message. */
    const send = async (over: Partial<NewMessage> = {}): Promise<StoredMessage> =>
      (await store.append(msg(over))).message;
    const texts = (ms: StoredMessage[]): string[] => ms.map((m) => m.text);

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
      assert.ok(a.created && b.created && c.created);
      assert.ok(Number.isSafeInteger(a.message.id) && a.message.id > 0);
      assert.ok(b.message.id > a.message.id && c.message.id > b.message.id);
      assert.deepEqual(b.message, { ...msg({ text: 'two', to: 'all' }), id: b.message.id });
    });

    test('a message reads back exactly as append returned it', async () => {
      const plain = await send({ text: 'plain' });
      const keyed = await send({ text: 'keyed', clientId: 'k1', offline: true });
      // deepStrictEqual tells an absent key from one set to undefined.
      assert.ok(!('clientId' in plain));
      assert.deepEqual(await store.message(plain.id), plain);
      assert.deepEqual(await store.message(keyed.id), keyed);
      assert.deepEqual(await store.takeOffline('john'), [keyed]);
    });

    test('message(id) finds messages only', async () => {
      const r = await store.appendReceipt(receipt());
      assert.equal(await store.message(r.id), undefined);
      assert.equal(await store.message(r.id + 1), undefined);
      assert.equal(await store.message(0), undefined);
    });

    test('takeOffline returns the offline messages for a nick, oldest first, once', async () => {
      const first = await send({ text: 'first', offline: true });
      await send({ text: 'live', offline: false });
      await send({ to: 'bob', text: 'for bob', offline: true });
      const second = await send({ from: 'ann', text: 'second\nline', offline: true });

      assert.deepEqual(await store.takeOffline('john'), [first, second]);
      assert.deepEqual(await store.takeOffline('john'), []);
      assert.deepEqual(texts(await store.takeOffline('bob')), ['for bob']);
    });

    test('takeOffline of a nick with no mailbox is empty', async () => {
      assert.deepEqual(await store.takeOffline('nobody'), []);
    });

    test('nicks are compared exactly (case and Unicode preserved)', async () => {
      await send({ to: 'Jöhn', text: 'umlaut', offline: true });
      assert.deepEqual(await store.takeOffline('john'), []);
      assert.deepEqual(await store.takeOffline('jöhn'), []);
      assert.deepEqual(texts(await store.takeOffline('Jöhn')), ['umlaut']);
    });

    test('a full mailbox rejects with CHAT_MAILBOX_FULL and stores nothing', async () => {
      for (let i = 0; i < 3; i++) await send({ text: `m${i}`, offline: true });
      const head = await store.head();
      await assert.rejects(
        store.append(msg({ text: 'one too many', offline: true })),
        isMailboxFull,
      );
      assert.equal(await store.head(), head);
      // Other mailboxes and live messages are unaffected.
      await send({ to: 'bob', offline: true });
      await send({ offline: false });
      assert.deepEqual(texts(await store.takeOffline('john')), ['m0', 'm1', 'm2']);
      // Emptied, the mailbox takes messages again.
      await send({ text: 'again', offline: true });
      assert.equal((await store.takeOffline('john')).length, 1);
    });

    test('concurrent appends get ids in call order; takeOffline sees appends in flight', async () => {
      const sent = Array.from({ length: 20 }, (_, i) => `c${i}`);
      const stored = await Promise.all(sent.map((text) => send({ text })));
      assert.deepEqual(texts(stored), sent);
      for (let i = 1; i < stored.length; i++) {
        assert.ok((stored[i]?.id ?? 0) > (stored[i - 1]?.id ?? 0));
      }
      const inFlight = send({ text: 'racing', offline: true });
      const taken = await store.takeOffline('john');
      assert.deepEqual(texts(taken), ['racing']);
      assert.equal((await inFlight).id, taken[0]?.id);
    });

    test('a full mailbox fails only its own message among concurrent appends', async () => {
      const results = await Promise.allSettled(
        ['a', 'b', 'c', 'd', 'e'].map((text) => send({ text, offline: text !== 'b' })),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
      );
      assert.deepEqual(texts(await store.takeOffline('john')), ['a', 'c', 'd']);
    });

    test('ids are not reused after a mailbox is emptied', async () => {
      const a = await send({ offline: true });
      await store.takeOffline('john');
      const b = await send({ offline: true });
      assert.ok(b.id > a.id);
    });

    describe('clientId', () => {
      test('a clientId its sender used returns the first message, not a new one', async () => {
        const first = await store.append(msg({ text: 'first', clientId: 'c1' }));
        const head = await store.head();
        const retry = await store.append(msg({ text: 'retry', clientId: 'c1' }));
        assert.deepEqual(retry, { message: first.message, created: false });
        assert.equal(await store.head(), head);
        // The key is per sender, and a new clientId is a new message.
        assert.ok((await store.append(msg({ from: 'ann', clientId: 'c1' }))).created);
        assert.ok((await store.append(msg({ clientId: 'c2' }))).created);
        assert.ok((await store.append(msg({ clientId: 'C1' }))).created);
        const log = await store.since('mary', 0, 100);
        assert.equal(
          log.filter((e) => e.kind === 'message' && e.message.text === 'retry').length,
          0,
        );
      });

      test('appends racing with one clientId in one batch store it once', async () => {
        const results = await Promise.all([
          store.append(msg({ text: 'a', clientId: 'race' })),
          store.append(msg({ text: 'other' })),
          store.append(msg({ text: 'b', clientId: 'race' })),
          store.append(msg({ text: 'c', clientId: 'race' })),
        ]);
        assert.deepEqual(
          results.map((r) => r.created),
          [true, true, false, false],
        );
        assert.deepEqual(results[2]?.message, results[0]?.message);
        assert.deepEqual(results[3]?.message, results[0]?.message);
        assert.deepEqual((await store.since('john', 0, 100)).map(idOf), [
          results[0]?.message.id,
          results[1]?.message.id,
        ]);
      });

      test('a retried offline send neither fills the mailbox nor is refused by it', async () => {
        const first = await send({ text: 'keyed', clientId: 'k', offline: true });
        await send({ text: 'two', offline: true });
        await send({ text: 'three', offline: true });
        // The mailbox is full now, but the retry is the message already in it.
        const retry = await store.append(msg({ text: 'keyed', clientId: 'k', offline: true }));
        assert.deepEqual(retry, { message: first, created: false });
        assert.deepEqual(texts(await store.takeOffline('john')), ['keyed', 'two', 'three']);
        // A retry after delivery does not put it back.
        assert.equal((await store.append(msg({ clientId: 'k', offline: true }))).created, false);
        assert.deepEqual(await store.takeOffline('john'), []);
      });
    });

    describe('receipts and head', () => {
      test('receipts share the id sequence with messages, in call order', async () => {
        const [a, r1, b, r2] = await Promise.all([
          send({ text: 'a' }),
          store.appendReceipt(receipt({ upTo: 1 })),
          send({ text: 'b' }),
          store.appendReceipt(receipt({ from: 'ann', to: 'bob', upTo: 2, ts: 5 })),
        ]);
        const ids = [a.id, r1.id, b.id, r2.id];
        assert.deepEqual(
          ids,
          [...ids].sort((x, y) => x - y),
        );
        assert.equal(new Set(ids).size, 4);
        assert.deepEqual(r2, { from: 'ann', to: 'bob', upTo: 2, ts: 5, id: r2.id });
      });

      test('head is 0 when empty and counts appends still in flight', async () => {
        assert.equal(await store.head(), 0);
        const m = send();
        const r = store.appendReceipt(receipt());
        const head = await store.head();
        assert.equal(head, (await r).id);
        assert.ok((await m).id < head);
      });
    });

    describe('since and history', () => {
      // mary→all, mary→john, john→bob, bob→mary, john→john, and receipts john→mary,
      // bob→john, mary→bob.
      let log: { a: StoredMessage; b: StoredMessage; c: StoredMessage; d: StoredMessage };
      let e: StoredMessage;
      let rf: LoggedEvent;
      let rg: LoggedEvent;
      let rh: LoggedEvent;
      beforeEach(async () => {
        const a = await send({ to: 'all', text: 'a' });
        const b = await send({ text: 'b' });
        const c = await send({ from: 'john', to: 'bob', text: 'c' });
        const d = await send({ from: 'bob', to: 'mary', text: 'd', clientId: 'x' });
        log = { a, b, c, d };
        e = await send({ from: 'john', to: 'john', text: 'e' });
        const read = async (r: NewReceipt): Promise<LoggedEvent> => ({
          kind: 'read',
          receipt: await store.appendReceipt(r),
        });
        rf = await read(receipt({ from: 'john', to: 'mary', upTo: b.id }));
        rg = await read(receipt({ from: 'bob', to: 'john', upTo: c.id }));
        rh = await read(receipt({ from: 'mary', to: 'bob', upTo: d.id }));
      });
      const m = (message: StoredMessage): LoggedEvent => ({ kind: 'message', message });

      test('since returns what each viewer sees, oldest first', async () => {
        const { a, b, c, d } = log;
        assert.deepEqual(await store.since('john', 0, 100), [m(a), m(b), m(c), m(e), rf, rg]);
        assert.deepEqual(await store.since('bob', 0, 100), [m(a), m(c), m(d), rg, rh]);
        assert.deepEqual(await store.since('mary', 0, 100), [m(a), m(b), m(d), rf, rh]);
        assert.deepEqual(await store.since('zed', 0, 100), [m(a)]);
      });

      test('since pages by after and limit, and sees appends in flight', async () => {
        const { b, c } = log;
        assert.deepEqual(await store.since('john', b.id, 2), [m(c), m(e)]);
        assert.deepEqual(await store.since('john', idOf(rg), 10), []);
        assert.deepEqual(await store.since('john', 0, 0), []);
        const late = send({ from: 'zed', to: 'all', text: 'late' });
        const seen = await store.since('john', idOf(rg), 10);
        assert.deepEqual(seen, [m(await late)]);
      });

      test('history of all pages the broadcasts backwards by before', async () => {
        const more = [];
        for (const text of ['f', 'g', 'h']) {
          more.push(await send({ to: 'all', text }));
          await send({ text: `dm ${text}` });
        }
        assert.deepEqual(texts(await store.history('john', 'all', NEWEST, 2)), ['g', 'h']);
        const g = more[1] as StoredMessage;
        assert.deepEqual(texts(await store.history('john', 'all', g.id, 2)), ['a', 'f']);
        assert.deepEqual(await store.history('bob', 'all', log.a.id, 2), []);
        assert.deepEqual(await store.history('bob', 'all', NEWEST, 100), [log.a, ...more]);
      });

      test('history between two users holds both directions and nothing else', async () => {
        const back = await send({ from: 'john', to: 'mary', text: 'back' });
        const again = await send({ text: 'again' });
        const conversation = [log.b, back, again];
        assert.deepEqual(await store.history('john', 'mary', NEWEST, 10), conversation);
        assert.deepEqual(await store.history('mary', 'john', NEWEST, 10), conversation);
        assert.deepEqual(await store.history('mary', 'john', again.id, 1), [back]);
        assert.deepEqual(await store.history('mary', 'john', NEWEST, 0), []);
        assert.deepEqual(await store.history('bob', 'mary', NEWEST, 10), [log.d]);
      });

      test('history with oneself holds only notes to self', async () => {
        assert.deepEqual(await store.history('john', 'john', NEWEST, 10), [e]);
        assert.deepEqual(await store.history('mary', 'mary', NEWEST, 10), []);
      });
    });

    describe('prune', () => {
      const entries = async (n: number, from = 1): Promise<StoredMessage[]> => {
        const out = [];
        for (let i = 0; i < n; i++) out.push(await send({ to: 'all', ts: (from + i) * 1000 }));
        return out;
      };

      test('nothing is pruned without a bound or from an empty store', async () => {
        assert.equal(await store.prune({ olderThan: 5000, keep: 1 }), 0);
        await entries(3);
        assert.equal(await store.prune({ olderThan: 0, keep: 0 }), 0);
        assert.equal(await store.prune({ olderThan: 0, keep: 3 }), 0);
        assert.equal(await store.prunedThrough(), 0);
        assert.equal((await store.since('zed', 0, 10)).length, 3);
      });

      test('by count keeps the newest entries and records prunedThrough', async () => {
        const [a, b, c] = await entries(3);
        const r = await store.appendReceipt(receipt({ to: 'zed' }));
        const head = await store.head();
        assert.equal(await store.prune({ olderThan: 0, keep: 2 }), 2);
        assert.equal(await store.prunedThrough(), b?.id);
        assert.equal(await store.message(a?.id ?? 0), undefined);
        assert.deepEqual((await store.since('zed', 0, 10)).map(idOf), [c?.id, r.id]);
        assert.equal(await store.head(), head);
      });

      test('by age removes entries older than the bound, never the newest', async () => {
        const [, , , d, e] = await entries(5);
        assert.equal(await store.prune({ olderThan: 3500, keep: 0 }), 3);
        assert.equal((await store.history('zed', 'all', NEWEST, 10)).length, 2);
        assert.equal(await store.prune({ olderThan: 1e15, keep: 0 }), 1);
        assert.equal(await store.prunedThrough(), d?.id);
        assert.deepEqual(await store.history('zed', 'all', NEWEST, 10), [e]);
        assert.equal(await store.head(), e?.id);
        // The newest alone is never pruned.
        assert.equal(await store.prune({ olderThan: 1e15, keep: 0 }), 0);
        assert.equal(await store.prunedThrough(), d?.id);
      });

      test('a bound by age and one by count: whichever removes more wins', async () => {
        await entries(5);
        assert.equal(await store.prune({ olderThan: 2500, keep: 2 }), 3);
        assert.equal(await store.prune({ olderThan: 1e15, keep: 2 }), 1);
      });

      test('pruned messages leave the mailboxes', async () => {
        await send({ text: 'old', offline: true });
        await send({ to: 'bob', text: 'old for bob', offline: true });
        const kept = await send({ text: 'kept', offline: true });
        assert.equal(await store.prune({ olderThan: 0, keep: 1 }), 2);
        assert.deepEqual(await store.takeOffline('john'), [kept]);
        assert.deepEqual(await store.takeOffline('bob'), []);
        // The freed room counts: the mailbox limit is 3.
        for (const text of ['x', 'y', 'z']) await send({ to: 'bob', text, offline: true });
      });

      test('ids are not reused after everything but the newest is pruned', async () => {
        const [, , c] = await entries(3);
        await store.prune({ olderThan: 0, keep: 1 });
        const next = await send();
        assert.ok(next.id > (c?.id ?? Number.POSITIVE_INFINITY));
        const r = await store.appendReceipt(receipt());
        assert.ok(r.id > next.id);
      });
    });
    test('log returns every logged event after an id, whoever sees it, oldest first', async () => {
      const a = (await store.append(msg({ from: 'ann', to: 'bob', text: 'dm' }))).message;
      const b = (await store.append(msg({ to: 'all', text: 'all' }))).message;
      const r = await store.appendReceipt({ from: 'bob', to: 'ann', upTo: a.id, ts: 1 });
      const c = store.append(msg({ from: 'cat', to: 'dan', text: 'in flight' }));
      const all = await store.log(0, 10);
      assert.deepEqual(all.map(idOf), [a.id, b.id, r.id, (await c).message.id]);
      assert.deepEqual(await store.log(b.id, 1), [{ kind: 'read', receipt: r }]);
      assert.deepEqual(await store.log(a.id, 0), []);
    });

    test('ping resolves on an open store, changes nothing, and rejects after close', async () => {
      await store.ping();
      assert.equal(await store.head(), 0);
      const other = await open({ maxOfflinePerUser: 3 });
      await other.ping();
      await other.close();
      await assert.rejects(other.ping());
    });
  });
  roomsContract(name, open);
  roomLivesContract(name, open);
  mentionsContract(name, open);
  uploadsContract(name, open);
  profilesContract(name, open);
  rosterContract(name, open);
  searchContract(name, open);
  repliesContract(name, () => open({ maxOfflinePerUser: 10 }));
  reactionsContract(name, open);
  sanctionsContract(name, open);
  blocksContract(name, open);
}
