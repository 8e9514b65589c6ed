/**
 * Sanctions over the wire (issue 23, part C): bans, mutes and kicks by a server admin in
 * accounts mode, address bans from the command line in open mode. The two-process case is
 * sanctions-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runBanCommand } from '../src/cli/bans.js';
import { main } from '../src/cli/main.js';
import { type Config, configWith } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import type { RunningServer } from '../src/main.js';
import { openStore } from '../src/open-store.js';
import { api, get, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';
import { waitUntil } from './wait-until.js';

const PASSWORD = 'correct horse';
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssechat-sanctions-'));
  dirs.push(dir);
  return dir;
}

/** Makes `nick` a server admin, as the command line would (the Store, audited). */
async function makeAdmin(config: Partial<Config>, nick: string): Promise<void> {
  const store = await openStore(configWith({ store: 'sqlite', ...config }), silentLogger);
  try {
    const ts = Date.now();
    assert.ok(
      await store.accounts.setAdmin(nick, true, {
        ts,
        actor: '(cli)',
        action: 'role',
        target: nick,
        reason: '',
      }),
    );
  } finally {
    await store.close();
  }
}

async function openEvents(base: string, who: Record<string, string>): Promise<SseClient> {
  const stream = await SseClient.open(base, '/api/v1/events', who);
  assert.equal(stream.status, 200);
  await stream.waitFor((c) => c.of('hello').length > 0);
  return stream;
}

