import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { NewAuditEntry } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import { code, memberAt, sendAt, TS } from './rooms.contract.js';
import type { Store } from './store.js';

/** How the audit suite reaches an engine: a fresh store, and raw SQL on its database. */
export interface AuditHarness {
  readonly open: () => Promise<Store> | Store;
  /** Runs `sql` on the store's database (its schema), outside the Store's methods. */
  readonly exec: (store: Store, sql: string) => Promise<unknown>;
}

const entry = (over: Partial<NewAuditEntry> = {}): NewAuditEntry => ({
  ts: TS,
  actor: 'ann',
  action: 'role',
  reason: '',
  ...over,
});

/** The AuditStore contract and AccountStore's admin role (audit-store.ts, accounts.ts). */
export function auditContract(name: string, harness: AuditHarness): void {
  describe(`AuditStore contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await harness.open();
    });
    afterEach(async () => {
      await store.close();
    });

    test('rows read back as written, newest first, absent fields null', async () => {
      const a = await store.audit.record(entry({ target: 'bob', detail: { role: 'admin' } }));
      const b = await store.audit.record(
        entry({
          ts: TS + 1,
          actor: '(cli)',
          action: 'message.delete',
          target: 'cat',
          room: '#r',
          message: 42,
          reason: 'spam ✓ 👩‍👩‍👧',
        }),
      );
      assert.ok(b > a && a > 0);
      const page = await store.audit.list({ limit: 10 });
      assert.equal(page.next, null);
      assert.deepEqual(page.entries, [
        {
          id: b,
          ts: TS + 1,
          actor: '(cli)',
          action: 'message.delete',
          target: 'cat',
          room: '#r',
          message: 42,
          reason: 'spam ✓ 👩‍👩‍👧',
          detail: null,
        },
        {
          id: a,
          ts: TS,
          actor: 'ann',
          action: 'role',
          target: 'bob',
          room: null,
          message: null,
          reason: '',
          detail: { role: 'admin' },
        },
      ]);
    });

    test('pages by before and next; filters narrow by every one given', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 7; i++) {
        ids.push(
          await store.audit.record(
            entry({
              ts: TS + i,
              actor: i % 2 === 0 ? 'ann' : 'bob',
              action: i < 4 ? 'ban' : 'kick',
              target: `t${i % 3}`,
              ...(i >= 4 && { room: '#r' }),
            }),
          ),
        );
      }
      const first = await store.audit.list({ limit: 3 });
      assert.deepEqual(
        first.entries.map((e) => e.id),
        [ids[6], ids[5], ids[4]],
      );
      assert.equal(first.next, ids[4]);
      const second = await store.audit.list({ limit: 3, before: first.next ?? 0 });
      assert.deepEqual(
        second.entries.map((e) => e.id),
        [ids[3], ids[2], ids[1]],
      );
      const last = await store.audit.list({ limit: 3, before: second.next ?? 0 });
      assert.deepEqual(
        last.entries.map((e) => e.id),
        [ids[0]],
      );
      assert.equal(last.next, null);
      const exact = await store.audit.list({ limit: 2, before: ids[1] });
      assert.deepEqual(
        exact.entries.map((e) => e.id),
        [ids[0]],
      );
      const ann = await store.audit.list({ limit: 10, actor: 'ann' });
      assert.deepEqual(
        ann.entries.map((e) => e.id),
        [ids[6], ids[4], ids[2], ids[0]],
      );
      const both = await store.audit.list({ limit: 10, actor: 'ann', action: 'kick' });
      assert.deepEqual(
        both.entries.map((e) => e.id),
        [ids[6], ids[4]],
      );
      const target = await store.audit.list({ limit: 10, target: 't0', room: '#r' });
      assert.deepEqual(
        target.entries.map((e) => e.id),
        [ids[6]],
      );
      assert.deepEqual((await store.audit.list({ limit: 10, actor: 'ANN' })).entries, []);
      assert.deepEqual((await store.audit.list({ limit: 10, room: '#none' })).entries, []);
    });

    test('the database refuses to change or delete an audit row', async () => {
      const id = await store.audit.record(entry({ reason: 'kept' }));
      await assert.rejects(harness.exec(store, `UPDATE audit SET reason = 'x' WHERE id = ${id}`));
      await assert.rejects(harness.exec(store, `DELETE FROM audit WHERE id = ${id}`));
      await assert.rejects(harness.exec(store, 'DELETE FROM audit'));
      const [row] = (await store.audit.list({ limit: 1 })).entries;
      assert.equal(row?.reason, 'kept');
    });

    test('retention leaves the audit log alone', async () => {
      await store.audit.record(entry({ ts: 1 }));
      for (let i = 0; i < 3; i++)
        await store.append({ from: 'a', to: 'all', text: 't', ts: i, offline: false });
      await store.prune({ olderThan: Number.MAX_SAFE_INTEGER, keep: 1 });
      assert.equal((await store.audit.list({ limit: 10 })).entries.length, 1);
    });

    test('setAdmin makes exactly a registered nick an admin, audited when it changes', async () => {
      for (const nick of ['Ann', 'bob']) assert.ok(await store.accounts.createUser(nick, 'h', TS));
      assert.equal(await store.accounts.isAdmin('Ann'), false);
      assert.equal(await store.accounts.setAdmin('zed', true, entry()), false);
      assert.equal(await store.accounts.setAdmin('ann', true, entry()), false);
      assert.deepEqual((await store.audit.list({ limit: 10 })).entries, []);
      assert.equal(await store.accounts.setAdmin('Ann', true, entry({ target: 'Ann' })), true);
      assert.equal(await store.accounts.isAdmin('Ann'), true);
      assert.equal(await store.accounts.isAdmin('ann'), false);
      assert.equal(await store.accounts.isAdmin('nobody'), false);
      // Again: nothing changes, nothing is audited.
      assert.equal(await store.accounts.setAdmin('Ann', true, entry({ target: 'Ann' })), true);
      assert.equal((await store.audit.list({ limit: 10 })).entries.length, 1);
      assert.ok(await store.accounts.setAdmin('bob', true, entry({ target: 'bob' })));
      assert.deepEqual(await store.accounts.admins(), ['Ann', 'bob']);
      assert.ok(await store.accounts.setAdmin('Ann', false, entry({ target: 'Ann' })));
      assert.deepEqual(await store.accounts.admins(), ['bob']);
      assert.equal((await store.audit.list({ limit: 10 })).entries.length, 3);
    });

    test('the last admin cannot be made a plain user, even by two demotions at once', async () => {
      for (const nick of ['ann', 'bob']) {
        assert.ok(await store.accounts.createUser(nick, 'h', TS));
        assert.ok(await store.accounts.setAdmin(nick, true, entry({ target: nick })));
      }
      const results = await Promise.allSettled([
        store.accounts.setAdmin('ann', false, entry({ target: 'ann' })),
        store.accounts.setAdmin('bob', false, entry({ target: 'bob' })),
      ]);
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(refused.length, 1);
      const reason = (refused[0] as PromiseRejectedResult).reason;
      assert.ok(reason instanceof ChatError && reason.code === 'ADMIN_LAST');
      assert.equal((await store.accounts.admins()).length, 1);
      // The refused change wrote no audit row: two promotions and one demotion.
      assert.equal((await store.audit.list({ limit: 10 })).entries.length, 3);
    });

    test('a membership change writes its audit row in its transaction, only when logged', async () => {
      await memberAt(store, '#r', 'own', 'create');
      await memberAt(store, '#r', 'bob', 'join');
      const change = (user: string, by: string, over: Record<string, unknown> = {}) =>
        store.appendMember({
          room: '#r',
          user,
          by,
          action: 'remove',
          ts: TS,
          bigRoom: 100,
          audit: entry({ actor: by, action: 'room.remove', target: user, room: '#r' }),
          ...over,
        });
      // Refused by the rules (bob is no moderator): no row.
      await assert.rejects(change('own', 'bob'), code('CHAT_FORBIDDEN'));
      // Changes nothing (cat holds no invitation and is no member of it): no row either.
      await assert.rejects(change('cat', 'own'), code('CHAT_NOT_MEMBER'));
      assert.deepEqual((await store.audit.list({ limit: 10 })).entries, []);
      const logged = await change('bob', 'own');
      assert.equal(logged.length, 1);
      // The event carries no audit.
      assert.equal('audit' in (logged[0] as object), false);
      const [row] = (await store.audit.list({ limit: 10 })).entries;
      assert.equal(row?.action, 'room.remove');
      assert.equal(row?.target, 'bob');
      assert.equal(row?.room, '#r');
    });

    test('asOwner: a server admin acts as an owner in a room they are not in', async () => {
      await memberAt(store, '#r', 'own', 'create');
      await memberAt(store, '#r', 'bob', 'join');
      const base = { room: '#r', by: 'adm', ts: TS, bigRoom: 100 } as const;
      await assert.rejects(
        store.appendMember({ ...base, user: 'bob', action: 'role', role: 'moderator' }),
        code('CHAT_NOT_MEMBER'),
      );
      const role = await store.appendMember({
        ...base,
        user: 'bob',
        action: 'role',
        role: 'moderator',
        asOwner: true,
      });
      assert.equal(role.at(-1)?.role, 'moderator');
      // Owners are removed by an admin too; the room still needs an owner to change its own.
      const removed = await store.appendMember({
        ...base,
        user: 'bob',
        action: 'remove',
        asOwner: true,
      });
      assert.equal(removed.at(-1)?.role, null);
      assert.deepEqual(
        (await store.members('#r')).map((m) => m.user),
        ['own'],
      );
    });

    test('a delete writes its audit row in its transaction, not when refused', async () => {
      const m = await sendAt(store, 'bob', 'all', 'hello');
      const del = (target: number) =>
        store.appendDelete({
          target,
          from: 'adm',
          to: 'all',
          ts: TS,
          audit: entry({ actor: 'adm', action: 'message.delete', target: 'bob', message: target }),
        });
      await assert.rejects(del(m.id + 100), code('CHAT_MESSAGE_NOT_FOUND'));
      assert.deepEqual((await store.audit.list({ limit: 10 })).entries, []);
      const done = await del(m.id);
      assert.equal('audit' in done, false);
      await assert.rejects(del(m.id), code('CHAT_MESSAGE_NOT_FOUND'));
      const rows = (await store.audit.list({ limit: 10 })).entries;
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.message, m.id);
    });

    test('a deleted account is no admin, nor is whoever registers the nick again', async () => {
      assert.ok(await store.accounts.createUser('ann', 'h', TS));
      assert.ok(await store.accounts.createUser('bob', 'h', TS));
      assert.ok(await store.accounts.setAdmin('ann', true, entry()));
      assert.ok(await store.accounts.setAdmin('bob', true, entry()));
      assert.ok(await store.accounts.deleteUser('ann', 0, TS));
      assert.ok(await store.accounts.createUser('ann', 'h', TS));
      assert.equal(await store.accounts.isAdmin('ann'), false);
      assert.deepEqual(await store.accounts.admins(), ['bob']);
    });
  });
}
