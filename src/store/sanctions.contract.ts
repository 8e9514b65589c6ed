import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { NewAuditEntry } from '../domain/audit.js';
import type { Sanction } from '../domain/sanctions.js';
import { TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import type { Store } from './store.js';

const audit = (action: NewAuditEntry['action'], target?: string): NewAuditEntry => ({
  ts: TS,
  actor: 'root',
  action,
  reason: 'spam',
  ...(target !== undefined && { target }),
});
const ban = (over: Partial<Sanction> = {}): Sanction => ({
  nick: 'Ann',
  kind: 'ban',
  since: TS,
  until: 0,
  reason: 'spam',
  by: 'root',
  ...over,
});
const credential = (id: string, kind: 'session' | 'token' | 'ticket') => ({
  kind,
  id,
  nick: 'Ann',
  label: '',
  created: TS,
  expires: 0,
});

/** The SanctionStore contract (sanctions-store.ts), run on every backend by store.contract.ts. */
export function sanctionsContract(name: string, open: StoreFactory): void {
  describe(`SanctionStore contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
      for (const nick of ['Ann', 'bob']) assert.ok(await store.accounts.createUser(nick, 'h', TS));
    });
    afterEach(async () => {
      await store.close();
    });

    test('a ban ends every credential and push subscription, with its audit row', async () => {
      for (const [i, kind] of (['session', 'token', 'ticket'] as const).entries()) {
        await store.accounts.addCredential(`hash${i}`, credential(`c${i}`, kind));
      }
      await store.accounts.addCredential('hashb', { ...credential('cb', 'session'), nick: 'bob' });
      assert.ok(await store.sanctions.impose(ban(), audit('ban', 'Ann')));
      for (const kind of ['session', 'token', 'ticket'] as const) {
        assert.deepEqual(await store.accounts.credentials('Ann', kind, TS), []);
      }
      assert.equal((await store.accounts.credentials('bob', 'session', TS)).length, 1);
      assert.deepEqual(await store.sanctions.status('Ann', TS + 1), [ban()]);
      assert.deepEqual(await store.sanctions.status('bob', TS + 1), []);
      const { entries } = await store.audit.list({ limit: 10 });
      assert.deepEqual(
        entries.map((e) => [e.action, e.actor, e.target, e.reason]),
        [['ban', 'root', 'Ann', 'spam']],
      );
    });

    test('no account, no sanction and no audit row; exactly the nick as registered', async () => {
      assert.equal(await store.sanctions.impose(ban({ nick: 'zed' }), audit('ban', 'zed')), false);
      assert.equal(await store.sanctions.impose(ban({ nick: 'ann' }), audit('ban', 'ann')), false);
      assert.deepEqual((await store.audit.list({ limit: 10 })).entries, []);
    });

    test('a later sanction of a kind replaces the earlier; kinds stand apart', async () => {
      assert.ok(await store.sanctions.impose(ban({ until: TS + 10 }), audit('ban', 'Ann')));
      const mute = ban({ kind: 'mute', until: TS + 60_000, reason: 'loud' });
      assert.ok(await store.sanctions.impose(mute, audit('mute', 'Ann')));
      assert.ok(await store.sanctions.impose(ban({ until: TS + 20, by: 'eve' }), audit('ban')));
      assert.deepEqual(await store.sanctions.status('Ann', TS), [
        ban({ until: TS + 20, by: 'eve' }),
        mute,
      ]);
      // Once expired, it is not in force.
      assert.deepEqual(await store.sanctions.status('Ann', TS + 20), [mute]);
    });

    test('lifting: only one in force is lifted and audited', async () => {
      assert.equal(await store.sanctions.lift('Ann', 'ban', TS, audit('unban', 'Ann')), false);
      assert.ok(await store.sanctions.impose(ban({ until: TS + 10 }), audit('ban', 'Ann')));
      assert.equal(await store.sanctions.lift('Ann', 'ban', TS + 10, audit('unban', 'Ann')), false);
      assert.ok(await store.sanctions.impose(ban(), audit('ban', 'Ann')));
      assert.equal(await store.sanctions.lift('Ann', 'mute', TS, audit('unmute', 'Ann')), false);
      assert.ok(await store.sanctions.lift('Ann', 'ban', TS, audit('unban', 'Ann')));
      assert.deepEqual(await store.sanctions.status('Ann', TS), []);
      const { entries } = await store.audit.list({ limit: 10 });
      assert.deepEqual(
        entries.map((e) => e.action),
        ['unban', 'ban', 'ban'],
      );
    });

    test('address bans: added, listed in force, lifted by id or by network', async () => {
      const a = await store.sanctions.imposeAddress(
        { prefix: '192.0.2.1/32', since: TS, until: 0, reason: 'flood', by: '(cli)' },
        audit('address.ban'),
      );
      const b = await store.sanctions.imposeAddress(
        { prefix: '2001:db8:0:1::/64', since: TS, until: TS + 5, reason: 'x', by: 'root' },
        audit('address.ban'),
      );
      const c = await store.sanctions.imposeAddress(
        { prefix: '192.0.2.1/32', since: TS, until: 0, reason: 'again', by: 'root' },
        audit('address.ban'),
      );
      assert.ok(a && b && c);
      assert.ok(a.id < b.id && b.id < c.id);
      assert.deepEqual(
        (await store.sanctions.addressBans(TS)).map((x) => x.id),
        [a.id, b.id, c.id],
      );
      assert.deepEqual(
        (await store.sanctions.addressBans(TS + 5)).map((x) => x.prefix),
        ['192.0.2.1/32', '192.0.2.1/32'],
      );
      assert.deepEqual(
        await store.sanctions.liftAddress({ id: b.id }, TS + 5, audit('address.unban')),
        [],
      );
      const lifted = await store.sanctions.liftAddress(
        { prefix: '192.0.2.1/32' },
        TS,
        audit('address.unban'),
      );
      assert.deepEqual(lifted.map((x) => x.id).sort(), [a.id, c.id].sort());
      assert.deepEqual(
        (await store.sanctions.addressBans(TS)).map((x) => x.id),
        [b.id],
      );
      const { entries } = await store.audit.list({ limit: 10 });
      assert.deepEqual(
        entries.map((e) => e.action),
        ['address.unban', 'address.unban', 'address.ban', 'address.ban', 'address.ban'],
      );
      assert.equal((entries[4]?.detail as { prefix?: string } | null)?.prefix, '192.0.2.1/32');
    });

    test('an expired address ban is not in force, and goes with the next ban', async () => {
      const old = await store.sanctions.imposeAddress(
        { prefix: '10.0.0.1/32', since: TS, until: TS + 1, reason: '', by: 'root' },
        audit('address.ban'),
      );
      assert.ok(old);
      assert.ok(
        await store.sanctions.imposeAddress(
          { prefix: '192.0.2.9/32', since: TS + 1, until: 0, reason: '', by: 'root' },
          audit('address.ban'),
        ),
      );
      assert.deepEqual(
        (await store.sanctions.addressBans(TS)).map((x) => x.prefix),
        ['192.0.2.9/32'],
      );
    });
  });
}
