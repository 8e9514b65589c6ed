import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { hashSecret } from '../auth/secrets.js';
import type { NewAuditEntry } from '../domain/audit.js';
import { ChatError, type ErrorCode } from '../domain/errors.js';
import { MAX_ACTIVE_INVITES, type RegistrationGate } from '../domain/registration.js';
import type { NewInvite } from './registration-store.js';
import type { Store } from './store.js';

const TS = 1_700_000_000_000;
const HOUR = 3_600_000;

const audit = (action: NewAuditEntry['action'], detail = {}): NewAuditEntry => ({
  ts: TS,
  actor: 'root',
  action,
  reason: '',
  detail,
});

const invite = (id: string, over: Partial<NewInvite> = {}): NewInvite => ({
  id,
  codeHash: hashSecret(`code-${id}`),
  createdBy: 'root',
  created: TS,
  expires: TS + HOUR,
  maxUses: 1,
  ...over,
});

const gate = (code?: string): RegistrationGate => ({
  fallback: 'invite',
  ...(code !== undefined && { inviteHash: hashSecret(code) }),
});

const refused = (code: ErrorCode, detail?: RegExp) => (err: unknown) =>
  err instanceof ChatError &&
  err.code === code &&
  (detail === undefined || detail.test(err.message));

/**
 * Who may register (registration-store.ts): the stored mode, invite links, and the gate that
 * AccountStore.createUser checks in its transaction. `again` opens another store on the same
 * database (another process), for registrations that race.
 */
