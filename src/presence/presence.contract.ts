import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { Presence } from './presence.js';

/** The Presence contract (presence.ts), run by every backend's *-presence.test.ts. */
export function presenceContract(name: string, open: () => Promise<Presence> | Presence): void {
  describe(`Presence contract: ${name}`, () => {
    let presence: Presence;
    beforeEach(async () => {
      presence = await open();
    });

    test('connect returns who was online before, in order of arrival', async () => {
      assert.deepEqual(await presence.connect('john'), []);
      assert.deepEqual(await presence.connect('mary'), ['john']);
      // A second tab: the user itself is already in the list.
      assert.deepEqual(await presence.connect('john'), ['john', 'mary']);
      assert.deepEqual(await presence.connect('bob'), ['john', 'mary']);
    });

    test('disconnect is true only for the last connection of a user', async () => {
      await presence.connect('john');
      await presence.connect('john');
      assert.equal(await presence.disconnect('john'), false);
      assert.equal(await presence.isOnline('john'), true);
      assert.equal(await presence.disconnect('john'), true);
      assert.equal(await presence.isOnline('john'), false);
      assert.equal(await presence.disconnect('john'), false);
    });

    test('a user who comes back goes to the end of the order', async () => {
      await presence.connect('john');
      await presence.connect('mary');
      await presence.disconnect('john');
      await presence.connect('john');
      assert.deepEqual(await presence.connect('bob'), ['mary', 'john']);
    });

    test('nicks are compared exactly', async () => {
      await presence.connect('John');
      assert.equal(await presence.isOnline('john'), false);
      assert.equal(await presence.isOnline('John'), true);
    });
  });
}
