import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { NewMemberChange, StoredMessage } from '../domain/events.js';
import { parseSearch, type SearchRequest } from '../domain/search.js';
import { memberAt, NEWEST, sendAt, TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import type { Store } from './store.js';

/** The search part of the Store contract (store.ts), run by storeContract for every backend. */
export function searchContract(name: string, open: StoreFactory): void {
  describe(`Store contract, search: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 100 });
    });
    afterEach(async () => {
      await store.close();
    });

    const send = (from: string, to: string, text: string) => sendAt(store, from, to, text);
    const member = (room: string, user: string, action: NewMemberChange['action']) =>
      memberAt(store, room, user, action);
    /** The ids `viewer` finds for `q` (a query as typed), newest first. */
    const find = async (viewer: string, q: string, over: Partial<SearchRequest> = {}) => {
      const page = await store.search(viewer, {
        ...parseSearch(q),
        before: NEWEST,
        limit: 50,
        ...over,
      });
      return page.messages.map((m) => m.id);
    };
    const ids = (...ms: StoredMessage[]) => ms.map((m) => m.id).reverse();

    test("C never finds A and B's direct messages; A and B do, and everyone finds a broadcast", async () => {
      const dm = await send('alice', 'bob', 'the secret plan');
      const back = await send('bob', 'alice', 'secret reply');
      const all = await send('carol', 'all', 'no secret here');
      assert.deepEqual(await find('carol', 'secret'), ids(all));
      assert.deepEqual(await find('alice', 'secret'), ids(dm, back, all));
      assert.deepEqual(await find('bob', 'secret'), ids(dm, back, all));
      // Notes to self are their writer's alone.
      const note = await send('dave', 'dave', 'secret note');
      assert.deepEqual(await find('dave', 'secret'), ids(all, note));
      assert.deepEqual(await find('alice', 'note'), []);
      // A hit carries the message as history reads it, with a positive relevance.
      const page = await store.search('alice', {
        ...parseSearch('plan'),
        before: NEWEST,
        limit: 5,
      });
      assert.deepEqual(page.messages, [dm]);
      assert.equal(page.next, null);
    });

    test('a room member finds nothing from before their span or after they left', async () => {
      await member('#dev', 'alice', 'create');
      const early = await send('alice', '#dev', 'deploy early');
      await member('#dev', 'bob', 'join');
      const during = await send('alice', '#dev', 'deploy during');
      await member('#dev', 'bob', 'leave');
      const after = await send('alice', '#dev', 'deploy after');
      assert.deepEqual(await find('bob', 'deploy'), ids(during));
      assert.deepEqual(await find('alice', 'deploy'), ids(early, during, after));
      assert.deepEqual(await find('carol', 'deploy'), []);
      assert.deepEqual(await find('bob', 'deploy', { with: '#dev' }), ids(during));
    });

    test('a history-all room shows its whole current life to a member, not to one who left', async () => {
      await store.appendMember({
        room: '#open',
        user: 'alice',
        by: 'alice',
        action: 'create',
        ts: TS,
        bigRoom: 100,
        settings: { visibility: 'public', history: 'all' },
      });
      const before = await send('alice', '#open', 'release notes');
      await member('#open', 'bob', 'join');
      assert.deepEqual(await find('bob', 'release'), ids(before));
      const during = await send('alice', '#open', 'release two');
      await member('#open', 'bob', 'leave');
      // After leaving, what their span covered stays theirs (as a replay shows it).
      assert.deepEqual(await find('bob', 'release'), ids(during));
    });

    test('a deleted message is not found, an edited one only by its new text', async () => {
      const gone = await send('alice', 'all', 'remove this banana');
      const changed = await send('alice', 'all', 'old apple text');
      await store.appendDelete({ target: gone.id, from: 'alice', to: 'all', ts: TS + 1 });
      await store.appendEdit({
        target: changed.id,
        from: 'alice',
        to: 'all',
        text: 'new cherry text',
        ts: TS + 2,
      });
      assert.deepEqual(await find('bob', 'banana'), []);
      assert.deepEqual(await find('bob', 'apple'), []);
      assert.deepEqual(await find('bob', 'cherry'), [changed.id]);
      // An edit to a text without words takes it out of the index.
      await store.appendEdit({
        target: changed.id,
        from: 'alice',
        to: 'all',
        text: '!!',
        ts: TS + 3,
      });
      assert.deepEqual(await find('bob', 'cherry'), []);
    });

    test('retention removes results', async () => {
      const old = await send('alice', 'all', 'ancient word');
      const kept = await send('alice', 'all', 'ancient again');
      await send('alice', 'all', 'newest');
      assert.deepEqual(await find('bob', 'ancient'), ids(old, kept));
      assert.equal(await store.prune({ olderThan: 0, keep: 2 }), 1);
      assert.deepEqual(await find('bob', 'ancient'), ids(kept));
    });

    test('phrases, prefixes, from, with, accents and scripts without spaces', async () => {
      const a = await send('alice', 'all', 'Café au lait, the quick brown fox');
      const b = await send('bob', 'all', 'brown quick fox; prefixes like preview');
      const c = await send('alice', 'bob', '我在北京大学学习 and 東京タワー');
      assert.deepEqual(await find('bob', '"quick brown"'), ids(a));
      assert.deepEqual(await find('bob', 'quick brown'), ids(a, b));
      assert.deepEqual(await find('bob', 'CAFE'), ids(a));
      assert.deepEqual(await find('bob', 'prev*'), ids(b));
      assert.deepEqual(await find('bob', 'pre*'), ids(b));
      // A long prefix is read loosely from the index and checked on each row.
      const d = await send('carol', 'all', 'prevail prefab');
      assert.deepEqual(await find('bob', 'prev*'), ids(b, d));
      assert.deepEqual(await find('bob', 'preva*'), ids(d));
      assert.deepEqual(await find('bob', 'prefa*'), ids(d));
      assert.deepEqual(await find('bob', '"quick prefi"*'), []);
      assert.deepEqual(await find('bob', '"fox; prefi"*'), ids(b));
      assert.deepEqual(await find('bob', 'fox from:ALICE'), ids(a));
      assert.deepEqual(await find('bob', 'fox', { from: 'bob' }), ids(b));
      assert.deepEqual(await find('bob', '北京'), ids(c));
      assert.deepEqual(await find('bob', '京大学'), ids(c));
      assert.deepEqual(await find('bob', 'タワー'), ids(c));
      assert.deepEqual(await find('bob', '大京'), []);
      assert.deepEqual(await find('bob', '北京', { with: 'alice' }), ids(c));
      assert.deepEqual(await find('bob', '北京', { with: 'all' }), []);
      assert.deepEqual(await find('bob', 'fox', { with: 'all' }), ids(a, b));
    });

    test('what reached a nick before its account was registered is not found', async () => {
      const before = await send('mallory', 'zed', 'hidden greeting');
      assert.ok(await store.accounts.createUser('zed', 'hash', TS));
      const after = await send('mallory', 'zed', 'visible greeting');
      assert.deepEqual(await find('zed', 'greeting'), ids(after));
      assert.deepEqual(await find('mallory', 'greeting'), ids(before, after));
    });

    test('pages: next continues below the page, and every match comes once', async () => {
      const sent: number[] = [];
      for (let i = 0; i < 7; i++) sent.push((await send('alice', 'all', `page word ${i}`)).id);
      await send('alice', 'bob', 'page word private');
      const seen: number[] = [];
      let before: number | null = NEWEST;
      for (let n = 0; before !== null && n < 10; n++) {
        const page = await store.search('carol', { ...parseSearch('page'), before, limit: 3 });
        seen.push(...page.messages.map((m) => m.id));
        before = page.next;
      }
      assert.deepEqual(seen, sent.reverse());
    });

    test("matches in others' conversations are never read: they neither fill nor end a page", async () => {
      const mine = await send('alice', 'all', 'needle for all');
      for (let i = 0; i < 300; i++) await send('alice', 'bob', `needle ${i}`);
      await member('#hay', 'alice', 'create');
      for (let i = 0; i < 300; i++) await send('alice', '#hay', `needle room ${i}`);
      // carol sees one match; the 600 hidden ones change nothing of her page.
      const page = await store.search('carol', {
        ...parseSearch('needle'),
        before: NEWEST,
        limit: 1,
      });
      assert.deepEqual(
        page.messages.map((m) => m.id),
        [mine.id],
      );
      const none = await store.search('carol', {
        ...parseSearch('needle'),
        before: NEWEST,
        limit: 1,
        from: 'nobody',
      });
      assert.deepEqual(none, { messages: [], next: null });
      // A member who joins late reads the room from their span on only.
      await member('#hay', 'carol', 'join');
      const late = await send('alice', '#hay', 'needle late');
      const inRoom = await store.search('carol', {
        ...parseSearch('needle'),
        before: NEWEST,
        limit: 5,
      });
      assert.deepEqual(
        inRoom.messages.map((m) => m.id),
        [late.id, mine.id],
      );
      assert.equal(inRoom.next, null);
    });

    test('hostile queries are data', async () => {
      const target = await send('alice', 'all', 'near the end OR not and "quoted"');
      for (const q of [
        'NEAR(a b)',
        'a OR b',
        'NOT x',
        "'; DROP TABLE messages; --",
        'x:y',
        '^x',
        '{a}: b',
      ]) {
        let parsed: ReturnType<typeof parseSearch> | undefined;
        try {
          parsed = parseSearch(q);
        } catch {
          continue;
        }
        await store.search('bob', { ...parsed, before: NEWEST, limit: 5 });
      }
      assert.deepEqual(await find('bob', 'NEAR'), [target.id]);
      assert.deepEqual(await find('bob', 'OR'), [target.id]);
    });

    test('historyAfter goes forward by the rule of history', async () => {
      const m1 = await send('alice', 'bob', 'one');
      await send('alice', 'carol', 'not theirs');
      const m2 = await send('bob', 'alice', 'two');
      const m3 = await send('alice', 'bob', 'three');
      assert.deepEqual(await store.historyAfter('bob', 'alice', m1.id, 10), [m2, m3]);
      assert.deepEqual(await store.historyAfter('bob', 'alice', 0, 2), [m1, m2]);
      await member('#r', 'alice', 'create');
      const r1 = await send('alice', '#r', 'r1');
      await member('#r', 'bob', 'join');
      const r2 = await send('alice', '#r', 'r2');
      assert.deepEqual(await store.historyAfter('bob', '#r', 0, 10), [r2]);
      assert.deepEqual(await store.historyAfter('alice', '#r', 0, 10), [r1, r2]);
      const b1 = await send('carol', 'all', 'b1');
      assert.deepEqual(await store.historyAfter('bob', 'all', r2.id, 10), [b1]);
      const n1 = await send('bob', 'bob', 'n1');
      assert.deepEqual(await store.historyAfter('bob', 'bob', 0, 10), [n1]);
    });
  });
}