export function registrationStoreContract(
  name: string,
  open: () => Promise<Store> | Store,
  again: (first: Store) => Promise<Store> | Store,
): void {
  describe(`registration store: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    test('the stored mode wins over the fallback, and each change is audited', async () => {
      assert.equal(await store.registration.mode(), undefined);
      // No stored mode: the fallback decides.
      assert.equal(
        await store.accounts.createUser('ann', 'h', TS, { gate: { fallback: 'open' } }),
        true,
      );
      await assert.rejects(
        store.accounts.createUser('bob', 'h', TS, { gate: { fallback: 'closed' } }),
        refused('AUTH_REGISTRATION_CLOSED'),
      );
      await store.registration.setMode('closed', audit('registration', { mode: 'closed' }));
      assert.equal(await store.registration.mode(), 'closed');
      await assert.rejects(
        store.accounts.createUser('bob', 'h', TS, { gate: { fallback: 'open' } }),
        refused('AUTH_REGISTRATION_CLOSED'),
      );
      // Nothing of the refused registration stayed.
      assert.equal(await store.accounts.passwordHash('bob'), undefined);
      // The command line and admins make accounts in any mode.
      assert.equal(await store.accounts.createUser('bob', 'h', TS), true);
      await store.registration.setMode('open', audit('registration', { mode: 'open' }));
      assert.equal(await store.registration.mode(), 'open');
      assert.equal(
        await store.accounts.createUser('cid', 'h', TS, { gate: { fallback: 'closed' } }),
        true,
      );
      const { entries } = await store.audit.list({ limit: 10, action: 'registration' });
      assert.deepEqual(
        entries.map((e) => e.detail),
        [{ mode: 'open' }, { mode: 'closed' }],
      );
    });

    test('invite mode: no invite, unknown, expired, used up and revoked are refused', async () => {
      await assert.rejects(
        store.accounts.createUser('ann', 'h', TS, { gate: gate() }),
        refused('AUTH_INVITE_REQUIRED'),
      );
      await assert.rejects(
        store.accounts.createUser('ann', 'h', TS, { gate: gate('nope') }),
        refused('AUTH_INVITE_INVALID', /no such invite/),
      );
      await store.registration.createInvite(invite('a'), audit('invite.create'));
      await store.registration.createInvite(
        invite('b', { expires: TS - 1 }),
        audit('invite.create'),
      );
      await store.registration.createInvite(invite('c'), audit('invite.create'));
      await assert.rejects(
        store.accounts.createUser('ann', 'h', TS, { gate: gate('code-b') }),
        refused('AUTH_INVITE_INVALID', /expired/),
      );
      // The early check (before the password is hashed) says the same, and writes nothing.
      await assert.rejects(
        store.registration.admits(gate('code-b'), TS),
        refused('AUTH_INVITE_INVALID', /expired/),
      );
      await assert.rejects(store.registration.admits(gate(), TS), refused('AUTH_INVITE_REQUIRED'));
      await store.registration.admits(gate('code-a'), TS);
      await store.registration.admits({ fallback: 'open' }, TS);
      assert.equal((await store.registration.invite('a'))?.uses, 0);
      assert.equal(await store.accounts.createUser('ann', 'h', TS, { gate: gate('code-a') }), true);
      assert.equal((await store.registration.invite('a'))?.uses, 1);
      assert.deepEqual(await store.registration.inviteUses('a'), [{ nick: 'ann', ts: TS }]);
      assert.deepEqual(await store.registration.inviteUses('c'), []);
      await assert.rejects(
        store.accounts.createUser('bob', 'h', TS, { gate: gate('code-a') }),
        refused('AUTH_INVITE_INVALID', /used/),
      );
      assert.equal(await store.registration.revokeInvite('c', audit('invite.revoke')), true);
      assert.equal(await store.registration.revokeInvite('c', audit('invite.revoke')), false);
      assert.equal(await store.registration.revokeInvite('zz', audit('invite.revoke')), false);
      await assert.rejects(
        store.accounts.createUser('bob', 'h', TS, { gate: gate('code-c') }),
        refused('AUTH_INVITE_INVALID', /revoked/),
      );
      assert.equal((await store.registration.invite('c'))?.revoked, true);
      assert.equal(await store.accounts.passwordHash('bob'), undefined);
      const revokes = await store.audit.list({ limit: 10, action: 'invite.revoke' });
      assert.equal(revokes.entries.length, 1);
      const creates = await store.audit.list({ limit: 10, action: 'invite.create' });
      assert.equal(creates.entries.length, 3);
    });

    test('a refused nick does not use the invite', async () => {
      await store.registration.createInvite(invite('a'), audit('invite.create'));
      assert.equal(await store.accounts.createUser('Ann', 'h', TS), true);
      assert.equal(
        await store.accounts.createUser('ann', 'h', TS, { gate: gate('code-a') }),
        false,
      );
      assert.equal((await store.registration.invite('a'))?.uses, 0);
      assert.deepEqual(await store.registration.inviteUses('a'), []);
      assert.equal(await store.accounts.createUser('bob', 'h', TS, { gate: gate('code-a') }), true);
    });

    test('concurrent registrations against a 2-use invite: exactly two accounts', async () => {
      await store.registration.createInvite(invite('two', { maxUses: 2 }), audit('invite.create'));
      const other = await again(store);
      try {
        const nicks = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
        const results = await Promise.allSettled(
          nicks.map((nick, i) =>
            (i % 2 === 0 ? store : other).accounts.createUser(nick, 'h', TS, {
              gate: gate('code-two'),
            }),
          ),
        );
        const made = results.filter((r) => r.status === 'fulfilled' && r.value === true);
        assert.equal(made.length, 2);
        for (const r of results) {
          if (r.status === 'rejected')
            assert.ok(refused('AUTH_INVITE_INVALID')(r.reason), String(r.reason));
        }
        let accounts = 0;
        for (const nick of nicks)
          if ((await store.accounts.passwordHash(nick)) !== undefined) accounts++;
        assert.equal(accounts, 2);
        assert.equal((await store.registration.invite('two'))?.uses, 2);
        const usedBy = (await store.registration.inviteUses('two')).map((u) => u.nick).sort();
        const winners = nicks.filter((_, i) => {
          const r = results[i];
          return r?.status === 'fulfilled' && r.value === true;
        });
        assert.deepEqual(usedBy, winners.sort());
      } finally {
        await other.close();
      }
    });

    test('an admin-made account: the admin flag and its audit row in the same transaction', async () => {
      const entry: NewAuditEntry = { ...audit('user.create', { admin: true }), target: 'eve' };
      assert.equal(
        await store.accounts.createUser('eve', 'h', TS, { admin: true, audit: entry }),
        true,
      );
      assert.equal(await store.accounts.isAdmin('eve'), true);
      // A refused one writes no row.
      assert.equal(await store.accounts.createUser('EVE', 'h', TS, { audit: entry }), false);
      const { entries } = await store.audit.list({ limit: 10, action: 'user.create' });
      assert.deepEqual(
        entries.map((e) => [e.actor, e.target]),
        [['root', 'eve']],
      );
    });

    test('invites list newest first in pages; active invites are bounded', async () => {
      for (const id of ['i1', 'i2', 'i3']) {
        await store.registration.createInvite(invite(id), audit('invite.create'));
      }
      const first = await store.registration.invites(undefined, 2);
      assert.deepEqual(
        first.invites.map((i) => i.id),
        ['i3', 'i2'],
      );
      assert.equal(first.next, 'i2');
      const second = await store.registration.invites(first.next ?? undefined, 2);
      assert.deepEqual(
        second.invites.map((i) => i.id),
        ['i1'],
      );
      assert.equal(second.next, null);
      assert.deepEqual((await store.registration.invites('unknown', 2)).invites, []);
      assert.deepEqual(first.invites[0], {
        id: 'i3',
        createdBy: 'root',
        created: TS,
        expires: TS + HOUR,
        maxUses: 1,
        uses: 0,
        revoked: false,
      });
    });

    test(`at most ${MAX_ACTIVE_INVITES} active invites`, async () => {
      // Fill by hand, beside the API, so that the test stays quick.
      for (let i = 3; i < MAX_ACTIVE_INVITES; i++) {
        await store.registration.createInvite(invite(`f${i}`), audit('invite.create'));
      }
      await store.registration.createInvite(invite('x1'), audit('invite.create'));
      await store.registration.createInvite(invite('x2'), audit('invite.create'));
      await store.registration.createInvite(invite('x3'), audit('invite.create'));
      await assert.rejects(
        store.registration.createInvite(invite('over'), audit('invite.create')),
        refused('INVITES_FULL'),
      );
      // An expired one does not count.
      await store.registration.createInvite(
        invite('old', { created: TS + 2 * HOUR, expires: TS + 3 * HOUR }),
        audit('invite.create'),
      );
    });
  });
}
