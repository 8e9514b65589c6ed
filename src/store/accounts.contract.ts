import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { AccountStore, Credential } from './accounts.js';
import { departedContract } from './departed.contract.js';
import { registrationContract } from './registration.contract.js';
import type { Store } from './store.js';

/** How a backend's test file hands the suite a fresh store, whose `accounts` are tested. */
export type AccountsFactory = () => Promise<Store> | Store;

const NOW = 1_700_000_000_000;

const cred = (over: Partial<Credential> = {}): Credential => ({
  kind: 'session',
  id: 'id-1',
  nick: 'Mary',
  label: '',
  created: NOW,
  expires: 0,
  ...over,
});

/** The AccountStore contract (accounts.ts), run by every backend's *-store.test.ts. */
export function accountsContract(name: string, open: AccountsFactory): void {
  describe(`AccountStore contract: ${name}`, () => {
    let store: Store;
    let accounts: AccountStore;
    beforeEach(async () => {
      store = await open();
      accounts = store.accounts;
    });
    afterEach(async () => {
      await store.close();
    });

    describe('users', () => {
      test('canonicalNick finds an account in any ASCII case, as registered', async () => {
        assert.equal(await accounts.createUser('MaRy', 'h1', NOW), true);
        assert.equal(await accounts.canonicalNick('mary'), 'MaRy');
        assert.equal(await accounts.canonicalNick('MARY'), 'MaRy');
        assert.equal(await accounts.canonicalNick('MaRy'), 'MaRy');
        assert.equal(await accounts.canonicalNick('marie'), undefined);
        assert.equal(await accounts.passwordHash('mary'), undefined);
      });

      test('a nick is unique regardless of ASCII letter case', async () => {
        assert.equal(await accounts.createUser('Mary', 'h1', NOW), true);
        assert.equal(await accounts.createUser('mary', 'h2', NOW), false);
        assert.equal(await accounts.createUser('MARY', 'h3', NOW), false);
        assert.equal(await accounts.createUser('Mary', 'h4', NOW), false);
        assert.equal(await accounts.passwordHash('Mary'), 'h1');
        assert.equal(await accounts.createUser('Marie', 'h5', NOW), true);
      });

      test('passwordHash finds only the exact nick', async () => {
        await accounts.createUser('Mary', 'h1', NOW);
        assert.equal(await accounts.passwordHash('mary'), undefined);
        assert.equal(await accounts.passwordHash('nobody'), undefined);
        await accounts.createUser('Jöhn', 'h2', NOW);
        assert.equal(await accounts.passwordHash('Jöhn'), 'h2');
        assert.equal(await accounts.passwordHash('jöhn'), undefined);
      });

      test('a nick that looks like a registered one is refused', async () => {
        assert.equal(await accounts.createUser('alice', 'h1', NOW), true);
        for (const nick of [
          '\u0430lice',
          '\uFF41\uFF4C\uFF49\uFF43\uFF45',
          'ali\u034Fce',
          'ALICE',
        ]) {
          assert.equal(await accounts.createUser(nick, 'h2', NOW), false, JSON.stringify(nick));
          assert.equal(await accounts.passwordHash(nick), undefined, JSON.stringify(nick));
          assert.equal(await accounts.lookAlike(nick), 'alice', JSON.stringify(nick));
        }
        assert.equal(await accounts.lookAlike('bob'), undefined);
        assert.equal(await accounts.createUser('mallory', 'h3', NOW), true);
        assert.equal(await accounts.createUser('rnallory', 'h4', NOW), false);
        assert.equal(await accounts.passwordHash('alice'), 'h1');
      });

      test('a look-alike written in capitals is refused', async () => {
        assert.equal(await accounts.createUser('BOB', 'h1', NOW), true);
        assert.equal(await accounts.createUser('MAX', 'h1', NOW), true);
        for (const [nick, like] of [
          ['BO\u0412', 'BOB'], // Cyrillic В
          ['\u0412OB', 'BOB'],
          ['\u0392\u039F\u0392', 'BOB'], // Greek
          ['\u13F4O\u13F4', 'BOB'], // Cherokee
          ['\u039C\u0391\u03A7', 'MAX'],
          ['\u041C\u0410\u0425', 'MAX'],
        ] as const) {
          assert.equal(await accounts.createUser(nick, 'h2', NOW), false, JSON.stringify(nick));
          assert.equal(await accounts.lookAlike(nick), like, JSON.stringify(nick));
        }
        assert.equal(await accounts.createUser('ali', 'h3', NOW), true);
        assert.equal(await accounts.createUser('all', 'h3', NOW), true);
        assert.equal(await accounts.createUser('Ian', 'h3', NOW), true);
        assert.equal(await accounts.createUser('lan', 'h3', NOW), true);
      });

      test('of concurrent look-alike registrations, exactly one succeeds', async () => {
        const nicks = ['bob', 'b0b', 'BOB', '\uFF42\uFF4F\uFF42', 'b\u043Eb'];
        const created = await Promise.all(nicks.map((n) => accounts.createUser(n, 'h', NOW)));
        assert.equal(created.filter(Boolean).length, 1, JSON.stringify(created));
        const winner = nicks[created.indexOf(true)] as string;
        assert.equal(await accounts.lookAlike('bob'), winner);
      });

      test('setPasswordHash replaces the hash of that user only', async () => {
        await accounts.createUser('Mary', 'h1', NOW);
        await accounts.createUser('John', 'j1', NOW);
        await accounts.setPasswordHash('Mary', 'h2');
        assert.equal(await accounts.passwordHash('Mary'), 'h2');
        assert.equal(await accounts.passwordHash('John'), 'j1');
      });
    });

    describe('credentials', () => {
      test('a credential is found by its secret hash until it expires', async () => {
        const forever = cred({ id: 'forever' });
        const brief = cred({ id: 'brief', kind: 'ticket', expires: NOW + 1000 });
        await accounts.addCredential('s-forever', forever);
        await accounts.addCredential('s-brief', brief);
        assert.deepEqual(await accounts.credential('s-forever', NOW * 2), forever);
        assert.deepEqual(await accounts.credential('s-brief', NOW), brief);
        // `expires` is the last ms at which it works.
        assert.deepEqual(await accounts.credential('s-brief', NOW + 1000), brief);
        assert.equal(await accounts.credential('s-brief', NOW + 1001), undefined);
        assert.equal(await accounts.credential('s-unknown', NOW), undefined);
      });

      test('a second credential with the same secret hash or id is refused', async () => {
        await accounts.addCredential('s1', cred({ id: 'a' }));
        await assert.rejects(accounts.addCredential('s1', cred({ id: 'b' })));
        await assert.rejects(accounts.addCredential('s2', cred({ id: 'a' })));
        assert.deepEqual(await accounts.credentials('Mary', 'session', NOW), [cred({ id: 'a' })]);
      });

      test('takeTicket hands a credential out once, even to concurrent callers', async () => {
        const ticket = cred({ kind: 'ticket', expires: NOW + 1000 });
        await accounts.addCredential('s1', ticket);
        const taken = await Promise.all([1, 2, 3].map(() => accounts.takeTicket('s1', NOW)));
        assert.deepEqual(
          taken.filter((c) => c !== undefined),
          [ticket],
        );
        assert.equal(await accounts.credential('s1', NOW), undefined);
        assert.equal(await accounts.takeTicket('s1', NOW), undefined);
      });

      test('takeTicket never takes, returns or deletes a session or a token', async () => {
        const session = cred({ id: 'session' });
        const token = cred({ id: 'token', kind: 'token' });
        await accounts.addCredential('s-session', session);
        await accounts.addCredential('s-token', token);
        assert.equal(await accounts.takeTicket('s-session', NOW), undefined);
        assert.equal(await accounts.takeTicket('s-token', NOW), undefined);
        assert.deepEqual(await accounts.credential('s-session', NOW), session);
        assert.deepEqual(await accounts.credential('s-token', NOW), token);
      });

      test('takeTicket does not return an expired credential', async () => {
        await accounts.addCredential('s1', cred({ kind: 'ticket', expires: NOW }));
        assert.equal(await accounts.takeTicket('s1', NOW + 1), undefined);
        assert.equal(await accounts.takeTicket('s1', NOW), undefined);
      });

      test('credentials lists one user and kind, oldest first, without expired ones', async () => {
        const newer = cred({ id: 'newer', created: NOW + 5 });
        const older = cred({ id: 'older', created: NOW, label: 'laptop' });
        const tie = cred({ id: 'tie', created: NOW });
        await accounts.addCredential('s1', newer);
        await accounts.addCredential('s2', older);
        await accounts.addCredential('s3', tie);
        await accounts.addCredential('s4', cred({ id: 'expired', expires: NOW - 1 }));
        await accounts.addCredential('s5', cred({ id: 'token', kind: 'token' }));
        await accounts.addCredential('s6', cred({ id: 'other', nick: 'John' }));
        await accounts.addCredential('s7', cred({ id: 'case', nick: 'mary' }));
        assert.deepEqual(await accounts.credentials('Mary', 'session', NOW), [older, tie, newer]);
        assert.deepEqual(
          (await accounts.credentials('Mary', 'token', NOW)).map((c) => c.id),
          ['token'],
        );
        assert.deepEqual(await accounts.credentials('Nobody', 'session', NOW), []);
      });

      test('revoke deletes only a credential the nick owns', async () => {
        await accounts.addCredential('s1', cred({ id: 'mine' }));
        assert.equal(await accounts.revoke('John', 'mine'), false);
        assert.equal(await accounts.revoke('mary', 'mine'), false);
        assert.ok(await accounts.credential('s1', NOW));
        assert.equal(await accounts.revoke('Mary', 'mine'), true);
        assert.equal(await accounts.credential('s1', NOW), undefined);
        assert.equal(await accounts.revoke('Mary', 'mine'), false);
      });

      test('revokeAll deletes one user and kind, except the one named', async () => {
        for (const id of ['a', 'b', 'c']) await accounts.addCredential(`s-${id}`, cred({ id }));
        await accounts.addCredential('s-t', cred({ id: 't', kind: 'token' }));
        await accounts.addCredential('s-j', cred({ id: 'j', nick: 'John' }));
        assert.equal(await accounts.revokeAll('Mary', 'session', 'b'), 2);
        assert.deepEqual(
          (await accounts.credentials('Mary', 'session', NOW)).map((c) => c.id),
          ['b'],
        );
        assert.equal(await accounts.revokeAll('Mary', 'session'), 1);
        assert.deepEqual(await accounts.credentials('Mary', 'session', NOW), []);
        assert.equal((await accounts.credentials('Mary', 'token', NOW)).length, 1);
        assert.equal((await accounts.credentials('John', 'session', NOW)).length, 1);
      });

      test('pruneCredentials deletes those that expired before now', async () => {
        await accounts.addCredential('s1', cred({ id: 'gone', expires: NOW - 1 }));
        await accounts.addCredential('s2', cred({ id: 'edge', expires: NOW }));
        await accounts.addCredential('s3', cred({ id: 'forever', expires: 0 }));
        assert.equal(await accounts.pruneCredentials(NOW), 1);
        assert.equal(await accounts.pruneCredentials(NOW), 0);
        assert.ok(await accounts.credential('s2', NOW));
        assert.equal(await accounts.pruneCredentials(NOW + 1), 1);
        assert.ok(await accounts.credential('s3', NOW * 2));
        // Gone for good, even when asked about with an earlier clock.
        assert.equal(await accounts.credential('s1', 0), undefined);
      });
    });

    test('a push subscription ends with the credential that made it, however that goes', async () => {
      const subscribed = async (id: string) =>
        store.push.subscribe({
          endpoint: `https://push.example/${id}`,
          p256dh: 'k',
          auth: 'a',
          nick: 'Mary',
          session: id,
          created: NOW,
        });
      const left = async () =>
        (await store.push.subscriptions(['Mary'])).map((s) => s.session).sort();
      await accounts.setAuthMode('accounts');
      await accounts.addCredential('s1', cred({ id: 'revoked' }));
      await accounts.addCredential('s2', cred({ id: 'others', kind: 'token' }));
      await accounts.addCredential('s3', cred({ id: 'expired', expires: NOW - 1 }));
      await accounts.addCredential('s4', cred({ id: 'kept' }));
      for (const id of ['revoked', 'others', 'expired', 'kept']) await subscribed(id);
      assert.equal(await accounts.revoke('Mary', 'revoked'), true);
      assert.deepEqual(await left(), ['expired', 'kept', 'others']);
      assert.equal(await accounts.revokeAll('Mary', 'token'), 1);
      assert.deepEqual(await left(), ['expired', 'kept']);
      assert.equal(await accounts.pruneCredentials(NOW), 1);
      assert.deepEqual(await left(), ['kept']);
      // The other mode's nicks are other people: every subscription goes with every credential.
      await accounts.setAuthMode('open');
      assert.deepEqual(await left(), []);
    });

    test('changing the auth mode deletes every credential; the same mode keeps them', async () => {
      assert.equal(await accounts.authMode(), undefined);
      assert.equal(await accounts.setAuthMode('open'), 0);
      assert.equal(await accounts.authMode(), 'open');
      await accounts.addCredential('s1', cred({ id: 'a' }));
      await accounts.addCredential('s2', cred({ id: 'b', kind: 'token' }));
      assert.equal(await accounts.setAuthMode('open'), 0);
      assert.ok(await accounts.credential('s1', NOW));
      assert.equal(await accounts.setAuthMode('accounts'), 2);
      assert.equal(await accounts.authMode(), 'accounts');
      assert.equal(await accounts.credential('s1', NOW), undefined);
      assert.equal(await accounts.credential('s2', NOW), undefined);
      await accounts.addCredential('s3', cred({ id: 'c' }));
      assert.equal(await accounts.setAuthMode('accounts'), 0);
      assert.equal(await accounts.setAuthMode('open'), 1);
    });
  });
  registrationContract(name, open);
  departedContract(name, open);
}
