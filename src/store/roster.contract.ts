import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import type { Store } from './store.js';

/** The RosterStore contract (roster-store.ts), run on every backend by store.contract.ts. */
export function rosterContract(name: string, open: StoreFactory): void {
  describe(`RosterStore contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
      for (const nick of ['Ann', 'bob']) {
        assert.ok(await store.accounts.createUser(nick, 'h', TS + nick.length));
      }
    });
    afterEach(async () => {
      await store.close();
    });

    test('details: creation, no role, never seen, no sanctions; unknown nicks are left out', async () => {
      const found = await store.roster.details(['Ann', 'bob', 'nobody'], TS);
      assert.deepEqual(
        found.sort((a, b) => a.nick.localeCompare(b.nick)),
        [
          { nick: 'Ann', created: TS + 3, admin: false, lastSeen: null, ban: null, mute: null },
          { nick: 'bob', created: TS + 3, admin: false, lastSeen: null, ban: null, mute: null },
        ],
      );
      assert.deepEqual(await store.roster.details([], TS), []);
    });

    test('seen moves last_seen forward only, for the accounts named', async () => {
      await store.roster.seen(['Ann', 'nobody'], TS + 100);
      await store.roster.seen(['Ann'], TS + 50);
      const [ann] = await store.roster.details(['Ann'], TS);
      assert.equal(ann?.lastSeen, TS + 100);
      const [bob] = await store.roster.details(['bob'], TS);
      assert.equal(bob?.lastSeen, null);
      await store.roster.seen([], TS + 200);
    });
  });
}
