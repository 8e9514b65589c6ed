import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Store } from './store.js';

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;

/**
 * Deleting an account (accounts.ts, "Deleting an account"): what goes in its transaction, the
 * reservation of its nick and look-alikes, and the page walk of its messages. Run by
 * accountsContract, so on every backend.
 */
export function departedContract(name: string, open: () => Promise<Store> | Store): void {
  describe(`deleting an account: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    test('removes the user, credentials, push subscriptions and notify state', async () => {
      const { accounts } = store;
      assert.equal(await accounts.createUser('mary', 'h', NOW), true);
      assert.equal(await accounts.createUser('john', 'h', NOW), true);
      for (const nick of ['mary', 'john']) {
        await accounts.addCredential(`hash-${nick}`, {
          kind: 'session',
          id: `s-${nick}`,
          nick,
          label: '',
          created: NOW,
          expires: 0,
        });
        await store.push.subscribe({
          nick,
          session: `s-${nick}`,
          endpoint: `https://push.example/${nick}`,
          p256dh: 'k',
          auth: 'a',
          created: NOW,
        });
        await store.notify.setLevel(nick, 'all', 'none');
      }
      assert.equal(await accounts.created('mary'), NOW);
      assert.equal(await accounts.created('Mary'), undefined);
      assert.equal(await accounts.deleteUser('Mary', NOW + DAY, NOW), false, 'exact nick only');
      assert.equal(await accounts.deleteUser('mary', NOW + DAY, NOW), true);
      assert.equal(await accounts.deleteUser('mary', NOW + DAY, NOW), false, 'once');
      assert.equal(await accounts.passwordHash('mary'), undefined);
      assert.equal(await accounts.registration('mary'), undefined);
      assert.equal(await accounts.created('mary'), undefined);
      assert.equal(await accounts.credential('hash-mary', NOW), undefined);
      assert.deepEqual(await store.push.subscriptions(['mary']), []);
      assert.equal((await store.notify.levels('mary')).size, 0);
      // Nobody else's.
      assert.ok(await accounts.credential('hash-john', NOW));
      assert.equal((await store.push.subscriptions(['john'])).length, 1);
      assert.equal((await store.notify.levels('john')).size, 1);
    });

    test('reserves the nick and its look-alikes until the given time', async () => {
      const { accounts } = store;
      await accounts.createUser('alice', 'h', NOW);
      await accounts.deleteUser('alice', NOW + DAY, NOW);
      for (const nick of ['alice', 'ALICE', '\u0430lice']) {
        assert.equal(await accounts.createUser(nick, 'h', NOW + 1), false, nick);
        assert.equal(await accounts.departed(nick, NOW + 1), 'alice');
      }
      assert.equal(await accounts.departed('bob', NOW + 1), undefined);
      assert.equal(await accounts.departed('alice', NOW + DAY), undefined);
      assert.equal(await accounts.createUser('\u0430lice', 'h', NOW + DAY), true, 'expired');
    });

    test('no reservation when until is not after now', async () => {
      const { accounts } = store;
      await accounts.createUser('bob', 'h', NOW);
      await accounts.deleteUser('bob', NOW, NOW);
      assert.equal(await accounts.createUser('bob', 'h2', NOW), true);
    });

    test('sentMessages pages the undeleted messages a nick sent, oldest first', async () => {
      const ids: number[] = [];
      for (const to of ['all', 'john', 'mary', 'all']) {
        const sent = await store.append({ from: 'mary', to, text: 'x', ts: NOW, offline: false });
        ids.push(sent.message.id);
        await store.append({ from: 'john', to: 'mary', text: 'y', ts: NOW, offline: false });
      }
      await store.appendReceipt({ from: 'mary', to: 'john', upTo: ids[1] as number, ts: NOW });
      await store.appendDelete({ target: ids[2] as number, from: 'mary', to: 'mary', ts: NOW });
      const { accounts } = store;
      assert.deepEqual(await accounts.sentMessages('mary', 0, 2), [ids[0], ids[1]]);
      assert.deepEqual(await accounts.sentMessages('mary', ids[1] as number, 10), [ids[3]]);
      assert.deepEqual(await accounts.sentMessages('nobody', 0, 10), []);
    });
  });
}
