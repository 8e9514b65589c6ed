import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  eventId,
  type LoggedEvent,
  type NewMemberChange,
  type NewReaction,
  type StoredMessage,
} from '../domain/events.js';
import { MAX_REACTION_EMOJI, MAX_REACTION_USERS } from '../domain/reactions.js';
import { code, memberAt, NEWEST, sendAt, TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import type { Store } from './store.js';

/** Twenty-one distinct emoji, one more than MAX_REACTION_EMOJI. */
const EMOJI = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂🤗'];

/** The reactions part of the Store contract (store.ts, Reactions), for every backend. */
export function reactionsContract(name: string, open: StoreFactory): void {
  describe(`Store contract, reactions: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
    });
    afterEach(async () => {
      await store.close();
    });

    const send = (from: string, to: string, text: string) => sendAt(store, from, to, text);
    const member = (room: string, user: string, action: NewMemberChange['action']) =>
      memberAt(store, room, user, action);
    /** `from` reacts to `m` (to: the room, all, or the DM's other party from their side). */
    const react = (m: StoredMessage, from: string, emoji = '👍', on = true) => {
      const to = m.to.startsWith('#') || m.to === 'all' ? m.to : m.from === from ? m.to : m.from;
      const r: NewReaction = { target: m.id, from, to, emoji, on, ts: TS + 1 };
      return store.appendReaction(r);
    };
    const reactions = (events: LoggedEvent[]) =>
      events.flatMap((e) => (e.kind === 'react' ? [e.reaction] : []));

    test('a reaction is logged once: adding it again, or removing none, logs nothing', async () => {
      const m = await send('ann', 'bob', 'hi');
      const added = await react(m, 'bob');
      assert.ok(added);
      assert.deepEqual(added, {
        id: added.id,
        target: m.id,
        from: 'bob',
        to: 'ann',
        emoji: '👍',
        on: true,
        ts: TS + 1,
      });
      assert.ok(added.id > m.id);
      assert.equal(await react(m, 'bob'), null);
      const head = await store.head();
      assert.equal(await react(m, 'ann', '🎉', false), null);
      assert.equal(await store.head(), head, 'no id was drawn');
      const removed = await react(m, 'bob', '👍', false);
      assert.ok(removed && !removed.on && removed.id > added.id);
      assert.equal(await react(m, 'bob', '👍', false), null);
      // Read back from the log as they were returned.
      assert.deepEqual(reactions(await store.log(m.id, 10)), [added, removed]);
      assert.deepEqual(reactions(await store.since('ann', 0, 10)), [added, removed]);
      assert.deepEqual(reactions(await store.since('bob', 0, 10)), [added, removed]);
    });

    test('history counts each emoji in order of its first reaction, users oldest first', async () => {
      const m = await send('ann', 'all', 'vote');
      const plain = await send('ann', 'all', 'no reactions');
      await react(m, 'bob', '🎉');
      await react(m, 'carl', '👍');
      await react(m, 'ann', '🎉');
      await react(m, 'dan', '👍');
      await react(m, 'carl', '👍', false);
      const expected = [
        { emoji: '🎉', count: 2, users: ['bob', 'ann'] },
        { emoji: '👍', count: 1, users: ['dan'] },
      ];
      const [page, other] = await store.history('eve', 'all', NEWEST, 10);
      assert.deepEqual(page?.reactions, expected);
      assert.ok(other && !('reactions' in other), 'absent when none');
      assert.deepEqual((await store.historyAfter('eve', 'all', 0, 10))[0]?.reactions, expected);
      assert.deepEqual(await store.message(m.id), m, 'message() carries no summary');
      assert.deepEqual(await store.message(plain.id), plain);
    });

    test('history names the first users of an emoji and counts them all', async () => {
      const m = await send('ann', 'all', 'popular');
      const users = Array.from({ length: MAX_REACTION_USERS + 5 }, (_, i) => `u${i}`);
      for (const u of users) await react(m, u, '❤️');
      const [summary] = (await store.history('x', 'all', NEWEST, 1))[0]?.reactions ?? [];
      assert.deepEqual(summary, {
        emoji: '❤️',
        count: users.length,
        users: users.slice(0, MAX_REACTION_USERS),
      });
    });

    test(`a message holds at most ${MAX_REACTION_EMOJI} distinct emoji`, async () => {
      const m = await send('ann', 'all', 'full');
      for (const emoji of EMOJI.slice(0, MAX_REACTION_EMOJI))
        assert.ok(await react(m, 'bob', emoji));
      const head = await store.head();
      await assert.rejects(
        react(m, 'carl', EMOJI[MAX_REACTION_EMOJI]),
        code('CHAT_REACTIONS_FULL'),
      );
      assert.equal(await store.head(), head, 'a refused reaction logs nothing');
      // One already there may still be added by others.
      assert.ok(await react(m, 'carl', EMOJI[0]));
      // Once one emoji is gone entirely, a new one fits.
      assert.ok(await react(m, 'bob', EMOJI[1], false));
      assert.ok(await react(m, 'carl', EMOJI[MAX_REACTION_EMOJI]));
      const [page] = await store.history('x', 'all', NEWEST, 1);
      assert.equal(page?.reactions?.length, MAX_REACTION_EMOJI);
    });

    test('the target must be a stored, undeleted message', async () => {
      const m = await send('ann', 'all', 'x');
      const receipt = await store.appendReceipt({ from: 'bob', to: 'ann', upTo: m.id, ts: TS });
      const missing = { ...m, id: receipt.id + 100 };
      await assert.rejects(react(missing, 'bob'), code('CHAT_MESSAGE_NOT_FOUND'));
      await assert.rejects(react({ ...m, id: receipt.id }, 'bob'), code('CHAT_MESSAGE_NOT_FOUND'));
      await store.appendDelete({ target: m.id, from: 'ann', to: 'all', ts: TS });
      await assert.rejects(react(m, 'bob'), code('CHAT_MESSAGE_NOT_FOUND'));
    });

    test("a delete clears the message's reactions", async () => {
      const m = await send('ann', 'all', 'doomed');
      await react(m, 'bob');
      await store.appendDelete({ target: m.id, from: 'ann', to: 'all', ts: TS });
      const [read] = await store.history('bob', 'all', NEWEST, 1);
      assert.ok(read?.deleted && !('reactions' in read));
    });

    test('prune removes the reactions of the messages it removes', async () => {
      const old = await send('ann', 'all', 'old');
      await react(old, 'bob');
      const kept = await send('ann', 'all', 'kept');
      await react(kept, 'bob', '🎉');
      const keep = await store.head();
      await store.prune({ olderThan: 0, keep: keep - kept.id + 1 });
      assert.equal(await store.message(old.id), undefined);
      assert.deepEqual(
        (await store.history('x', 'all', NEWEST, 10)).map((r) => [r.id, r.reactions]),
        [[kept.id, [{ emoji: '🎉', count: 1, users: ['bob'] }]]],
      );
      // A message stored again under the same id is impossible (ids are never reused), but a
      // pruned message's rows must not linger either: a new reaction to it is refused.
      await assert.rejects(react(old, 'carl'), code('CHAT_MESSAGE_NOT_FOUND'));
    });

    test('only the two parties of a DM see its reactions, not a third user', async () => {
      const m = await send('ann', 'bob', 'private');
      const byBob = await react(m, 'bob');
      const byAnn = await react(m, 'ann', '🎉');
      assert.ok(byBob && byAnn);
      assert.equal(byBob.to, 'ann');
      assert.equal(byAnn.to, 'bob');
      assert.deepEqual(reactions(await store.since('ann', 0, 10)), [byBob, byAnn]);
      assert.deepEqual(reactions(await store.since('bob', 0, 10)), [byBob, byAnn]);
      assert.deepEqual(await store.since('carl', 0, 10), []);
    });

    test('a room member sees a reaction only through a span that covers its target', async () => {
      await member('#r', 'ann', 'create');
      const m = await send('ann', '#r', 'before bob');
      await member('#r', 'bob', 'join');
      const later = await send('ann', '#r', 'after bob');
      const onOld = await react(m, 'ann');
      const onNew = await react(later, 'ann');
      assert.ok(onOld && onNew);
      assert.deepEqual(reactions(await store.since('ann', 0, 20)), [onOld, onNew]);
      assert.deepEqual(reactions(await store.since('bob', 0, 20)), [onNew]);
      assert.deepEqual(reactions(await store.since('carl', 0, 20)), []);
    });

    test('a nick registered after the target does not see reactions to it', async () => {
      const early = await send('mary', 'john', 'for john?');
      assert.equal(await store.accounts.createUser('john', 'h', TS), true);
      const later = await send('mary', 'john', 'for john');
      const onEarly = await react(early, 'mary');
      const onLater = await react(later, 'mary');
      assert.ok(onEarly && onLater);
      assert.deepEqual((await store.since('john', 0, 20)).map(eventId), [later.id, onLater.id]);
      assert.deepEqual(reactions(await store.since('mary', 0, 20)), [onEarly, onLater]);
    });
  });
}
