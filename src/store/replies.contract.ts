import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type {
  HistoryMode,
  LoggedEvent,
  NewMemberChange,
  NewMessage,
  StoredMessage,
} from '../domain/events.js';
import { REPLY_PREVIEW_CHARS } from '../domain/replies.js';
import { parseSearch } from '../domain/search.js';
import type { Store } from './store.js';

const TS = 1_700_000_000_000;
const NEWEST = Number.MAX_SAFE_INTEGER;

/**
 * Replies (store.ts, "Replies"): `replyTo` is stored with the message, and every read with a
 * viewer shows the target's preview by the rule of history, or unavailable. Run by
 * storeContract, so on every backend.
 */
export function repliesContract(name: string, open: () => Promise<Store> | Store): void {
  describe(`replies: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    const send = async (
      from: string,
      to: string,
      text: string,
      over: Partial<NewMessage> = {},
    ): Promise<StoredMessage> =>
      (await store.append({ from, to, text, ts: TS, offline: false, ...over })).message;
    const member = async (over: Partial<NewMemberChange>) =>
      store.appendMember({
        room: '#r',
        user: 'mary',
        by: 'mary',
        action: 'create',
        ts: TS,
        bigRoom: 100,
        ...over,
      });
    const room = async (history: HistoryMode) =>
      member({ settings: { visibility: 'public', history } });
    const join = async (user: string) => member({ user, by: user, action: 'join' });
    /** The message `id` in `viewer`'s page of `peer`. */
    const inHistory = async (viewer: string, peer: string, id: number) =>
      (await store.history(viewer, peer, NEWEST, 50)).find((m) => m.id === id);
    const inSince = async (viewer: string, id: number) =>
      messageIn(await store.since(viewer, 0, 100), id);

    test('a reply carries replyTo and, in history and replay, the preview of its target', async () => {
      const target = await send('mary', 'john', 'where shall we meet?');
      const reply = await send('john', 'mary', 'at the station', { replyTo: target.id });
      assert.equal(reply.replyTo, target.id);
      const preview = { id: target.id, from: 'mary', text: 'where shall we meet?', ts: TS };
      for (const viewer of ['mary', 'john']) {
        const peer = viewer === 'mary' ? 'john' : 'mary';
        assert.deepEqual((await inHistory(viewer, peer, reply.id))?.reply, preview, viewer);
        assert.deepEqual((await inSince(viewer, reply.id))?.reply, preview, viewer);
        const after = await store.historyAfter(viewer, peer, target.id, 10);
        assert.deepEqual(after.find((m) => m.id === reply.id)?.reply, preview, viewer);
      }
      // Without a viewer there is no preview; the target itself has none.
      assert.equal((await store.message(reply.id))?.reply, undefined);
      assert.equal((await store.message(reply.id))?.replyTo, target.id);
      assert.equal((await inHistory('mary', 'john', target.id))?.reply, undefined);
      // Search results and the offline mailbox show it too.
      const found = await store.search('mary', {
        ...parseSearch('station'),
        before: NEWEST,
        limit: 5,
      });
      assert.deepEqual(found.messages[0]?.reply, preview);
      const mailed = await send('mary', 'john', 'ok', { replyTo: reply.id, offline: true });
      const [taken] = await store.takeOffline('john');
      assert.equal(taken?.id, mailed.id);
      assert.deepEqual(taken?.reply, {
        id: reply.id,
        from: 'john',
        text: 'at the station',
        ts: TS,
      });
    });

    test('the preview shows the current text of an edited target, and a deleted one is unavailable', async () => {
      const target = await send('mary', 'all', 'first words');
      const reply = await send('john', 'all', 'indeed', { replyTo: target.id });
      await store.appendEdit({
        target: target.id,
        from: 'mary',
        to: 'all',
        text: 'second',
        ts: TS + 5,
      });
      assert.deepEqual((await inHistory('bob', 'all', reply.id))?.reply, {
        id: target.id,
        from: 'mary',
        text: 'second',
        ts: TS,
        edited: TS + 5,
      });
      await store.appendDelete({ target: target.id, from: 'mary', to: 'all', ts: TS + 6 });
      const gone = { id: target.id, unavailable: true };
      assert.deepEqual((await inHistory('bob', 'all', reply.id))?.reply, gone);
      assert.deepEqual((await inSince('bob', reply.id))?.reply, gone);
    });

    test('a pruned target is unavailable', async () => {
      const target = await send('mary', 'all', 'old news');
      await send('mary', 'all', 'filler');
      const reply = await send('john', 'all', 'really?', { replyTo: target.id });
      await store.prune({ olderThan: 0, keep: 2 });
      assert.deepEqual((await inHistory('john', 'all', reply.id))?.reply, {
        id: target.id,
        unavailable: true,
      });
    });

    test('in a history-joined room, a member who joined after the target gets it unavailable', async () => {
      await room('joined');
      await join('john');
      const target = await send('mary', '#r', 'before bob');
      await join('bob');
      const reply = await send('john', '#r', 'answer', { replyTo: target.id });
      const preview = { id: target.id, from: 'mary', text: 'before bob', ts: TS };
      for (const viewer of ['mary', 'john']) {
        assert.deepEqual((await inHistory(viewer, '#r', reply.id))?.reply, preview, viewer);
        assert.deepEqual((await inSince(viewer, reply.id))?.reply, preview, viewer);
      }
      const hidden = { id: target.id, unavailable: true };
      assert.deepEqual((await inHistory('bob', '#r', reply.id))?.reply, hidden);
      assert.deepEqual((await inSince('bob', reply.id))?.reply, hidden);
    });

    test('in a history-all room, every member sees the preview', async () => {
      await room('all');
      const target = await send('mary', '#r', 'for the record');
      await join('bob');
      const reply = await send('mary', '#r', 'see above', { replyTo: target.id });
      assert.equal(textOf(await inHistory('bob', '#r', reply.id)), 'for the record');
      assert.equal(textOf(await inSince('bob', reply.id)), 'for the record');
    });

    test('a target sent to a nick before it registered is unavailable to the account', async () => {
      const early = await send('mary', 'john', 'for whoever is john');
      assert.equal(await store.accounts.createUser('john', 'h', TS), true);
      const reply = await send('mary', 'john', 'did you get it?', { replyTo: early.id });
      assert.equal(textOf(await inHistory('mary', 'john', reply.id)), 'for whoever is john');
      const hidden = { id: early.id, unavailable: true };
      assert.deepEqual((await inHistory('john', 'mary', reply.id))?.reply, hidden);
      assert.deepEqual((await inSince('john', reply.id))?.reply, hidden);
    });

    test('a clientId retry returns the first message with its replyTo unchanged', async () => {
      const one = await send('mary', 'all', 'one');
      const two = await send('mary', 'all', 'two');
      const first = await send('john', 'all', 'reply', { clientId: 'c1', replyTo: one.id });
      const again = await store.append({
        from: 'john',
        to: 'all',
        text: 'reply',
        ts: TS,
        offline: false,
        clientId: 'c1',
        replyTo: two.id,
      });
      assert.equal(again.created, false);
      assert.equal(again.message.id, first.id);
      assert.equal(again.message.replyTo, one.id);
    });

    test('a preview is cut to REPLY_PREVIEW_CHARS code points on a grapheme boundary', async () => {
      // A waving hand with a skin tone is two code points: cut through, it would leave half.
      const long = `${'a'.repeat(REPLY_PREVIEW_CHARS - 1)}\u{1F44B}\u{1F3FD} and more`;
      const target = await send('mary', 'all', long);
      const reply = await send('john', 'all', 'tl;dr', { replyTo: target.id });
      assert.equal(textOf(await inHistory('john', 'all', reply.id)), 'a'.repeat(199));
      const fits = `${'b'.repeat(REPLY_PREVIEW_CHARS - 2)}\u{1F44B}\u{1F3FD}`;
      const whole = await send('mary', 'all', `${fits}!`);
      const reply2 = await send('john', 'all', 'ok', { replyTo: whole.id });
      assert.equal(textOf(await inHistory('john', 'all', reply2.id)), fits);
    });
  });
}

/** The message `id` among `events`, if it is there. */
function messageIn(events: LoggedEvent[], id: number): StoredMessage | undefined {
  for (const e of events) if (e.kind === 'message' && e.message.id === id) return e.message;
  return undefined;
}

/** The text of the preview `message` shows, if it shows one. */
function textOf(message: StoredMessage | undefined): string | undefined {
  const reply = message?.reply;
  return reply && 'text' in reply ? reply.text : undefined;
}
