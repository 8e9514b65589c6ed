import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ROUTES } from '../src/http/routes.js';
import type { RunningServer } from '../src/main.js';
import { dataDir, promote } from './admin-kit.js';
import { api, NO_LIMITS, session, startTestServer } from './helpers.js';

/**
 * Every route of the route table under /api/v1/admin, every method it declares, whoever adds
 * it: 401 without a login, 403 AUTH_ADMIN_ONLY for a signed-in user who is not a server admin,
 * 404 AUTH_ACCOUNTS_ONLY in open mode (signed in or not). A harmless body goes with each, so
 * that nothing would change if the guard let it through.
 */

const PASSWORD = 'correct horse';
const ADMIN_ROUTES = ROUTES.filter((r) => r.path.startsWith('/api/v1/admin'));

/** A concrete path for a route's pattern: each parameter filled with a name nobody has. */
const concrete = (pattern: string): string =>
  pattern.replace(/[:*][A-Za-z]+/g, (p) => (p.includes('id') ? '1' : 'nobody-here'));

/** Each (method, path) the admin routes declare. */
const calls = ADMIN_ROUTES.flatMap((r) =>
  Object.keys(r.methods).map((method) => ({ method, path: concrete(r.path) })),
);

const bodyFor = (method: string) => (method === 'GET' || method === 'HEAD' ? undefined : {});

describe('admin routes: the guard on every route and method of the table', () => {
  let accounts: RunningServer;
  let open: RunningServer;
  const dir = dataDir();
  let user: Record<string, string>;
  let admin: Record<string, string>;
  let openUser: Record<string, string>;

  before(async () => {
    accounts = await startTestServer({ ...NO_LIMITS, auth: 'accounts', dataDir: dir });
    open = await startTestServer({ ...NO_LIMITS });
    user = await session(accounts.url, 'plain', PASSWORD, true);
    admin = await session(accounts.url, 'boss', PASSWORD, true);
    await promote(dir, 'boss');
    openUser = await session(open.url, 'boss');
  });
  after(async () => {
    await accounts.close();
    await open.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the table has admin routes (audit and role at least)', () => {
    const paths = ADMIN_ROUTES.map((r) => r.path);
    assert.ok(paths.includes('/api/v1/admin/audit'));
    assert.ok(paths.includes('/api/v1/admin/users/:nick/role'));
    assert.ok(calls.length >= 2);
  });

  test('401 AUTH_REQUIRED without a login', async () => {
    for (const { method, path } of calls) {
      const reply = await api(accounts.url, method, path, bodyFor(method));
      assert.equal(reply.status, 401, `${method} ${path}: ${reply.body}`);
      assert.equal(reply.json.error.code, 'AUTH_REQUIRED', `${method} ${path}`);
    }
  });

  test('403 AUTH_ADMIN_ONLY for a signed-in user who is not an admin', async () => {
    for (const { method, path } of calls) {
      const reply = await api(accounts.url, method, path, bodyFor(method), user);
      assert.equal(reply.status, 403, `${method} ${path}: ${reply.body}`);
      assert.equal(reply.json.error.code, 'AUTH_ADMIN_ONLY', `${method} ${path}`);
    }
  });

  test('404 AUTH_ACCOUNTS_ONLY in open mode, signed in or not', async () => {
    for (const { method, path } of calls) {
      for (const who of [{}, openUser]) {
        const reply = await api(open.url, method, path, bodyFor(method), who);
        assert.equal(reply.status, 404, `${method} ${path}: ${reply.body}`);
        assert.equal(reply.json.error.code, 'AUTH_ACCOUNTS_ONLY', `${method} ${path}`);
      }
    }
  });

  test('an admin passes the guard on every route', async () => {
    for (const { method, path } of calls) {
      const reply = await api(accounts.url, method, path, bodyFor(method), admin);
      assert.notEqual(reply.status, 401, `${method} ${path}: ${reply.body}`);
      assert.notEqual(reply.status, 403, `${method} ${path}: ${reply.body}`);
    }
  });

  test('the audit route has GET only: other methods are 405', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
      const reply = await api(accounts.url, method, '/api/v1/admin/audit', {}, admin);
      assert.equal(reply.status, 405, `${method}: ${reply.body}`);
    }
  });
});
