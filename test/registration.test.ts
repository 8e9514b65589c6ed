import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { hashPassword } from '../src/auth/passwords.js';
import { loadConfig } from '../src/config.js';
import type { RunningServer } from '../src/main.js';
import { PostgresStore } from '../src/store/postgres/store.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { api, NO_LIMITS, session, startTestServer } from './helpers.js';
import { TEST_DATABASE_URL, testSchemas } from './pg-schemas.js';

/**
 * Who may register, over the real wire (issue 23, part B): the modes (flag and an admin's
 * runtime choice), invite links (expired, used up, revoked, unknown), accounts made by an
 * admin, GET /server, and the audit rows of each change.
 */

const PASSWORD = 'correct horse';
type Cookie = Record<string, string>;

const call = (base: string, who: Cookie, method: string, path: string, body?: unknown) =>
  api(base, method, `/api/v1${path}`, body, who);

const register = (base: string, nick: string, invite?: string) =>
  api(base, 'POST', '/api/v1/users', { nick, password: PASSWORD, ...(invite && { invite }) });

function expectError(
  reply: { status: number; json: unknown; body: string },
  status: number,
  code: string,
) {
  assert.equal(reply.status, status, reply.body);
  assert.equal((reply.json as { error: { code: string } }).error.code, code, reply.body);
}

