import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { MAX_BLOCKS_PER_USER } from '../domain/blocks.js';
import { eventId, type LoggedEvent } from '../domain/events.js';
import { parseSearch } from '../domain/search.js';
import { code, NEWEST, sendAt, TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import type { Store } from './store.js';

/** The blocks part of the Store contract (blocks-store.ts), for every backend. */
export function blocksContract(name: string, open: StoreFactory): void {
  describe(`Store contract, blocks: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 2 });
      for (const nick of ['ann', 'Eve', 'carl']) await store.accounts.createUser(nick, 'h', TS);
    });
    afterEach(async () => {
      await store.close();
    });
    const ids = (events: LoggedEvent[]) => events.map(eventId);

    test('block resolves the account, is idempotent, lists, and unblocks in any case', async () => {
      assert.equal(await store.blocks.block('ann', 'nobody', TS), undefined);
      const first = await store.blocks.block('ann', 'EVE', TS);
      assert.deepEqual(first, { nick: 'Eve', since: TS });
      assert.deepEqual(await store.blocks.block('ann', 'eve', TS + 5), first);
      assert.deepEqual(await store.blocks.list('ann'), [first]);
      assert.equal(await store.blocks.blocks('ann', 'Eve'), true);
      assert.equal(await store.blocks.blocks('Eve', 'ann'), false);
      assert.equal(await store.blocks.unblock('ann', 'eve'), true);
      assert.equal(await store.blocks.unblock('ann', 'eve'), false);
      assert.deepEqual(await store.blocks.list('ann'), []);
    });

    test('at most MAX_BLOCKS_PER_USER blocks, even when they race', async () => {
      const nicks = Array.from({ length: MAX_BLOCKS_PER_USER + 5 }, (_, i) => `u${i}`);
      for (const nick of nicks) await store.accounts.createUser(nick, 'h', TS);
      const results = await Promise.allSettled(nicks.map((n) => store.blocks.block('ann', n, TS)));
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(refused.length, 5);
      for (const r of refused) assert.ok(code('BLOCKS_FULL')((r as PromiseRejectedResult).reason));
      assert.equal((await store.blocks.list('ann')).length, MAX_BLOCKS_PER_USER);
    });

    test("a blocked user's DM is withheld from the blocker everywhere, even after an unblock", async () => {
      await store.blocks.block('ann', 'Eve', TS);
      const dm = await sendAt(store, 'Eve', 'ann', 'secret zebra', { offline: true });
      const other = await sendAt(store, 'Eve', 'carl', 'open zebra', { offline: true });
      assert.equal(dm.withheld, true);
      assert.equal(other.withheld, undefined);
      const edit = await store.appendEdit({
        target: dm.id,
        from: 'Eve',
        to: 'ann',
        text: 'secret zebra 2',
        ts: TS,
      });
      assert.equal(edit.withheld, true, 'an edit of a withheld message is withheld');
      const receipt = await store.appendReceipt({ from: 'Eve', to: 'ann', upTo: 1, ts: TS });
      await store.blocks.unblock('ann', 'Eve');
      assert.deepEqual(await store.takeOffline('ann'), [], 'never in the mailbox');
      assert.deepEqual(
        (await store.takeOffline('carl')).map((m) => m.id),
        [other.id],
      );
      const annSince = ids(await store.since('ann', 0, 100));
      for (const id of [dm.id, edit.id, receipt.id]) assert.ok(!annSince.includes(id));
      const eveSince = ids(await store.since('Eve', 0, 100));
      for (const id of [dm.id, edit.id, receipt.id]) assert.ok(eveSince.includes(id));
      assert.deepEqual(await store.history('ann', 'Eve', NEWEST, 10), []);
      assert.deepEqual(await store.historyAfter('ann', 'Eve', 0, 10), []);
      assert.deepEqual(
        (await store.history('Eve', 'ann', NEWEST, 10)).map((m) => m.id),
        [dm.id],
      );
      const found = await store.search('ann', {
        ...parseSearch('zebra'),
        before: NEWEST,
        limit: 10,
      });
      assert.deepEqual(found.messages, []);
      const eveFound = await store.search('Eve', {
        ...parseSearch('zebra'),
        before: NEWEST,
        limit: 10,
      });
      assert.equal(eveFound.messages.length, 2);
      assert.deepEqual(await store.notify.pushAudience(dm.id), []);
      const unread = await store.notify.unread('ann');
      assert.equal(
        unread.some((u) => u.with === 'Eve'),
        false,
      );
      // A full mailbox refuses a withheld message as it would any (the sender cannot tell).
      await store.blocks.block('ann', 'Eve', TS);
      await sendAt(store, 'carl', 'ann', '1', { offline: true });
      await sendAt(store, 'carl', 'ann', '2', { offline: true });
      await assert.rejects(
        sendAt(store, 'Eve', 'ann', 'x', { offline: true }),
        code('CHAT_MAILBOX_FULL'),
      );
    });

    test('mentions skip blockers; invitations and reactions of the blocked are withheld', async () => {
      await store.blocks.block('ann', 'Eve', TS);
      const create = { room: '#r', user: 'Eve', by: 'Eve', ts: TS, bigRoom: 100 };
      await store.appendMember({
        ...create,
        action: 'create',
        settings: { visibility: 'private', history: 'joined' },
      });
      const dm = await sendAt(store, 'Eve', 'ann', '@ann hi');
      assert.equal(dm.mentions, undefined);
      const [invite] = await store.appendMember({ ...create, user: 'ann', action: 'invite' });
      const [invited] = await store.appendMember({ ...create, user: 'carl', action: 'invite' });
      assert.equal(invite?.withheld, true);
      assert.equal(invited?.withheld, undefined);
      assert.ok(!ids(await store.since('ann', 0, 100)).includes(invite?.id ?? 0));
      assert.deepEqual(
        (await store.rooms('ann')).filter((r) => r.name === '#r'),
        [],
      );
      assert.equal((await store.rooms('carl')).find((r) => r.name === '#r')?.invited, true);
      // Ann joins a public room with Eve: Eve's mention and reaction skip her.
      await store.appendMember({
        ...create,
        room: '#p',
        action: 'create',
        settings: { visibility: 'public', history: 'joined' },
      });
      for (const user of ['ann', 'carl']) {
        await store.appendMember({ ...create, room: '#p', user, by: user, action: 'join' });
      }
      const said = await sendAt(store, 'Eve', '#p', '@ann @carl look');
      assert.deepEqual(said.mentions, ['carl']);
      const asked = await sendAt(store, 'ann', '#p', 'question');
      const reaction = await store.appendReaction({
        target: asked.id,
        from: 'Eve',
        to: '#p',
        emoji: '👍',
        on: true,
        ts: TS,
      });
      assert.ok(reaction);
      assert.ok(!ids(await store.since('ann', 0, 100)).includes(reaction.id));
      assert.ok(ids(await store.since('carl', 0, 100)).includes(reaction.id));
      assert.deepEqual(await store.blocks.blockersIn('#p', 'Eve'), ['ann']);
      assert.ok(ids(await store.since('ann', 0, 100)).includes(said.id), 'room messages stay');
    });
  });
}
