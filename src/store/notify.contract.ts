import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { NewMemberChange, NewMessage, StoredMessage } from '../domain/events.js';
import { eventId } from '../domain/events.js';
import { MAX_UNREAD_COUNT, UNREAD_SCAN } from './notify-store.js';
import { memberAt, sendAt, TS } from './rooms.contract.js';
import type { Store } from './store.js';

/** How a backend's test file hands the suite its stores. */
export interface NotifyFactory {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** A second store on the same backend as `store` (another process of a cluster). */
  twin?(store: Store): Promise<Store>;
  /** Gives `nick` a push subscription (PushStore is not part of this suite). */
  subscribe(store: Store, nick: string): Promise<void>;
  /** How many mention_rows `store` holds (retention must remove them with their events). */
  mentionRows(store: Store): Promise<number>;
}

/** The NotifyStore contract (notify-store.ts), run by every backend's store.test.ts. */
export function notifyContract(name: string, factory: NotifyFactory): void {
  describe(`NotifyStore contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory.open();
    });
    afterEach(async () => {
      await store.close();
    });

    const send = (from: string, to: string, text = 'hi', over: Partial<NewMessage> = {}) =>
      sendAt(store, from, to, text, over);
    const member = (room: string, user: string, action: NewMemberChange['action']) =>
      memberAt(store, room, user, action);
    const unread = async (nick: string) =>
      (await store.notify.unread(nick)).map((u) => [u.with, u.unread, u.mentions]);

    test('the baseline is the head at first use; markers only move forward', async () => {
      await send('ann', 'bob');
      const old = await send('ann', 'bob');
      assert.deepEqual(await store.notify.unread('bob'), []);
      const a = await send('ann', 'bob');
      const b = await send('ann', 'bob');
      assert.deepEqual(await store.notify.unread('bob'), [
        { with: 'ann', marker: old.id, unread: 2, mentions: 0 },
      ]);
      assert.equal(await store.notify.setMarker('bob', 'ann', a.id), a.id);
      assert.equal(await store.notify.setMarker('bob', 'ann', old.id - 1), a.id);
      assert.deepEqual(await unread('bob'), [['ann', 1, 0]]);
      // Never beyond the head, so that later messages are not read in advance.
      assert.equal(await store.notify.setMarker('bob', 'ann', b.id + 1000), b.id);
      assert.deepEqual(await store.notify.unread('bob'), []);
      // A first marker elsewhere starts from the baseline, not below it.
      assert.equal(await store.notify.setMarker('bob', 'carl', 1), old.id);
    });

    test('a first setMarker sets the baseline too', async () => {
      const m = await send('ann', 'bob');
      assert.equal(await store.notify.setMarker('bob', 'ann', 0), m.id);
      await send('carl', 'bob');
      assert.deepEqual(await unread('bob'), [['carl', 1, 0]]);
    });

    test('DMs, rooms and broadcasts; own and deleted messages never count', async () => {
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await store.notify.unread('bob');
      await store.notify.unread('ann');
      await send('ann', 'bob');
      await send('bob', 'ann');
      await send('ann', '#r');
      await send('bob', '#r');
      const gone = await send('ann', 'all');
      await send('carl', 'all');
      await send('bob', 'all');
      await store.appendDelete({ target: gone.id, from: 'ann', to: 'all', ts: TS });
      assert.deepEqual(await unread('bob'), [
        ['#r', 1, 0],
        ['all', 1, 0],
        ['ann', 1, 0],
      ]);
      assert.equal(await store.notify.unreadTotal('bob'), 3);
      assert.deepEqual(await unread('ann'), [
        ['#r', 1, 0],
        ['all', 2, 0],
        ['bob', 1, 0],
      ]);
    });

    test("a room counts within the viewer's spans, and only while they are a member", async () => {
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await store.notify.unread('bob');
      await send('ann', '#r');
      await member('#r', 'bob', 'leave');
      await send('ann', '#r');
      assert.deepEqual(await unread('bob'), []);
      await member('#r', 'bob', 'join');
      await send('ann', '#r');
      assert.deepEqual(await unread('bob'), [['#r', 2, 0]]);
      // A room never joined counts nothing.
      await member('#s', 'ann', 'create');
      await send('ann', '#s', '@bob');
      assert.deepEqual(await unread('bob'), [['#r', 2, 0]]);
    });

    test('a DM sent to a nick before its account was made does not count', async () => {
      await store.notify.unread('zed');
      await send('ann', 'zed', '@zed');
      assert.ok(await store.accounts.createUser('zed', 'h', 1));
      assert.deepEqual(await unread('zed'), []);
      await send('ann', 'zed', '@zed');
      assert.deepEqual(await unread('zed'), [['ann', 1, 1]]);
    });

    test('mentions count by message, also when an edit added them; deleted ones do not', async () => {
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await store.notify.unread('bob');
      await send('ann', 'bob', '@bob hi');
      const plain = await send('ann', '#r', 'hi');
      await send('ann', '#r', '@bob @bob');
      const gone = await send('ann', '#r', '@bob');
      await store.appendEdit({ target: plain.id, from: 'ann', to: '#r', text: '@bob', ts: TS });
      await store.appendDelete({ target: gone.id, from: 'ann', to: '#r', ts: TS });
      assert.deepEqual(await unread('bob'), [
        ['#r', 2, 2],
        ['ann', 1, 1],
      ]);
      await store.notify.setMarker('bob', '#r', plain.id);
      assert.deepEqual(await unread('bob'), [
        ['#r', 1, 1],
        ['ann', 1, 1],
      ]);
    });

    test('counts stop at MAX_UNREAD_COUNT', async () => {
      await store.notify.unread('bob');
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < MAX_UNREAD_COUNT + 5; i++) sends.push(send('ann', 'all', '@bob'));
      await Promise.all(sends);
      assert.deepEqual(await unread('bob'), [['all', MAX_UNREAD_COUNT, 0]]);
      assert.equal(await store.notify.unreadTotal('bob'), MAX_UNREAD_COUNT);
    });

    test('unreadTotal: the sum of the counts, at most MAX_UNREAD_COUNT; it sets no baseline', async () => {
      assert.equal(await store.notify.unreadTotal('bob'), 0);
      await send('ann', 'bob');
      // No baseline yet: it is set now, above that message.
      assert.deepEqual(await unread('bob'), []);
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await send('ann', 'bob', '@bob');
      await send('carl', 'bob');
      await send('ann', '#r');
      await send('bob', '#r');
      await send('ann', 'all');
      assert.equal(await store.notify.unreadTotal('bob'), 4);
      assert.equal(await store.notify.unreadTotal('ann'), 0);
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < MAX_UNREAD_COUNT; i++) sends.push(send('dan', 'bob'));
      await Promise.all(sends);
      assert.equal(await store.notify.unreadTotal('bob'), MAX_UNREAD_COUNT);
    });

    test('a room counts in its current life only, mentions too', async () => {
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await store.notify.unread('bob');
      await send('ann', '#r', '@bob');
      await member('#r', 'bob', 'leave');
      await member('#r', 'ann', 'leave');
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await send('ann', '#r', 'hi');
      assert.deepEqual(await unread('bob'), [['#r', 1, 0]]);
    });

    test('counts look at the newest UNREAD_SCAN rows: of DMs, of mentions', async () => {
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await store.notify.unread('bob');
      await send('ann', 'bob');
      await send('ann', '#r', '@bob');
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < UNREAD_SCAN; i++) sends.push(send('carl', 'bob', '@bob'));
      await Promise.all(sends);
      // ann's DM is below the DM window; the room's mention below the mentions' window.
      assert.deepEqual(await unread('bob'), [
        ['#r', 1, 0],
        ['carl', MAX_UNREAD_COUNT, MAX_UNREAD_COUNT],
      ]);
      assert.equal(await store.notify.unreadTotal('bob'), MAX_UNREAD_COUNT);
    });

    test('levels: set, replaced, and reset with null', async () => {
      assert.deepEqual(await store.notify.levels('bob'), new Map());
      await store.notify.setLevel('bob', '#r', 'all');
      await store.notify.setLevel('bob', 'ann', 'none');
      await store.notify.setLevel('bob', 'ann', 'mentions');
      await store.notify.setLevel('carl', 'all', 'none');
      assert.deepEqual(
        await store.notify.levels('bob'),
        new Map([
          ['#r', 'all'],
          ['ann', 'mentions'],
        ]),
      );
      await store.notify.setLevel('bob', '#r', null);
      await store.notify.setLevel('bob', '#nothing', null);
      assert.deepEqual(await store.notify.levels('bob'), new Map([['ann', 'mentions']]));
    });

    test('attention holds until its time, per client', async () => {
      await store.notify.setAttention('bob', 'tab1', 2_000);
      await store.notify.setAttention('bob', 'tab2', 1_000);
      await store.notify.setAttention('ann', 'x', 500);
      assert.deepEqual(await store.notify.attentive(['bob', 'ann', 'carl'], 999), new Set(['bob']));
      assert.deepEqual(await store.notify.attentive(['bob', 'ann'], 1_999), new Set(['bob']));
      assert.deepEqual(await store.notify.attentive(['bob', 'ann'], 2_000), new Set());
      await store.notify.setAttention('bob', 'tab1', 100);
      assert.deepEqual(await store.notify.attentive(['bob'], 500), new Set(['bob']));
      assert.deepEqual(await store.notify.attentive([], 0), new Set());
      // Many clients: the most recent stay.
      for (let i = 0; i < 40; i++) await store.notify.setAttention('dan', `c${i}`, 10_000 + i);
      assert.deepEqual(await store.notify.attentive(['dan'], 10_038), new Set(['dan']));
      // Maintenance drops what ran out; what still holds stays.
      // bob's two, ann's one, and dan's kept c24 to c30 (until 10,024 to 10,030).
      assert.equal(await store.notify.pruneAttention(10_030), 3 + 7);
      assert.deepEqual(await store.notify.attentive(['dan'], 10_030), new Set(['dan']));
      assert.deepEqual(await store.notify.attentive(['bob', 'ann'], 0), new Set());
      assert.equal(await store.notify.pruneAttention(20_000), 9);
    });

    test('claimPushWork: nothing the first time, then messages and edits once, in order', async () => {
      await send('ann', 'bob');
      assert.deepEqual(await store.notify.claimPushWork(10), []);
      const m = await send('ann', 'bob', '@bob');
      await store.appendReceipt({ from: 'bob', to: 'ann', upTo: m.id, ts: TS });
      await member('#r', 'ann', 'create');
      const e = await store.appendEdit({ target: m.id, from: 'ann', to: 'bob', text: 'x', ts: TS });
      const n = await send('ann', 'all');
      const first = await store.notify.claimPushWork(2);
      // Read back as it is now (edited).
      assert.deepEqual(first, [
        { kind: 'message', message: await store.message(m.id) },
        { kind: 'edit', edit: e },
      ]);
      assert.deepEqual(await store.notify.claimPushWork(10), [{ kind: 'message', message: n }]);
      assert.deepEqual(await store.notify.claimPushWork(10), []);
      assert.deepEqual(await store.notify.claimPushWork(0), []);
    });

    test('skipPushWork moves the cursor to the head and hands nothing out', async () => {
      // On a new store it sets the cursor, as the first claim does.
      await send('ann', 'bob');
      await store.notify.skipPushWork();
      assert.deepEqual(await store.notify.claimPushWork(10), []);
      await send('ann', 'bob', 'passed');
      await send('ann', 'all', 'passed too');
      await store.notify.skipPushWork();
      assert.deepEqual(await store.notify.claimPushWork(10), []);
      const after = await send('ann', 'bob', 'after');
      assert.deepEqual(await store.notify.claimPushWork(10), [{ kind: 'message', message: after }]);
    });

    test('skipPushWork never moves the cursor back past a claim', async () => {
      await store.notify.claimPushWork(1);
      const twin = factory.twin ? await factory.twin(store) : store;
      try {
        for (let i = 0; i < 10; i++) await send('ann', 'all', `m${i}`);
        const [claimed] = await Promise.all([
          twin.notify.claimPushWork(100),
          store.notify.skipPushWork(),
        ]);
        // Whatever the order, nothing is handed out twice.
        assert.ok(claimed.length === 0 || claimed.length === 10);
        assert.deepEqual(await store.notify.claimPushWork(100), []);
        assert.deepEqual(await twin.notify.claimPushWork(100), []);
      } finally {
        if (twin !== store) await twin.close();
      }
    });

    test('claimPushWork hands each event out once under concurrency', async () => {
      await store.notify.claimPushWork(1);
      const twin = factory.twin ? await factory.twin(store) : store;
      try {
        const sent: StoredMessage[] = [];
        for (let i = 0; i < 30; i++) sent.push(await send('ann', 'all', `m${i}`));
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? twin : store).notify.claimPushWork(3)),
        );
        const again = await Promise.all([
          store.notify.claimPushWork(100),
          twin.notify.claimPushWork(100),
        ]);
        const ids = [...claims, ...again].flat().map(eventId);
        assert.deepEqual(
          ids.sort((a, b) => a - b),
          sent.map((m) => m.id),
        );
      } finally {
        if (twin !== store) await twin.close();
      }
    });

    test('pushAudience: who sees it and is subscribed, not the sender, with level and mention', async () => {
      for (const nick of ['ann', 'bob', 'carl', 'dan']) await factory.subscribe(store, nick);
      const dm = await send('ann', 'bob', '@bob');
      await store.notify.setLevel('bob', 'ann', 'none');
      assert.deepEqual(await store.notify.pushAudience(dm.id), [
        { nick: 'bob', level: 'none', mentioned: true },
      ]);
      const quiet = await send('ann', 'eve');
      assert.deepEqual(await store.notify.pushAudience(quiet.id), []);
      const all = await send('ann', 'all', '@carl', { claimed: true });
      await store.notify.setLevel('dan', 'all', 'all');
      assert.deepEqual(await store.notify.pushAudience(all.id), [
        { nick: 'bob', level: null, mentioned: false },
        { nick: 'carl', level: null, mentioned: true },
        { nick: 'dan', level: 'all', mentioned: false },
      ]);
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      const said = await send('ann', '#r', 'hi');
      await member('#r', 'dan', 'join');
      const e = await store.appendEdit({
        target: said.id,
        from: 'ann',
        to: '#r',
        text: '@bob @dan',
        ts: TS,
      });
      assert.deepEqual(await store.notify.pushAudience(said.id), [
        { nick: 'bob', level: null, mentioned: false },
      ]);
      assert.deepEqual(await store.notify.pushAudience(e.id), [
        { nick: 'bob', level: null, mentioned: true },
      ]);
      const late = await send('ann', '#r', 'x');
      assert.deepEqual(
        (await store.notify.pushAudience(late.id)).map((c) => c.nick),
        ['bob', 'dan'],
      );
      const r = await store.appendReceipt({ from: 'bob', to: 'ann', upTo: dm.id, ts: TS });
      assert.deepEqual(await store.notify.pushAudience(r.id), []);
      // A DM to a nick from before its account was made is not the account's.
      const before = await send('ann', 'zed');
      assert.ok(await store.accounts.createUser('zed', 'h', 1));
      await factory.subscribe(store, 'zed');
      assert.deepEqual(await store.notify.pushAudience(before.id), []);
      const after = await send('ann', 'zed');
      assert.deepEqual(
        (await store.notify.pushAudience(after.id)).map((c) => c.nick),
        ['zed'],
      );
    });

    test('retention removes the mention rows of pruned events', async () => {
      await store.notify.unread('bob');
      const m = await send('ann', 'bob', '@bob');
      await send('ann', 'carl');
      await factory.subscribe(store, 'bob');
      assert.equal((await store.notify.pushAudience(m.id))[0]?.mentioned, true);
      assert.equal(await factory.mentionRows(store), 1);
      await store.prune({ olderThan: 0, keep: 1 });
      assert.equal(await factory.mentionRows(store), 0);
      assert.deepEqual(await store.notify.unread('bob'), []);
      assert.deepEqual(await store.notify.pushAudience(m.id), []);
    });
  });
}