describe('registration modes and invite links (SQLite)', () => {
  let server: RunningServer;
  let base: string;
  let dir: string;
  let root: Cookie;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-reg-'));
    server = await startTestServer({
      ...NO_LIMITS,
      auth: 'accounts',
      registration: 'invite',
      dataDir: dir,
    });
    base = server.url;
    // The first admin, as the command line makes one: beside the server, on the same file.
    const side = new SqliteStore({
      path: join(dir, 'ssechat.db'),
      synchronous: 'normal',
      maxOfflinePerUser: 10,
    });
    try {
      assert.equal(
        await side.accounts.createUser('root', await hashPassword(PASSWORD), Date.now(), {
          admin: true,
        }),
        true,
      );
    } finally {
      await side.close();
    }
    root = await session(base, 'root', PASSWORD);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GET /server tells the mode; invite mode refuses a registration without an invite', async () => {
    const info = await api(base, 'GET', '/api/v1/server');
    assert.deepEqual(info.json, {
      auth: 'accounts',
      registration: true,
      registrationMode: 'invite',
    });
    expectError(await register(base, 'nobody'), 403, 'AUTH_INVITE_REQUIRED');
    expectError(await register(base, 'nobody', 'made-up'), 403, 'AUTH_INVITE_INVALID');
    expectError(await register(base, 'nobody', 'x'.repeat(500)), 403, 'AUTH_INVITE_INVALID');
  });

  test('an admin makes an account in any mode; others may not touch the admin routes', async () => {
    const made = await call(base, root, 'POST', '/admin/users', {
      nick: 'mary',
      password: PASSWORD,
      reason: 'asked by mail',
    });
    assert.equal(made.status, 201, made.body);
    assert.deepEqual(made.json, { user: 'mary', admin: false });
    // Nobody was signed in as mary by that: root's session is still root's.
    assert.equal((await call(base, root, 'GET', '/session')).json.user, 'root');
    const mary = await session(base, 'mary', PASSWORD);
    expectError(await call(base, mary, 'GET', '/admin/invites'), 403, 'AUTH_ADMIN_ONLY');
    expectError(await call(base, mary, 'POST', '/admin/invites', {}), 403, 'AUTH_ADMIN_ONLY');
    expectError(
      await call(base, mary, 'POST', '/admin/users', { nick: 'sock', password: PASSWORD }),
      403,
      'AUTH_ADMIN_ONLY',
    );
    expectError(
      await call(base, {}, 'PUT', '/admin/registration', { mode: 'open' }),
      401,
      'AUTH_REQUIRED',
    );
    expectError(
      await call(base, root, 'POST', '/admin/users', { nick: 'MARY', password: PASSWORD }),
      409,
      'AUTH_NICK_TAKEN',
    );
    expectError(
      await call(base, root, 'POST', '/admin/users', { nick: 'weak', password: 'x' }),
      400,
      'AUTH_PASSWORD_WEAK',
    );
    const boss = await call(base, root, 'POST', '/admin/users', {
      nick: 'boss',
      password: PASSWORD,
      admin: true,
    });
    assert.equal(boss.status, 201, boss.body);
    const bossSession = await session(base, 'boss', PASSWORD);
    assert.equal((await call(base, bossSession, 'GET', '/admin/invites')).status, 200);
    const audit = await call(base, root, 'GET', '/admin/audit?action=user.create');
    assert.deepEqual(
      audit.json.entries.map(
        (e: { actor: string; target: string; reason: string; detail: unknown }) => [
          e.actor,
          e.target,
          e.reason,
          e.detail,
        ],
      ),
      [
        ['root', 'boss', '', { admin: true }],
        ['root', 'mary', 'asked by mail', { admin: false }],
      ],
    );
  });

  test('a 2-use invite registers two, then says it is used up', async () => {
    const made = await call(base, root, 'POST', '/admin/invites', { maxUses: 2 });
    assert.equal(made.status, 201, made.body);
    const { id, code, url } = made.json;
    assert.match(code, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(url, `${base}/?invite=${code}`);
    assert.equal(made.json.maxUses, 2);
    assert.equal(made.json.uses, 0);
    assert.equal(made.json.status, 'active');
    assert.equal(made.json.createdBy, 'root');
    assert.ok(Math.abs(made.json.expires - made.json.created - 168 * 3_600_000) < 1000);

    assert.equal((await register(base, 'ann', code)).status, 201);
    const bob = await register(base, 'bob', code);
    assert.equal(bob.status, 201, bob.body);
    // The registration signed bob in.
    const cookie = String(bob.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    assert.equal((await call(base, { Cookie: cookie }, 'GET', '/session')).json.user, 'bob');
    const third = await register(base, 'cat', code);
    expectError(third, 403, 'AUTH_INVITE_INVALID');
    assert.match(third.json.error.message, /used/);

    const one = await call(base, root, 'GET', `/admin/invites/${id}`);
    assert.equal(one.status, 200, one.body);
    assert.deepEqual(
      one.json.usedBy.map((u: { nick: string }) => u.nick),
      ['ann', 'bob'],
    );
    assert.equal(one.json.code, undefined);
    expectError(await call(base, root, 'GET', '/admin/invites/nope'), 404, 'INVITE_NOT_FOUND');
    const list = await call(base, root, 'GET', '/admin/invites');
    const listed = list.json.invites.find((i: { id: string }) => i.id === id);
    assert.equal(listed.status, 'used');
    assert.equal(listed.uses, 2);
    assert.equal(listed.code, undefined);
    assert.ok(!list.body.includes(code), 'the list never shows a code');
  });

  test('an expired invite and a revoked one are refused, each saying why', async () => {
    const expiring = await call(base, root, 'POST', '/admin/invites', { expiresInHours: 1 });
    const revoking = await call(base, root, 'POST', '/admin/invites', { maxUses: 5 });
    // An hour passes for the first (the server's clock is the real one).
    const db = new Database(join(dir, 'ssechat.db'));
    try {
      db.prepare('UPDATE invite_links SET expires = ? WHERE id = ?').run(
        Date.now() - 1,
        expiring.json.id,
      );
    } finally {
      db.close();
    }
    const late = await register(base, 'dan', expiring.json.code);
    expectError(late, 403, 'AUTH_INVITE_INVALID');
    assert.match(late.json.error.message, /expired/);

    const revoked = await call(base, root, 'DELETE', `/admin/invites/${revoking.json.id}`, {
      reason: 'posted in public',
    });
    assert.equal(revoked.status, 200, revoked.body);
    assert.equal(revoked.json.status, 'revoked');
    const refused = await register(base, 'dan', revoking.json.code);
    expectError(refused, 403, 'AUTH_INVITE_INVALID');
    assert.match(refused.json.error.message, /revoked/);
    // Again, and without a body: no change, no second audit row.
    assert.equal(
      (await call(base, root, 'DELETE', `/admin/invites/${revoking.json.id}`)).status,
      200,
    );
    expectError(await call(base, root, 'DELETE', '/admin/invites/nope'), 404, 'INVITE_NOT_FOUND');

    const audit = await call(base, root, 'GET', '/admin/audit?action=invite.revoke');
    assert.deepEqual(
      audit.json.entries.map((e: { actor: string; reason: string; detail: unknown }) => [
        e.actor,
        e.reason,
        e.detail,
      ]),
      [['root', 'posted in public', { invite: revoking.json.id }]],
    );
    const created = await call(base, root, 'GET', '/admin/audit?action=invite.create');
    assert.ok(created.json.entries.length >= 3);
    assert.equal(created.json.entries[0].detail.invite, revoking.json.id);
    assert.equal(created.json.entries[0].detail.maxUses, 5);
  });

  test('invite bodies and pages are bounded', async () => {
    for (const body of [
      { maxUses: 0 },
      { maxUses: 1001 },
      { maxUses: 1.5 },
      { maxUses: '2' },
      { expiresInHours: 0 },
      { expiresInHours: 8761 },
    ]) {
      expectError(await call(base, root, 'POST', '/admin/invites', body), 400, 'INVITE_INVALID');
    }
    expectError(await call(base, root, 'GET', '/admin/invites?limit=0'), 400, 'API_QUERY_INVALID');
    expectError(
      await call(base, root, 'GET', '/admin/invites?limit=201'),
      400,
      'API_QUERY_INVALID',
    );
    const first = await call(base, root, 'GET', '/admin/invites?limit=1');
    assert.equal(first.json.invites.length, 1);
    assert.equal(typeof first.json.next, 'string');
    const second = await call(
      base,
      root,
      'GET',
      `/admin/invites?limit=1&before=${first.json.next}`,
    );
    assert.notEqual(second.json.invites[0].id, first.json.invites[0].id);
  });

  test('an admin closes and reopens registration at runtime; it is audited', async () => {
    const live = await call(base, root, 'POST', '/admin/invites', {});
    expectError(
      await call(base, root, 'PUT', '/admin/registration', { mode: 'shut' }),
      400,
      'REGISTRATION_MODE_INVALID',
    );
    const closed = await call(base, root, 'PUT', '/admin/registration', {
      mode: 'closed',
      reason: 'spam wave',
    });
    assert.equal(closed.status, 200, closed.body);
    assert.deepEqual(closed.json, { mode: 'closed', flag: 'invite', stored: 'closed' });
    assert.deepEqual((await api(base, 'GET', '/api/v1/server')).json, {
      auth: 'accounts',
      registration: false,
      registrationMode: 'closed',
    });
    // Even a valid invite does not open a closed server; an admin still makes accounts.
    expectError(await register(base, 'eve', live.json.code), 403, 'AUTH_REGISTRATION_CLOSED');
    assert.equal(
      (await call(base, root, 'POST', '/admin/users', { nick: 'eve', password: PASSWORD })).status,
      201,
    );
    const open = await call(base, root, 'PUT', '/admin/registration', { mode: 'open' });
    assert.deepEqual(open.json, { mode: 'open', flag: 'invite', stored: 'open' });
    assert.equal((await register(base, 'fay')).status, 201);
    // The unused invite was not counted by an open registration.
    const list = await call(base, root, 'GET', '/admin/invites');
    assert.equal(list.json.invites.find((i: { id: string }) => i.id === live.json.id).uses, 0);
    const audit = await call(base, root, 'GET', '/admin/audit?action=registration');
    assert.deepEqual(
      audit.json.entries.map((e: { actor: string; reason: string; detail: unknown }) => [
        e.actor,
        e.reason,
        e.detail,
      ]),
      [
        ['root', '', { mode: 'open', previous: 'closed' }],
        ['root', 'spam wave', { mode: 'closed', previous: 'invite' }],
      ],
    );
    await call(base, root, 'PUT', '/admin/registration', { mode: 'invite' });
  });

  test('the stored mode survives a restart and wins over the flag', async () => {
    await server.close();
    server = await startTestServer({
      ...NO_LIMITS,
      auth: 'accounts',
      registration: 'open',
      dataDir: dir,
    });
    base = server.url;
    assert.deepEqual((await api(base, 'GET', '/api/v1/server')).json, {
      auth: 'accounts',
      registration: true,
      registrationMode: 'invite',
    });
    expectError(await register(base, 'gus'), 403, 'AUTH_INVITE_REQUIRED');
    root = await session(base, 'root', PASSWORD);
    const modes = await call(base, root, 'GET', '/admin/registration');
    assert.deepEqual(modes.json, { mode: 'invite', flag: 'open', stored: 'invite' });
  });
});

