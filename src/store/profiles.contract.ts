import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { code, sendAt, TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import type { Store } from './store.js';
import type { NewUpload } from './uploads-store.js';

const QUOTA = 1_000_000;
const key = (c: string): string => c.repeat(64);

/** An unsent image upload `id` of `owner`: blob key from `b`, thumbnail key from `t`. */
const image = (id: string, owner: string, b: string, t: string, over: Partial<NewUpload> = {}) => ({
  id,
  owner,
  name: `${id}.png`,
  size: 100,
  type: 'image/png',
  width: 4,
  height: 3,
  blob: key(b),
  thumb: key(t),
  created: TS,
  ...over,
});

/** The ProfileStore contract (profiles-store.ts), run on every backend by store.contract.ts. */
export function profilesContract(name: string, open: StoreFactory): void {
  describe(`ProfileStore contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
      for (const nick of ['Ann', 'bob', 'Cat', 'dan']) {
        assert.ok(await store.accounts.createUser(nick, 'h', TS + nick.length));
      }
    });
    afterEach(async () => {
      await store.close();
    });

    test('a profile is found in any ASCII case, with the nick as registered', async () => {
      assert.deepEqual(await store.profiles.profile('ann'), {
        nick: 'Ann',
        displayName: null,
        avatar: null,
        registered: TS + 3,
      });
      assert.equal((await store.profiles.profile('ANN'))?.nick, 'Ann');
      assert.equal(await store.profiles.profile('nobody'), undefined);
    });

    test('update changes exactly the registered nick; absent fields stay, null clears', async () => {
      assert.equal(await store.profiles.update('ann', { displayName: 'X' }, TS), undefined);
      assert.equal(await store.profiles.update('zed', { displayName: 'X' }, TS), undefined);
      const set = await store.profiles.update('Ann', { displayName: 'Ánn Ö' }, TS);
      assert.equal(set?.displayName, 'Ánn Ö');
      assert.equal((await store.profiles.update('Ann', {}, TS))?.displayName, 'Ánn Ö');
      assert.equal(
        (await store.profiles.update('Ann', { displayName: null }, TS))?.displayName,
        null,
      );
      assert.equal((await store.profiles.profile('bob'))?.displayName, null);
    });

    test('an avatar takes over an unsent image upload of the user; others are refused', async () => {
      await store.uploads.add(image('a1', 'Ann', '1', '2'), QUOTA);
      await store.uploads.add(image('b1', 'bob', '3', '4'), QUOTA);
      await store.uploads.add(
        image('t1', 'Ann', '5', '6', {
          type: 'text/plain',
          thumb: undefined,
          width: undefined,
          height: undefined,
        }),
        QUOTA,
      );
      await store.uploads.add(image('s1', 'Ann', '7', '8'), QUOTA);
      await sendAt(store, 'Ann', 'all', 'look', { attach: ['s1'] });
      const refused = async (id: string) =>
        assert.rejects(
          store.profiles.update('Ann', { avatar: id, displayName: 'no' }, TS),
          code('UPLOAD_NOT_FOUND'),
        );
      await refused('b1'); // another's
      await refused('t1'); // not an image
      await refused('s1'); // sent
      await refused('zz'); // missing
      assert.equal((await store.profiles.profile('Ann'))?.displayName, null, 'nothing changed');
      assert.ok(await store.uploads.readable('bob', 'b1'));

      const p = await store.profiles.update('Ann', { avatar: 'a1' }, TS);
      assert.deepEqual(p?.avatar, { id: 'a1', key: key('2') });
      // The upload is the avatar now: not an upload any more, nor in the quota.
      assert.equal(await store.uploads.readable('Ann', 'a1'), undefined);
      assert.equal(await store.uploads.discard('Ann', 'a1'), false);
      assert.equal(await store.uploads.usage('Ann'), 200);
      // The full-size blob is garbage; the thumbnail is kept, even past an expiry.
      assert.equal(await store.uploads.expire(TS + 1e12), 2);
      const trash = [key('1'), key('3'), key('4'), key('5')];
      assert.deepEqual((await store.uploads.garbage(10)).sort(), trash.sort());
      // The same id again changes nothing.
      assert.deepEqual(
        (await store.profiles.update('Ann', { avatar: 'a1' }, TS))?.avatar,
        p?.avatar,
      );
    });

    test('a replaced or cleared avatar sends its thumbnail to the garbage list', async () => {
      await store.uploads.add(image('a1', 'Ann', '1', '2'), QUOTA);
      await store.uploads.add(image('a2', 'Ann', '3', '4'), QUOTA);
      await store.profiles.update('Ann', { avatar: 'a1' }, TS);
      await store.profiles.update('Ann', { avatar: 'a2' }, TS);
      assert.deepEqual(
        (await store.uploads.garbage(10)).sort(),
        [key('1'), key('2'), key('3')].sort(),
      );
      await store.uploads.forget([key('1'), key('2'), key('3')], TS + 1);
      await store.profiles.update('Ann', { avatar: null }, TS + 5);
      assert.equal((await store.profiles.profile('Ann'))?.avatar, null);
      assert.deepEqual(await store.uploads.garbage(10), [key('4')]);
    });

    test('a key an avatar holds is not garbage, even when an upload of it went', async () => {
      await store.uploads.add(image('a1', 'Ann', '1', '2'), QUOTA);
      await store.profiles.update('Ann', { avatar: 'a1' }, TS);
      await store.uploads.forget([key('1')], TS + 1);
      // bob uploads the same bytes as Ann's thumbnail, then discards them.
      await store.uploads.add(image('b1', 'bob', '2', '9'), QUOTA);
      assert.ok(await store.uploads.discard('bob', 'b1'));
      assert.deepEqual(await store.uploads.garbage(10), [key('9')]);
    });

    test('the directory pages in nick order and matches nick or name prefixes', async () => {
      await store.profiles.update('dan', { displayName: 'Ánnabel' }, TS);
      await store.profiles.update('Cat', { displayName: 'Zed' }, TS);
      const nicks = async (prefix: string, after = '', limit = 10) =>
        (await store.profiles.directory({ prefix, after, limit })).map((p) => p.nick);
      assert.deepEqual(await nicks(''), ['Ann', 'bob', 'Cat', 'dan']);
      assert.deepEqual(await nicks('', '', 2), ['Ann', 'bob']);
      assert.deepEqual(await nicks('', 'bob', 2), ['Cat', 'dan']);
      assert.deepEqual(await nicks('', 'BOB', 2), ['Cat', 'dan']);
      assert.deepEqual(await nicks('a'), ['Ann']);
      assert.deepEqual(await nicks('C'), ['Cat']);
      assert.deepEqual(await nicks('áN'), ['dan']);
      assert.deepEqual(await nicks('z'), ['Cat']);
      assert.deepEqual(await nicks('x'), []);
      const [dan] = await store.profiles.directory({ prefix: 'd', after: '', limit: 1 });
      assert.equal(dan?.displayName, 'Ánnabel');
    });

    test('remove deletes a profile and sends its avatar to the garbage list', async () => {
      await store.uploads.add(image('a1', 'Ann', '1', '2'), QUOTA);
      await store.profiles.update('Ann', { avatar: 'a1', displayName: 'A' }, TS);
      await store.uploads.forget([key('1')], TS + 1);
      assert.equal(await store.profiles.remove('Ann', TS + 2), true);
      assert.equal(await store.profiles.remove('Ann', TS + 2), false);
      assert.deepEqual(await store.profiles.profile('Ann'), {
        nick: 'Ann',
        displayName: null,
        avatar: null,
        registered: TS + 3,
      });
      assert.deepEqual(await store.uploads.garbage(10), [key('2')]);
    });
  });
}