describe('bans and mutes (accounts mode)', () => {
  const dataDir = freshDir();
  const config = { auth: 'accounts', dataDir, ...NO_LIMITS } as const;
  let server: RunningServer;
  let base: string;
  let root: Record<string, string>;

  before(async () => {
    server = await startTestServer(config);
    base = server.url;
    root = await session(base, 'root', PASSWORD, true);
    await session(base, 'other', PASSWORD, true);
    await makeAdmin(config, 'root');
    await makeAdmin(config, 'other');
  });
  after(async () => {
    await server.close();
  });

  test('a ban ends the streams and sessions, refuses logins, and survives a restart', async () => {
    const ann = await session(base, 'ann', PASSWORD, true);
    const stream = await openEvents(base, ann);
    const banned = await api(base, 'POST', '/api/v1/admin/users/ANN/ban', { reason: 'spam' }, root);
    assert.equal(banned.status, 201, banned.body);
    assert.equal(banned.json.nick, 'ann');
    assert.equal(banned.json.ban.reason, 'spam');
    assert.equal(banned.json.ban.until, null);
    assert.equal(banned.json.ban.by, 'root');
    await stream.waitFor((c) => c.closed, 1000);
    assert.equal((await api(base, 'GET', '/api/v1/session', undefined, ann)).status, 401);
    const login = await api(base, 'POST', '/api/v1/session', { nick: 'ann', password: PASSWORD });
    assert.equal(login.status, 403, login.body);
    assert.equal(login.headers['set-cookie'], undefined);
    assert.deepEqual(login.json.error, {
      code: 'AUTH_BANNED',
      message: 'this account is banned',
      until: null,
      reason: 'spam',
    });
    // A wrong password says nothing of the ban.
    const wrong = await api(base, 'POST', '/api/v1/session', { nick: 'ann', password: 'nope' });
    assert.equal(wrong.json.error.code, 'AUTH_FAILED');
    const again = await api(base, 'POST', '/api/v1/users', { nick: 'ann', password: PASSWORD });
    assert.equal(again.json.error.code, 'AUTH_BANNED');

    await server.close();
    server = await startTestServer(config);
    base = server.url;
    root = await session(base, 'root', PASSWORD);
    const after = await api(base, 'POST', '/api/v1/session', { nick: 'ann', password: PASSWORD });
    assert.equal(after.json.error.code, 'AUTH_BANNED');

    const lifted = await api(base, 'DELETE', '/api/v1/admin/users/ann/ban', { reason: 'ok' }, root);
    assert.equal(lifted.status, 204, lifted.body);
    const twice = await api(base, 'DELETE', '/api/v1/admin/users/ann/ban', undefined, root);
    assert.equal(twice.json.error.code, 'MOD_SANCTION_NOT_FOUND');
    assert.equal(
      (await api(base, 'POST', '/api/v1/session', { nick: 'ann', password: PASSWORD })).status,
      201,
    );
    const audit = await api(base, 'GET', '/api/v1/admin/audit?target=ann', undefined, root);
    assert.deepEqual(
      audit.json.entries.map((e: { action: string; actor: string; reason: string }) => [
        e.action,
        e.actor,
        e.reason,
      ]),
      [
        ['unban', 'root', 'ok'],
        ['ban', 'root', 'spam'],
      ],
    );
  });

  test('whom a ban may name, and what it must say', async () => {
    await session(base, 'cat', PASSWORD, true);
    const cat = await session(base, 'cat', PASSWORD);
    const cases: Array<[string, unknown, Record<string, string>, number, string]> = [
      ['root', { reason: 'x' }, root, 403, 'MOD_TARGET_ADMIN'],
      ['other', { reason: 'x' }, root, 403, 'MOD_TARGET_ADMIN'],
      ['nobody', { reason: 'x' }, root, 404, 'USER_NOT_FOUND'],
      ['cat', {}, root, 400, 'MOD_REASON_INVALID'],
      ['cat', { reason: 'x', minutes: 0 }, root, 400, 'MOD_DURATION_INVALID'],
      ['cat', { reason: 'x', deleteMessages: 'yes' }, root, 400, 'API_BODY_INVALID'],
      ['root', { reason: 'x' }, cat, 403, 'AUTH_ADMIN_ONLY'],
    ];
    for (const [nick, body, who, status, code] of cases) {
      const reply = await api(base, 'POST', `/api/v1/admin/users/${nick}/ban`, body, who);
      assert.equal(reply.status, status, `${nick} ${JSON.stringify(body)}: ${reply.body}`);
      assert.equal(reply.json.error.code, code);
    }
    const before = Date.now();
    const timed = await api(
      base,
      'POST',
      '/api/v1/admin/users/cat/ban',
      { reason: 'x', minutes: 5 },
      root,
    );
    assert.equal(timed.status, 201, timed.body);
    assert.ok(
      timed.json.ban.until >= before + 300_000 && timed.json.ban.until <= Date.now() + 300_000,
    );
    assert.equal(
      (await api(base, 'DELETE', '/api/v1/admin/users/cat/ban', undefined, root)).status,
      204,
    );
  });

  test('a ban with deleteMessages deletes what they sent, through the log', async () => {
    const dan = await session(base, 'dan', PASSWORD, true);
    const bob = await session(base, 'bob', PASSWORD, true);
    const sent = await api(base, 'POST', '/api/v1/messages', { to: 'bob', text: 'buy now' }, dan);
    assert.equal(sent.status, 201, sent.body);
    const stream = await openEvents(base, bob);
    const banned = await api(
      base,
      'POST',
      '/api/v1/admin/users/dan/ban',
      { reason: 'spam', deleteMessages: true },
      root,
    );
    assert.equal(banned.status, 201, banned.body);
    await stream.waitFor((c) => c.of('delete').some((d) => d.message === sent.json.id));
    stream.close();
  });

  test('a mute refuses sends, edits and reactions with until, and tells the open pages', async () => {
    const eve = await session(base, 'eve', PASSWORD, true);
    const sent = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'hello' }, eve);
    assert.equal(sent.status, 201, sent.body);
    const stream = await openEvents(base, eve);
    const muted = await api(
      base,
      'POST',
      '/api/v1/admin/users/eve/mute',
      { reason: 'cool down', minutes: 10 },
      root,
    );
    assert.equal(muted.status, 201, muted.body);
    const until = muted.json.mute.until as number;
    assert.ok(until > Date.now() + 590_000);
    await stream.waitFor((c) => c.of('sanction').length > 0);
    assert.deepEqual(stream.of('sanction'), [{ kind: 'mute', until, reason: 'cool down' }]);
    const me = await api(base, 'GET', '/api/v1/session', undefined, eve);
    assert.deepEqual(me.json.muted, { until, reason: 'cool down' });

    const refusals = [
      await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'x' }, eve),
      await api(base, 'PATCH', `/api/v1/messages/${sent.json.id}`, { text: 'y' }, eve),
      await api(
        base,
        'PUT',
        `/api/v1/messages/${sent.json.id}/reactions/%F0%9F%91%8D`,
        undefined,
        eve,
      ),
    ];
    for (const reply of refusals) {
      assert.equal(reply.status, 403, reply.body);
      assert.deepEqual(reply.json.error, {
        code: 'CHAT_MUTED',
        message: 'you are muted',
        until,
        reason: 'cool down',
      });
    }
    const classic = await get(base, '/msg/eve/all%20x', eve);
    assert.equal(classic.status, 403, classic.body);
    assert.equal(JSON.parse(classic.body).error.code, 'CHAT_MUTED');

    const lifted = await api(
      base,
      'DELETE',
      '/api/v1/admin/users/eve/mute',
      { reason: 'fine' },
      root,
    );
    assert.equal(lifted.status, 204, lifted.body);
    await stream.waitFor((c) => c.of('sanction').length === 2);
    assert.deepEqual(stream.of('sanction')[1], { kind: 'unmute', until: null, reason: '' });
    assert.equal((await api(base, 'GET', '/api/v1/session', undefined, eve)).json.muted, undefined);
    const back = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'x' }, eve);
    assert.equal(back.status, 201, back.body);
    stream.close();
    const mutes = await api(base, 'GET', '/api/v1/admin/audit?target=eve', undefined, root);
    assert.deepEqual(
      mutes.json.entries.map((e: { action: string }) => e.action),
      ['unmute', 'mute'],
    );
    const bad = await api(base, 'POST', '/api/v1/admin/users/eve/mute', { reason: 'x' }, root);
    assert.equal(bad.json.error.code, 'MOD_DURATION_INVALID');
  });

  test('a kick removes a member by the room rules, with its reason in the audit log', async () => {
    const owner = await session(base, 'owner', PASSWORD, true);
    const fay = await session(base, 'fay', PASSWORD, true);
    const made = await api(base, 'POST', '/api/v1/rooms', { name: 'lobby' }, owner);
    assert.equal(made.status, 201, made.body);
    assert.equal((await api(base, 'POST', '/api/v1/rooms/lobby/join', {}, fay)).status, 201);
    const stream = await openEvents(base, fay);
    const refused = await api(
      base,
      'POST',
      '/api/v1/rooms/lobby/kick',
      { nick: 'owner', reason: 'x' },
      fay,
    );
    assert.equal(refused.status, 403, refused.body);
    const noReason = await api(base, 'POST', '/api/v1/rooms/lobby/kick', { nick: 'fay' }, owner);
    assert.equal(noReason.json.error.code, 'MOD_REASON_INVALID');
    const kicked = await api(
      base,
      'POST',
      '/api/v1/rooms/lobby/kick',
      { nick: 'fay', reason: 'rude' },
      owner,
    );
    assert.equal(kicked.status, 200, kicked.body);
    await stream.waitFor((c) =>
      c.of('member').some((m) => m.action === 'remove' && m.user === 'fay' && m.by === 'owner'),
    );
    stream.close();
    const audit = await api(base, 'GET', '/api/v1/admin/audit?action=kick', undefined, root);
    const [entry] = audit.json.entries;
    assert.deepEqual(
      [entry.actor, entry.target, entry.room, entry.reason],
      ['owner', 'fay', '#lobby', 'rude'],
    );
    // A server admin kicks in any room.
    assert.equal((await api(base, 'POST', '/api/v1/rooms/lobby/join', {}, fay)).status, 201);
    const byAdmin = await api(
      base,
      'POST',
      '/api/v1/rooms/lobby/kick',
      { nick: 'fay', reason: 'again' },
      root,
    );
    assert.equal(byAdmin.status, 200, byAdmin.body);
  });

  test('admins ban addresses with the API too; a banned address cannot even log in', async () => {
    const list = async () =>
      (await api(base, 'GET', '/api/v1/admin/addresses', undefined, root)).json.bans;
    assert.deepEqual(await list(), []);
    for (const body of [{ address: 'nope', reason: 'x' }, { address: '192.0.2.1' }]) {
      const bad = await api(base, 'POST', '/api/v1/admin/addresses', body, root);
      assert.equal(bad.status, 400, bad.body);
    }
    const made = await api(
      base,
      'POST',
      '/api/v1/admin/addresses',
      { address: '2001:db8:0:7::1', reason: 'flood', minutes: 60 },
      root,
    );
    assert.equal(made.status, 201, made.body);
    assert.equal(made.json.prefix, '2001:db8:0:7::/64');
    assert.deepEqual(await list(), [made.json]);
    const gone = await api(
      base,
      'DELETE',
      `/api/v1/admin/addresses/${made.json.id}`,
      undefined,
      root,
    );
    assert.equal(gone.status, 204, gone.body);
    assert.deepEqual(await list(), []);
    const again = await api(
      base,
      'DELETE',
      `/api/v1/admin/addresses/${made.json.id}`,
      undefined,
      root,
    );
    assert.equal(again.json.error.code, 'MOD_SANCTION_NOT_FOUND');
    const actions = await api(
      base,
      'GET',
      '/api/v1/admin/audit?action=address.ban',
      undefined,
      root,
    );
    assert.equal(actions.json.entries[0].detail.prefix, '2001:db8:0:7::/64');
  });
});

