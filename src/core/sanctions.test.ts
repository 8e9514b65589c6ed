import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatError } from '../domain/errors.js';
import type { SharedEvent } from '../domain/events.js';
import { silentLogger } from '../logger.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { MUTE_CACHE_MS, Sanctions } from './sanctions.js';

const T0 = 1_700_000_000_000;

async function fixture() {
  const store = new SqliteStore({ path: ':memory:', synchronous: 'normal', maxOfflinePerUser: 10 });
  for (const nick of ['root', 'Ann', 'boss'])
    assert.ok(await store.accounts.createUser(nick, 'h', T0));
  const admin = { ts: T0, actor: '(cli)', action: 'role', reason: '' } as const;
  for (const nick of ['root', 'boss']) await store.accounts.setAdmin(nick, true, admin);
  let now = T0;
  const told: SharedEvent[] = [];
  const ended: string[] = [];
  const purged: string[] = [];
  const sanctions = new Sanctions({
    store,
    rooms: { remove: async () => undefined },
    now: () => now,
    logger: silentLogger,
    publish: async (e) => {
      told.push(e);
    },
    endUser: async (nick) => {
      ended.push(nick);
    },
    purge: (nick) => purged.push(nick),
  });
  return { store, sanctions, told, ended, purged, at: (ms: number) => (now = T0 + ms) };
}

const code = (err: unknown) => (err as ChatError).code;

test('a mute ends by itself; the cache is cleared by a change, and by time', async () => {
  const { store, sanctions, told, at } = await fixture();
  assert.equal(await sanctions.muted('Ann'), undefined);
  const status = await sanctions.mute('root', 'ann', { reason: 'calm', minutes: 2 });
  assert.deepEqual(status.mute, { reason: 'calm', until: T0 + 120_000, by: 'root', since: T0 });
  assert.deepEqual(told, [
    { kind: 'sanction', nick: 'Ann', action: 'mute', until: T0 + 120_000, reason: 'calm' },
  ]);
  await assert.rejects(sanctions.requireUnmuted('Ann'), (e) => code(e) === 'CHAT_MUTED');
  at(119_999);
  assert.ok(await sanctions.muted('Ann'));
  at(120_000);
  assert.equal(await sanctions.muted('Ann'), undefined);
  // Another process's unmute reaches this one's cache through forget() (the Bus); without
  // the event, after MUTE_CACHE_MS at the latest.
  at(0);
  await sanctions.mute('root', 'Ann', { reason: 'again', minutes: 1 });
  assert.ok(await sanctions.muted('Ann'));
  await store.sanctions.lift('Ann', 'mute', T0, {
    ts: T0,
    actor: 'x',
    action: 'unmute',
    reason: '',
  });
  assert.ok(await sanctions.muted('Ann'));
  at(MUTE_CACHE_MS);
  assert.equal(await sanctions.muted('Ann'), undefined);
  await store.close();
});

test('whom: not an admin, not oneself, an account; a ban ends the user and may purge', async () => {
  const { store, sanctions, ended, purged } = await fixture();
  for (const [by, nick] of [
    ['root', 'boss'],
    ['root', 'ROOT'],
  ] as const) {
    await assert.rejects(
      sanctions.ban(by, nick, { reason: 'x' }),
      (e) => code(e) === 'MOD_TARGET_ADMIN',
    );
  }
  await assert.rejects(
    sanctions.mute('root', 'zed', { reason: 'x', minutes: 1 }),
    (e) => code(e) === 'USER_NOT_FOUND',
  );
  await assert.rejects(
    sanctions.mute('root', 'Ann', { reason: 'x', minutes: 0 }),
    (e) => code(e) === 'MOD_DURATION_INVALID',
  );
  const status = await sanctions.ban('(cli)', 'ann', {
    reason: 'spam',
    deleteMessages: true,
    minutes: 1,
  });
  assert.equal(status.ban?.until, T0 + 60_000);
  assert.deepEqual(ended, ['Ann']);
  assert.deepEqual(purged, ['Ann']);
  await assert.rejects(sanctions.requireNotBanned('Ann'), (e) => code(e) === 'AUTH_BANNED');
  await sanctions.unban('root', 'ANN', { reason: '' });
  await sanctions.requireNotBanned('Ann');
  await assert.rejects(
    sanctions.unban('root', 'Ann', { reason: '' }),
    (e) => code(e) === 'MOD_SANCTION_NOT_FOUND',
  );
  await store.close();
});