describe('wrong invites and the address limit', () => {
  test('each wrong invite counts against the address, as a login does', async () => {
    const server = await startTestServer({ auth: 'accounts', registration: 'invite' });
    try {
      // The limit of logins and registrations per address (http/auth.ts PER_IP): 100 a window.
      for (let i = 0; i < 100; i++) {
        expectError(
          await register(server.url, `guess${i}`, `wrong-${i}`),
          403,
          'AUTH_INVITE_INVALID',
        );
      }
      expectError(await register(server.url, 'guess', 'wrong'), 429, 'AUTH_RATE_LIMITED');
    } finally {
      await server.close();
    }
  });
});

describe('registration in open auth', () => {
  test('GET /server says null; the admin routes are not there; the flag needs accounts', async () => {
    const server = await startTestServer({ auth: 'open' });
    try {
      assert.deepEqual((await api(server.url, 'GET', '/api/v1/server')).json, {
        auth: 'open',
        registration: false,
        registrationMode: null,
      });
      const who = await session(server.url, 'root');
      expectError(
        await call(server.url, who, 'POST', '/admin/invites', {}),
        404,
        'AUTH_ACCOUNTS_ONLY',
      );
    } finally {
      await server.close();
    }
    assert.throws(() => loadConfig(['--registration', 'invite'], {}), /needs --auth accounts/);
    const ok = loadConfig(['--auth', 'accounts', '--registration', 'closed'], {});
    assert.equal(ok.help === false && ok.config.registration, 'closed');
    const env = loadConfig(['--auth', 'accounts'], { SSECHAT_REGISTRATION: 'invite' });
    assert.equal(env.help === false && env.config.registration, 'invite');
  });
});

