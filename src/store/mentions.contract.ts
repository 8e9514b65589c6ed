import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { NewMemberChange, NewMessage, StoredEdit, StoredMessage } from '../domain/events.js';
import { memberAt, NEWEST, sendAt, TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import type { Store } from './store.js';

/** The mentions part of the Store contract (store.ts), run by storeContract for every backend. */
export function mentionsContract(name: string, open: StoreFactory): void {
  describe(`Store contract, mentions: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
    });
    afterEach(async () => {
      await store.close();
    });

    const send = (from: string, to: string, text: string, over: Partial<NewMessage> = {}) =>
      sendAt(store, from, to, text, over);
    const edit = (m: StoredMessage, text: string, over = {}): Promise<StoredEdit> =>
      store.appendEdit({ target: m.id, from: m.from, to: m.to, text, ts: TS + 1, ...over });
    const member = (room: string, user: string, action: NewMemberChange['action']) =>
      memberAt(store, room, user, action);

    test('a DM mentions its recipient only; the text without @ has no mentions key', async () => {
      const m = await send('mary', 'john', '@John @mary @nobody hi', { offline: true });
      assert.deepEqual(m.mentions, ['john']);
      const plain = await send('mary', 'john', 'no one here, mail@john.org');
      assert.ok(!('mentions' in plain));
      // Read back on every path.
      assert.deepEqual(await store.message(m.id), m);
      assert.deepEqual(await store.history('john', 'mary', NEWEST, 10), [m, plain]);
      assert.deepEqual(
        (await store.since('john', 0, 10)).map((e) => e.kind === 'message' && e.message),
        [m, plain],
      );
      assert.deepEqual(await store.log(0, 1), [{ kind: 'message', message: m }]);
      assert.deepEqual(await store.takeOffline('john'), [m]);
    });

    test('a room message mentions its members only, never its sender', async () => {
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await member('#r', 'carl', 'join');
      await member('#r', 'carl', 'leave');
      const m = await send('ann', '#r', '@bob, @carl @ann @dan!');
      assert.deepEqual(m.mentions, ['bob']);
      assert.deepEqual(await store.history('bob', '#r', NEWEST, 10), [m]);
    });

    test('a broadcast mentions registered accounts, by their own spelling', async () => {
      assert.ok(await store.accounts.createUser('Bob', 'h', 1));
      assert.ok(await store.accounts.createUser('Ann', 'h', 1));
      const m = await send('Ann', 'all', 'hey @bob and @BOB, @ann, @zed');
      assert.deepEqual(m.mentions, ['Bob']);
      assert.deepEqual(await store.history('x', 'all', NEWEST, 10), [m]);
    });

    test('a claimed broadcast (open mode) mentions any valid nick, as written', async () => {
      const m = await send('ann', 'all', '@zed. @all @Ann @ann @x/y', { claimed: true });
      assert.deepEqual(m.mentions, ['zed', 'Ann', 'x']);
      assert.ok(!('claimed' in m));
      assert.deepEqual(await store.message(m.id), m);
    });

    test('the longest spelling that names someone wins: bob. over bob', async () => {
      assert.ok(await store.accounts.createUser('bob', 'h', 1));
      assert.deepEqual((await send('x', 'all', 'thanks @bob.')).mentions, ['bob']);
      assert.ok(await store.accounts.createUser('bob.', 'h', 1));
      assert.deepEqual((await send('x', 'all', 'thanks @bob.')).mentions, ['bob.']);
      assert.deepEqual((await send('x', 'all', 'thanks @bob')).mentions, ['bob']);
    });

    test('an edit mentions its new text; added holds only the new ones', async () => {
      await member('#r', 'ann', 'create');
      await member('#r', 'bob', 'join');
      await member('#r', 'dan', 'join');
      const m = await send('ann', '#r', 'hi @bob');
      const e = await edit(m, 'hi @bob and @dan and @eve');
      assert.deepEqual(e.mentions, ['bob', 'dan']);
      assert.deepEqual(e.added, ['dan']);
      assert.deepEqual((await store.message(m.id))?.mentions, ['bob', 'dan']);
      const events = await store.since('bob', m.id, 10);
      assert.deepEqual(events, [{ kind: 'edit', edit: e }]);
      assert.deepEqual(await store.log(m.id, 10), [{ kind: 'edit', edit: e }]);
      // Removing a mention adds none; the message's list follows the text.
      const again = await edit(m, 'hi @dan');
      assert.deepEqual(again.mentions, ['dan']);
      assert.ok(!('added' in again));
      const none = await edit(m, 'hi');
      assert.ok(!('mentions' in none) && !('added' in none));
      assert.ok(!('mentions' in ((await store.message(m.id)) ?? {})));
      // Back again: bob is new to the text it replaced.
      assert.deepEqual((await edit(m, '@bob')).added, ['bob']);
    });

    test('an edit in a room mentions only members who saw its target', async () => {
      await member('#r', 'ann', 'create');
      const m = await send('ann', '#r', 'hi');
      await member('#r', 'late', 'join');
      const e = await edit(m, 'hi @late');
      assert.ok(!('mentions' in e));
    });

    test('an edit of a DM mentions the recipient; a deleted message loses its mentions', async () => {
      const m = await send('mary', 'john', 'hi');
      const e = await edit(m, 'hi @john');
      assert.deepEqual([e.mentions, e.added], [['john'], ['john']]);
      await store.appendDelete({ target: m.id, from: 'mary', to: 'john', ts: TS + 2 });
      const gone = await store.message(m.id);
      assert.ok(gone?.deleted && !('mentions' in gone));
      const [edited] = await store.log(m.id, 1);
      assert.ok(edited?.kind === 'edit' && !('mentions' in edited.edit));
    });

    test('hostile: a text of 10,000 mentions stores at most 50', async () => {
      const text = Array.from({ length: 10_000 }, (_, i) => `@u${i}`).join(' ');
      const m = await send('x', 'all', text, { claimed: true });
      assert.equal(m.mentions?.length, 50);
      assert.deepEqual((await store.message(m.id))?.mentions, m.mentions);
    });
  });
}