describe('address bans (open mode, from the command line)', () => {
  const dataDir = freshDir();
  const config = { dataDir, ...NO_LIMITS } as const;
  let server: RunningServer;

  before(async () => {
    server = await startTestServer(config);
  });
  after(async () => {
    await server.close();
  });

  test('refuse logins, streams and sends from the address within a second, until lifted', async () => {
    const base = server.url;
    const ann = await session(base, 'ann');
    const stream = await openEvents(base, ann);
    const classic = await SseClient.open(base, '/bob');
    assert.equal(classic.status, 200);
    const out: string[] = [];
    const cli = configWith({ store: 'sqlite', dataDir });
    await runBanCommand('ban address', '::ffff:127.0.0.1', { reason: 'flood' }, cli, (t) =>
      out.push(t),
    );
    assert.match(out[0] ?? '', /^address ban \d+: 127\.0\.0\.1\/32\n$/);
    const banned = Date.now();
    await stream.waitFor((c) => c.closed, 2000);
    await classic.waitFor((c) => c.closed, 2000);
    assert.ok(Date.now() - banned < 1500, `${Date.now() - banned} ms`);

    const login = await api(base, 'POST', '/api/v1/session', { nick: 'ann' });
    assert.equal(login.status, 403, login.body);
    assert.deepEqual(login.json.error, {
      code: 'AUTH_ADDRESS_BANNED',
      message: 'this address is banned',
      until: null,
      reason: 'flood',
    });
    const send = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'x' }, ann);
    assert.equal(send.json.error.code, 'AUTH_ADDRESS_BANNED');
    assert.equal((await get(base, '/msg/ann/all%20x')).status, 403);
    const reopen = await SseClient.open(base, '/api/v1/events', ann);
    assert.equal(reopen.status, 403);

    const listed: string[] = [];
    await runBanCommand('ban list', undefined, {}, cli, (t) => listed.push(t));
    assert.match(listed.join(''), /^\d+\t127\.0\.0\.1\/32\tuntil-lifted\t\(cli\)\tflood\n$/);
    await runBanCommand('unban address', '127.0.0.1', { reason: 'over' }, cli, () => {});
    await waitUntil(
      'the unban to reach the server',
      async () => (await api(base, 'POST', '/api/v1/session', { nick: 'ann' })).status === 201,
      3000,
      100,
    );
    await assert.rejects(
      runBanCommand('unban address', '127.0.0.1', {}, cli, () => {}),
      /no address ban in force/,
    );

    const store = await openStore(configWith({ store: 'sqlite', dataDir }), silentLogger);
    try {
      const { entries } = await store.audit.list({ limit: 10 });
      assert.deepEqual(
        entries.map((e) => [e.action, e.actor, e.reason, (e.detail as { prefix?: string }).prefix]),
        [
          ['address.unban', '(cli)', 'over', '127.0.0.1/32'],
          ['address.ban', '(cli)', 'flood', '127.0.0.1/32'],
        ],
      );
    } finally {
      await store.close();
    }
  });
});