describe('registration on PostgreSQL: two processes race for a 2-use invite', () => {
  const newSchema = testSchemas('ssechat_regwire_');
  test('concurrent registrations over two servers: exactly two accounts', async () => {
    const schema = newSchema();
    const config = {
      ...NO_LIMITS,
      auth: 'accounts' as const,
      registration: 'invite' as const,
      store: 'postgres' as const,
      databaseUrl: TEST_DATABASE_URL,
      databaseSchema: schema,
    };
    const one = await startTestServer(config);
    const two = await startTestServer(config);
    try {
      const side = await PostgresStore.open({
        url: TEST_DATABASE_URL,
        schema,
        maxOfflinePerUser: 10,
        poolSize: 1,
      });
      try {
        await side.accounts.createUser('root', await hashPassword(PASSWORD), Date.now(), {
          admin: true,
        });
      } finally {
        await side.close();
      }
      const root = await session(one.url, 'root', PASSWORD);
      const made = await call(one.url, root, 'POST', '/admin/invites', { maxUses: 2 });
      assert.equal(made.status, 201, made.body);
      const replies = await Promise.all(
        ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'].map((nick, i) =>
          register(i % 2 === 0 ? one.url : two.url, nick, made.json.code),
        ),
      );
      assert.equal(replies.filter((r) => r.status === 201).length, 2);
      for (const r of replies) if (r.status !== 201) expectError(r, 403, 'AUTH_INVITE_INVALID');
      const list = await call(two.url, root, 'GET', '/admin/invites');
      assert.equal(list.json.invites[0].uses, 2);
      assert.equal(list.json.invites[0].status, 'used');
    } finally {
      await one.close();
      await two.close();
    }
  });
});
