// The admins' read-only views over the wire (docs/api.md, Server admins): health and the
// user list with role, presence, last seen and sanctions; both behind the admin guard.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { dataDir, promote } from './admin-kit.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';

const PASSWORD = 'correct horse battery';

describe('admin views (accounts mode)', () => {
  let server: RunningServer;
  let dir: string;
  const cookies = new Map<string, Record<string, string>>();
  const options = () => ({ auth: 'accounts' as const, dataDir: dir, ...NO_LIMITS });
  const as = async (nick: string) => {
    let c = cookies.get(nick);
    if (!c) {
      c = await session(server.url, nick, PASSWORD, true);
      cookies.set(nick, c);
    }
    return c;
  };
  const call = async (nick: string, method: string, path: string, body?: unknown) =>
    api(server.url, method, `/api/v1${path}`, body, await as(nick));

  before(async () => {
    dir = dataDir();
    server = await startTestServer(options());
    for (const nick of ['root', 'bob', 'Carol', 'dave']) await as(nick);
    await promote(dir, 'root');
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('only admins read them', async () => {
    for (const path of ['/admin/health', '/admin/users']) {
      assert.equal((await api(server.url, 'GET', `/api/v1${path}`)).status, 401);
      const r = await call('bob', 'GET', path);
      assert.equal(r.status, 403, path);
      assert.equal(r.json.error.code, 'AUTH_ADMIN_ONLY');
      assert.equal((await call('root', 'GET', path)).status, 200, path);
    }
  });

  test('health: streams, users online, messages in the last minute, store and bus, uptime', async () => {
    const before = (await call('root', 'GET', '/admin/health')).json;
    assert.equal(before.store, 'ok');
    assert.equal(before.bus, 'ok');
    assert.equal(typeof before.uptime, 'number');
    assert.ok(before.uptime >= 0);
    const stream = await SseClient.open(server.url, '/api/v1/events', await as('Carol'));
    try {
      await stream.waitFor((c) => c.events.length > 0);
      for (const text of ['one', 'two']) {
        assert.equal((await call('bob', 'POST', '/messages', { to: 'all', text })).status, 201);
      }
      const h = (await call('root', 'GET', '/admin/health')).json;
      assert.deepEqual(Object.keys(h).sort(), [
        'bus',
        'messagesPerMinute',
        'store',
        'streams',
        'uptime',
        'usersOnline',
      ]);
      assert.equal(h.streams.api, before.streams.api + 1);
      assert.equal(h.streams.classic, 0);
      assert.ok(h.usersOnline >= 1);
      assert.equal(h.messagesPerMinute, before.messagesPerMinute + 2);
    } finally {
      stream.close();
    }
  });

  test('users: role, presence, created; search, paging and bounds', async () => {
    const stream = await SseClient.open(server.url, '/api/v1/events', await as('dave'));
    try {
      await stream.waitFor((c) => c.events.length > 0);
      const r = await call('root', 'GET', '/admin/users');
      assert.equal(r.status, 200, r.body);
      const users = r.json.users as Array<Record<string, unknown>>;
      assert.deepEqual(
        users.map((u) => u.nick),
        ['bob', 'Carol', 'dave', 'root'],
      );
      const byNick = new Map(users.map((u) => [u.nick, u]));
      assert.equal(byNick.get('root')?.admin, true);
      assert.equal(byNick.get('bob')?.admin, false);
      assert.equal(byNick.get('dave')?.online, true);
      assert.equal(byNick.get('bob')?.online, false);
      for (const u of users) {
        assert.deepEqual(Object.keys(u).sort(), [
          'admin',
          'ban',
          'created',
          'displayName',
          'lastSeen',
          'mute',
          'nick',
          'online',
        ]);
        assert.equal(typeof u.created, 'number');
        assert.equal(u.ban, null);
        assert.equal(u.mute, null);
      }
      assert.equal(r.json.next, null);

      const first = await call('root', 'GET', '/admin/users?limit=2');
      assert.deepEqual(
        first.json.users.map((u: { nick: string }) => u.nick),
        ['bob', 'Carol'],
      );
      assert.equal(first.json.next, 'Carol');
      const second = await call('root', 'GET', `/admin/users?limit=2&after=${first.json.next}`);
      assert.deepEqual(
        second.json.users.map((u: { nick: string }) => u.nick),
        ['dave', 'root'],
      );
      const found = await call('root', 'GET', '/admin/users?q=car');
      assert.deepEqual(
        found.json.users.map((u: { nick: string }) => u.nick),
        ['Carol'],
      );
      for (const bad of ['limit=0', 'limit=101', 'limit=x', `q=${'x'.repeat(65)}`]) {
        const b = await call('root', 'GET', `/admin/users?${bad}`);
        assert.equal(b.status, 400, bad);
        assert.equal(b.json.error.code, 'API_QUERY_INVALID');
      }
    } finally {
      stream.close();
    }
  });

  test('users: the ban and mute in force, with reason, until, by and since', async () => {
    const banned = await call('root', 'POST', '/admin/users/dave/ban', {
      reason: 'spam',
      minutes: 60,
    });
    assert.equal(banned.status, 201, banned.body);
    const muted = await call('root', 'POST', '/admin/users/Carol/mute', {
      reason: 'shouting',
      minutes: 10,
    });
    assert.equal(muted.status, 201, muted.body);
    const t = Date.now();
    type Sanction = { reason: string; until: number | null; by: string; since: number } | null;
    type Listed = { nick: string; ban: Sanction; mute: Sanction };
    const listed = (await call('root', 'GET', '/admin/users')).json.users as Listed[];
    const users = new Map(listed.map((u) => [u.nick, u]));
    const ban = users.get('dave')?.ban;
    assert.equal(ban?.reason, 'spam');
    assert.equal(ban?.by, 'root');
    assert.ok(ban && ban.since <= t && Math.abs((ban.until ?? 0) - ban.since - 3_600_000) < 5_000);
    assert.equal(users.get('dave')?.mute, null);
    const mute = users.get('Carol')?.mute;
    assert.equal(mute?.reason, 'shouting');
    assert.ok(mute && Math.abs((mute.until ?? 0) - mute.since - 600_000) < 5_000);
    assert.equal(users.get('Carol')?.ban, null);

    assert.equal((await call('root', 'DELETE', '/admin/users/dave/ban', {})).status < 300, true);
    assert.equal((await call('root', 'DELETE', '/admin/users/Carol/mute', {})).status < 300, true);
    const after = (await call('root', 'GET', '/admin/users')).json.users as Array<{
      ban: unknown;
      mute: unknown;
    }>;
    assert.ok(after.every((u) => u.ban === null && u.mute === null));
  });

  test('lastSeen: written in a batch, at the latest when the server stops', async () => {
    const stream = await SseClient.open(server.url, '/api/v1/events', await as('bob'));
    await stream.waitFor((c) => c.events.length > 0);
    stream.close();
    const t = Date.now();
    await server.close();
    server = await startTestServer(options());
    const r = await call('root', 'GET', '/admin/users?q=bob');
    const bob = r.json.users[0];
    assert.equal(bob.nick, 'bob');
    assert.equal(typeof bob.lastSeen, 'number');
    assert.ok(bob.lastSeen > t - 60_000 && bob.lastSeen <= Date.now(), String(bob.lastSeen));
    // Never streamed: never seen.
    const never = await call('root', 'GET', '/admin/users?q=root');
    assert.equal(never.json.users[0].lastSeen, null);
  });
});

describe('admin views (open mode)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ auth: 'open' });
  });
  after(() => server.close());

  test('answer 404 AUTH_ACCOUNTS_ONLY', async () => {
    const cookie = await session(server.url, 'bob');
    for (const path of ['/admin/health', '/admin/users']) {
      const r = await api(server.url, 'GET', `/api/v1${path}`, undefined, cookie);
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, 'AUTH_ACCOUNTS_ONLY');
    }
  });
});
