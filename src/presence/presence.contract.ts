import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Presence } from './presence.js';

/** The Presence contract (presence.ts), run by every backend's *-presence.test.ts. */
export function presenceContract(name: string, open: () => Promise<Presence> | Presence): void {
  describe(`Presence contract: ${name}`, () => {
    let presence: Presence;
    let offline: string[];
    beforeEach(async () => {
      presence = await open();
      offline = [];
      presence.onOffline((nick) => offline.push(nick));
    });
    afterEach(async () => {
      await presence.close();
    });

    test('connect returns who was online before, in order of arrival', async () => {
      assert.deepEqual(await presence.connect('john'), { online: [], first: true, tabs: 0 });
      assert.deepEqual(await presence.connect('mary'), { online: ['john'], first: true, tabs: 0 });
      // A second tab: the user itself is already in the list.
      assert.deepEqual(await presence.connect('john'), {
        online: ['john', 'mary'],
        first: false,
        tabs: 1,
      });
      assert.deepEqual((await presence.connect('bob')).online, ['john', 'mary']);
      assert.deepEqual(await presence.online(), ['john', 'mary', 'bob']);
    });

    test('without grace, the last disconnect takes the user offline before it resolves', async () => {
      await presence.connect('john');
      await presence.connect('john');
      await presence.disconnect('john', 0);
      assert.equal(await presence.isConnected('john'), true);
      assert.deepEqual(offline, []);
      await presence.disconnect('john', 0);
      assert.equal(await presence.isConnected('john'), false);
      assert.deepEqual(offline, ['john']);
      assert.deepEqual(await presence.online(), []);
      await presence.disconnect('john', 0);
      assert.deepEqual(offline, ['john']);
    });

    test('within the grace window a user is online but not connected', async () => {
      await presence.connect('john');
      await presence.connect('mary');
      await presence.disconnect('john', 150);
      assert.equal(await presence.isConnected('john'), false);
      assert.deepEqual(await presence.online(), ['john', 'mary']);
      assert.deepEqual(offline, []);
      await sleep(400);
      assert.deepEqual(offline, ['john']);
      assert.deepEqual(await presence.online(), ['mary']);
    });

    test('coming back within the window is not a first arrival and keeps the place', async () => {
      await presence.connect('john');
      await presence.connect('mary');
      await presence.disconnect('john', 150);
      assert.deepEqual(await presence.connect('john'), {
        online: ['john', 'mary'],
        first: false,
        tabs: 0,
      });
      await sleep(400);
      assert.deepEqual(offline, []);
      assert.equal(await presence.isConnected('john'), true);
    });

    test('a user who comes back after going offline goes to the end of the order', async () => {
      await presence.connect('john');
      await presence.connect('mary');
      await presence.disconnect('john', 0);
      assert.equal((await presence.connect('john')).first, true);
      assert.deepEqual((await presence.connect('bob')).online, ['mary', 'john']);
    });

    test('close cancels grace windows without calling listeners', async () => {
      await presence.connect('john');
      await presence.disconnect('john', 100);
      await presence.close();
      await sleep(250);
      assert.deepEqual(offline, []);
    });

    test('ping resolves on an open presence, counts nothing, and rejects after close', async () => {
      await presence.ping();
      assert.deepEqual(await presence.online(), []);
      await presence.close();
      await assert.rejects(presence.ping());
    });

    test('nicks are compared exactly', async () => {
      await presence.connect('John');
      assert.equal(await presence.isConnected('john'), false);
      assert.equal(await presence.isConnected('John'), true);
    });
  });
}
