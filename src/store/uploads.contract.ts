import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { NewMessage, StoredMessage } from '../domain/events.js';
import { code, memberAt, NEWEST, sendAt, TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import type { Store } from './store.js';
import { attachmentOf, type NewUpload } from './uploads-store.js';

const QUOTA = 1_000_000;
const key = (c: string): string => c.repeat(64);

/** An unsent upload `id` of `owner`, with its own blob key unless `over` names one. */
const upload = (id: string, owner: string, over: Partial<NewUpload> = {}): NewUpload => ({
  id,
  owner,
  name: `${id}.png`,
  size: 100,
  type: 'image/png',
  width: 4,
  height: 3,
  blob: key(id[0] ?? '0'),
  thumb: key(String.fromCharCode((id.charCodeAt(0) || 48) + 1)),
  created: TS,
  ...over,
});

/** The uploads part of the Store contract (uploads-store.ts, store.ts), for every backend. */
export function uploadsContract(name: string, open: StoreFactory): void {
  describe(`Store contract, uploads: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
    });
    afterEach(async () => {
      await store.close();
    });

    const send = (from: string, to: string, attach: string[], over: Partial<NewMessage> = {}) =>
      sendAt(store, from, to, 'look', { attach, ...over });
    const readers = async (id: string, nicks: string[]): Promise<string[]> => {
      const out: string[] = [];
      for (const nick of nicks) if (await store.uploads.readable(nick, id)) out.push(nick);
      return out;
    };

    test('an unsent upload is its owner’s alone; sent, it rides the message everywhere', async () => {
      const up = upload('a1', 'ann');
      await store.uploads.add(up, QUOTA);
      assert.deepEqual(await readers('a1', ['ann', 'bob', 'cat']), ['ann']);
      const got = await store.uploads.readable('ann', 'a1');
      assert.deepEqual(got, { ...up });
      const m = await send('ann', 'bob', ['a1'], { offline: true });
      assert.deepEqual(m.attachments, [attachmentOf(up)]);
      assert.ok(!('attach' in m));
      assert.deepEqual(await store.message(m.id), m);
      assert.deepEqual(await store.history('bob', 'ann', NEWEST, 10), [m]);
      assert.deepEqual(await store.log(0, 10), [{ kind: 'message', message: m }]);
      assert.deepEqual(
        (await store.since('bob', 0, 10)).map((e) => e.kind === 'message' && e.message),
        [m],
      );
      assert.deepEqual(await store.takeOffline('bob'), [m]);
      assert.deepEqual(await readers('a1', ['ann', 'bob', 'cat']), ['ann', 'bob']);
      assert.equal((await store.uploads.readable('bob', 'a1'))?.message, m.id);
      assert.equal(await store.uploads.readable('bob', 'nope'), undefined);
    });

    test('attachments keep their order; a message without has no attachments key', async () => {
      await store.uploads.add(upload('b1', 'ann'), QUOTA);
      await store.uploads.add(upload('c1', 'ann', { type: 'application/pdf' }), QUOTA);
      const m = await send('ann', 'all', ['c1', 'b1']);
      assert.deepEqual(
        m.attachments?.map((a) => a.id),
        ['c1', 'b1'],
      );
      const plain = await sendAt(store, 'ann', 'all', 'plain');
      assert.ok(!('attachments' in plain));
      assert.deepEqual(await readers('c1', ['ann', 'bob', 'zed']), ['ann', 'bob', 'zed']);
    });

    test('only the sender’s own unsent uploads, each once, can be attached', async () => {
      await store.uploads.add(upload('a1', 'ann'), QUOTA);
      await store.uploads.add(upload('b1', 'bob'), QUOTA);
      const head = await store.head();
      for (const attach of [['b1'], ['zz'], ['a1', 'a1'], ['a1', 'b1']]) {
        await assert.rejects(send('ann', 'bob', attach), code('UPLOAD_UNUSABLE'));
      }
      assert.equal(await store.head(), head);
      const m = await send('ann', 'bob', ['a1'], { clientId: 'k1' });
      // Sent once: a second message cannot carry it, a retry of the first returns the first.
      await assert.rejects(send('ann', 'cat', ['a1']), code('UPLOAD_UNUSABLE'));
      const again = await store.append({
        from: 'ann',
        to: 'bob',
        text: 'look',
        ts: TS,
        offline: false,
        clientId: 'k1',
        attach: ['a1'],
      });
      assert.equal(again.created, false);
      assert.deepEqual(again.message, m);
      assert.equal(await store.uploads.discard('ann', 'a1'), false);
    });

    test('a quota counts every stored upload of the owner', async () => {
      await store.uploads.add(upload('a1', 'ann', { size: 600 }), 1000);
      await assert.rejects(
        store.uploads.add(upload('b1', 'ann', { size: 401 }), 1000),
        code('UPLOAD_QUOTA_EXCEEDED'),
      );
      await store.uploads.add(upload('c1', 'bob', { size: 900 }), 1000);
      await store.uploads.add(upload('d1', 'ann', { size: 400 }), 1000);
      assert.equal(await store.uploads.usage('ann'), 1000);
      await send('ann', 'bob', ['a1']);
      assert.equal(await store.uploads.usage('ann'), 1000);
      assert.ok(await store.uploads.discard('ann', 'd1'));
      assert.equal(await store.uploads.usage('ann'), 600);
    });

    test('a room file: members now whose span covers it; not before joining, not after leaving', async () => {
      await memberAt(store, '#r', 'ann', 'create');
      await memberAt(store, '#r', 'bob', 'join');
      await memberAt(store, '#r', 'dan', 'join');
      await store.uploads.add(upload('a1', 'ann'), QUOTA);
      await send('ann', '#r', ['a1']);
      await memberAt(store, '#r', 'cat', 'join');
      await memberAt(store, '#r', 'dan', 'leave');
      assert.deepEqual(await readers('a1', ['ann', 'bob', 'cat', 'dan', 'eve']), ['ann', 'bob']);
    });

    test('a history-all room shows its files to every member of its current life', async () => {
      await store.appendMember({
        room: '#h',
        user: 'ann',
        by: 'ann',
        action: 'create',
        ts: TS,
        bigRoom: 100,
        settings: { visibility: 'public', history: 'all' },
      });
      await store.uploads.add(upload('a1', 'ann'), QUOTA);
      await send('ann', '#h', ['a1']);
      await memberAt(store, '#h', 'cat', 'join');
      assert.deepEqual(await readers('a1', ['ann', 'cat', 'eve']), ['ann', 'cat']);
      // The room ends; a new life of the name does not bring the old file back.
      await memberAt(store, '#h', 'cat', 'leave');
      await memberAt(store, '#h', 'ann', 'leave');
      await memberAt(store, '#h', 'cat', 'create');
      assert.deepEqual(await readers('a1', ['ann', 'cat']), []);
      // Its files went with the room: nobody could ever see them again.
      assert.equal(await store.uploads.usage('ann'), 0);
      assert.deepEqual((await store.uploads.garbage(10)).sort(), [key('a'), key('b')]);
    });

    test('a direct message’s file is not its recipient’s from before they registered', async () => {
      await store.uploads.add(upload('a1', 'ann'), QUOTA);
      await send('ann', 'bob', ['a1']);
      assert.ok(await store.accounts.createUser('bob', 'h', TS));
      assert.deepEqual(await readers('a1', ['ann', 'bob']), ['ann']);
    });

    test('deleting the message takes its files; their blobs become garbage', async () => {
      await store.uploads.add(upload('a1', 'ann'), QUOTA);
      const m: StoredMessage = await send('ann', 'bob', ['a1']);
      assert.deepEqual(await store.uploads.garbage(10), []);
      await store.appendDelete({ target: m.id, from: 'ann', to: 'bob', ts: TS + 1 });
      assert.deepEqual(await readers('a1', ['ann', 'bob']), []);
      const [read] = await store.history('bob', 'ann', NEWEST, 10);
      assert.ok(read && !('attachments' in read));
      assert.deepEqual((await store.uploads.garbage(10)).sort(), [key('a'), key('b')]);
      // Dated TS + 1 (the delete): a collection that looked at TS + 1 does not forget it.
      await store.uploads.forget([key('a')], TS + 1);
      assert.deepEqual((await store.uploads.garbage(10)).sort(), [key('a'), key('b')]);
      await store.uploads.forget([key('a')], TS + 2);
      assert.deepEqual(await store.uploads.garbage(10), [key('b')]);
      assert.equal(await store.uploads.usage('ann'), 0);
    });

    test('bytes dropped again while listed stay listed past a collection that looked before', async () => {
      await store.uploads.add(upload('a1', 'ann', { thumb: undefined }), QUOTA);
      const first = await send('ann', 'bob', ['a1']);
      await store.appendDelete({ target: first.id, from: 'ann', to: 'bob', ts: TS + 1 });
      assert.deepEqual(await store.uploads.garbage(10), [key('a')]);
      // A collector looked at TS + 5 and deleted the bytes; meanwhile the same bytes were
      // uploaded again and that message deleted at a later time.
      await store.uploads.add(upload('a2', 'ann', { thumb: undefined }), QUOTA);
      const second = await send('ann', 'bob', ['a2']);
      await store.appendDelete({ target: second.id, from: 'ann', to: 'bob', ts: TS + 9 });
      await store.uploads.forget([key('a')], TS + 5);
      assert.deepEqual(await store.uploads.garbage(10), [key('a')], 'still to collect');
    });

    test('a blob another upload still refers to is not garbage', async () => {
      await store.uploads.add(upload('a1', 'ann', { thumb: undefined }), QUOTA);
      await store.uploads.add(upload('a2', 'bob', { thumb: undefined }), QUOTA);
      assert.ok(await store.uploads.discard('ann', 'a1'));
      assert.equal(await store.uploads.discard('ann', 'a2'), false);
      assert.deepEqual(await store.uploads.garbage(10), []);
      assert.ok(await store.uploads.discard('bob', 'a2'));
      assert.deepEqual(await store.uploads.garbage(10), [key('a')]);
    });

    test('expire removes unsent uploads created before the bound, never sent ones', async () => {
      await store.uploads.add(upload('a1', 'ann', { created: TS - 10 }), QUOTA);
      await store.uploads.add(upload('b1', 'ann', { created: TS - 10 }), QUOTA);
      await store.uploads.add(upload('c1', 'ann', { created: TS }), QUOTA);
      await send('ann', 'all', ['b1']);
      assert.equal(await store.uploads.expire(TS - 5), 1);
      assert.deepEqual(await readers('a1', ['ann']), []);
      assert.deepEqual(await readers('b1', ['ann']), ['ann']);
      assert.deepEqual(await readers('c1', ['ann']), ['ann']);
      // a1's thumbnail key is b1's blob key, which b1 still refers to.
      assert.deepEqual(await store.uploads.garbage(10), [key('a')]);
    });

    test('retention takes the files of the messages it prunes', async () => {
      await store.uploads.add(upload('a1', 'ann'), QUOTA);
      await send('ann', 'all', ['a1']);
      await sendAt(store, 'ann', 'all', 'newer');
      assert.ok((await store.prune({ olderThan: 0, keep: 1 })) >= 1);
      assert.deepEqual(await readers('a1', ['ann', 'bob']), []);
      assert.deepEqual((await store.uploads.garbage(10)).sort(), [key('a'), key('b')]);
    });
  });
}