describe('the address-ban command line', () => {
  /** Runs `ssechat <argv>` in this process; its exit code and output. */
  async function ssechat(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const saved = process.exitCode;
    process.exitCode = 0;
    await main(
      argv,
      {},
      {
        stdin: process.stdin,
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: (t: string) => (err += t) },
      },
    );
    const code = Number(process.exitCode ?? 0);
    process.exitCode = saved;
    return { code, out, err };
  }

  test('bans, lists and lifts; usage errors exit 2', async () => {
    const dir = freshDir();
    const store = ['--data-dir', dir];
    for (const argv of [
      ['ban'],
      ['ban', 'address'],
      ['ban', 'address', '192.0.2.1'],
      ['ban', 'address', 'nope', '--reason', 'x'],
      ['ban', 'address', '192.0.2.1', '--reason', 'x', '--minutes', '0'],
      ['ban', 'list', 'extra'],
      ['unban', 'list'],
    ]) {
      const { code, err } = await ssechat([...argv, ...store]);
      assert.equal(code, 2, `${argv.join(' ')}: ${err}`);
    }
    const made = await ssechat([
      'ban',
      'address',
      '2001:db8::5',
      '--reason',
      'flood',
      '--minutes',
      '60',
      ...store,
    ]);
    assert.equal(made.code, 0, made.err);
    assert.equal(made.out, 'address ban 1: 2001:db8:0:0::/64\n');
    const listed = await ssechat(['ban', 'list', ...store]);
    assert.match(listed.out, /^1\t2001:db8:0:0::\/64\t\d{4}-\d\d-\d\dT[\d:.]+Z\t\(cli\)\tflood\n$/);
    assert.equal((await ssechat(['unban', 'address', '1', ...store])).code, 0);
    const again = await ssechat(['unban', 'address', '1', ...store]);
    assert.equal(again.code, 1);
    assert.match(again.err, /no address ban in force/);
    assert.match((await ssechat(['ban', '--help'])).out, /ssechat ban address <ip>/);
  });
});
