import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { dataDir, promote } from './admin-kit.js';
import { api, NO_LIMITS, session, startTestServer } from './helpers.js';

/**
 * Server admins over the real wire (issue 23, part A): the session's `admin`, the role route
 * and its refusals, and the audit log's pages and filters.
 */

const PASSWORD = 'correct horse';
type Cookie = Record<string, string>;
const call = (base: string, who: Cookie, method: string, path: string, body?: unknown) =>
  api(base, method, `/api/v1${path}`, body, who);

describe('server admins', () => {
  let server: RunningServer;
  const dir = dataDir();
  let boss: Cookie;
  let bob: Cookie;

  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, auth: 'accounts', dataDir: dir });
    boss = await session(server.url, 'Boss', PASSWORD, true);
    bob = await session(server.url, 'bob', PASSWORD, true);
    await session(server.url, 'cat', PASSWORD, true);
    await promote(dir, 'Boss');
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the session says who is an admin', async () => {
    assert.equal((await call(server.url, boss, 'GET', '/session')).json.admin, true);
    assert.equal(
      (await call(server.url, bob, 'GET', '/session')).json.admin,
      undefined,
      'absent for a plain user',
    );
    const login = await api(server.url, 'POST', '/api/v1/session', {
      nick: 'boss',
      password: PASSWORD,
    });
    assert.equal(login.status, 201);
    assert.equal(login.json.user, 'Boss');
    assert.equal(login.json.admin, true);
  });

  test('an admin makes another user an admin and back, audited with the reason', async () => {
    const up = await call(server.url, boss, 'PUT', '/admin/users/BOB/role', {
      role: 'admin',
      reason: '  helps  ',
    });
    assert.equal(up.status, 200, up.body);
    assert.deepEqual(up.json, { nick: 'bob', role: 'admin' });
    assert.equal((await call(server.url, bob, 'GET', '/session')).json.admin, true);
    // bob, an admin now, reads the log; then is made a plain user again by Boss.
    const log = await call(server.url, bob, 'GET', '/admin/audit?action=role&target=bob');
    assert.equal(log.status, 200, log.body);
    const [row] = log.json.entries;
    assert.equal(row.actor, 'Boss');
    assert.equal(row.target, 'bob');
    assert.equal(row.reason, 'helps');
    assert.deepEqual(row.detail, { role: 'admin' });
    assert.equal(row.room, null);
    assert.equal(row.message, null);
    assert.equal(typeof row.id, 'number');
    const down = await call(server.url, boss, 'PUT', '/admin/users/bob/role', { role: 'user' });
    assert.equal(down.status, 200, down.body);
    assert.equal((await call(server.url, bob, 'GET', '/session')).json.admin, undefined);
    const refused = await call(server.url, bob, 'GET', '/admin/audit');
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'AUTH_ADMIN_ONLY');
  });

  test('the role route refuses the last admin, unknown users, bad roles and reasons', async () => {
    const last = await call(server.url, boss, 'PUT', '/admin/users/Boss/role', { role: 'user' });
    assert.equal(last.status, 409);
    assert.equal(last.json.error.code, 'ADMIN_LAST');
    const nobody = await call(server.url, boss, 'PUT', '/admin/users/nobody/role', {
      role: 'admin',
    });
    assert.equal(nobody.status, 404);
    assert.equal(nobody.json.error.code, 'USER_NOT_FOUND');
    const role = await call(server.url, boss, 'PUT', '/admin/users/cat/role', { role: 'owner' });
    assert.equal(role.status, 400);
    for (const reason of ['x'.repeat(501), 'line\nbreak', 'bidi \u202e', 42]) {
      const bad = await call(server.url, boss, 'PUT', '/admin/users/cat/role', {
        role: 'admin',
        reason,
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.code, 'MOD_REASON_INVALID');
    }
    assert.equal((await call(server.url, boss, 'GET', '/session')).json.admin, true);
  });

  test('the audit log pages newest first and filters; a bad query is 400', async () => {
    for (const role of ['admin', 'user', 'admin', 'user']) {
      const r = await call(server.url, boss, 'PUT', '/admin/users/cat/role', { role });
      assert.equal(r.status, 200);
    }
    const all = await call(server.url, boss, 'GET', '/admin/audit?target=CAT');
    assert.equal(all.json.entries.length, 4);
    assert.equal(all.json.next, null);
    const first = await call(server.url, boss, 'GET', '/admin/audit?target=cat&limit=3');
    assert.equal(first.json.entries.length, 3);
    assert.equal(first.json.next, first.json.entries[2].id);
    const ids = first.json.entries.map((e: { id: number }) => e.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
    );
    const rest = await call(
      server.url,
      boss,
      'GET',
      `/admin/audit?target=cat&limit=3&before=${first.json.next}`,
    );
    assert.equal(rest.json.entries.length, 1);
    assert.equal(rest.json.next, null);
    assert.deepEqual(rest.json.entries[0].detail, { role: 'admin' });
    const byCli = await call(server.url, boss, 'GET', '/admin/audit?actor=(cli)');
    assert.deepEqual(
      byCli.json.entries.map((e: { target: string }) => e.target),
      ['Boss'],
    );
    for (const query of [
      'limit=0',
      'limit=201',
      'before=x',
      'action=nope',
      `room=${'r'.repeat(300)}`,
    ]) {
      const bad = await call(server.url, boss, 'GET', `/admin/audit?${query}`);
      assert.equal(bad.status, 400, query);
      assert.equal(bad.json.error.code, 'API_QUERY_INVALID', query);
    }
  });
});

describe('server admins in open mode', () => {
  test('nobody is an admin: the session never says admin', async () => {
    const server = await startTestServer({ ...NO_LIMITS });
    try {
      const who = await session(server.url, 'boss');
      assert.equal((await call(server.url, who, 'GET', '/session')).json.admin, undefined);
    } finally {
      await server.close();
    }
  });
});
