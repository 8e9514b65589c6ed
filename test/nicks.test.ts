// Look-alike nicks (issue 16, item 2): invisible characters and look-alikes of a registered
// nick or of `all` cannot be taken, through either front door, and accounts that already
// looked alike before the rule keep working.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { hashPassword } from '../src/auth/passwords.js';
import type { RunningServer } from '../src/main.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { api, get, SseClient, session, startTestServer } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ssechat.js', import.meta.url));

/** Runs the real command line with `input` on stdin; resolves with its exit code and stderr. */
function ssechat(args: string[], input: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(input);
  });
}

/** The look-alikes of the issue, each with the error it must now get in accounts mode. */
const LOOK_ALIKES: readonly [nick: string, status: number, code: string][] = [
  ['ali\u034Fce', 400, 'CHAT_NICK_INVALID'], // combining grapheme joiner
  ['alice\uFE0F', 400, 'CHAT_NICK_INVALID'], // variation selector 16
  ['alice\u3164', 400, 'CHAT_NICK_INVALID'], // Hangul filler
  ['alice\u2800', 400, 'CHAT_NICK_INVALID'], // braille pattern blank
  ['\u0430lice', 409, 'AUTH_NICK_TAKEN'], // Cyrillic а
  ['\uFF41\uFF4C\uFF49\uFF43\uFF45', 409, 'AUTH_NICK_TAKEN'], // fullwidth alice
  ['\u0410LICE', 409, 'AUTH_NICK_TAKEN'], // Cyrillic А, capitals
  ['\uFF41\uFF4C\uFF4C', 400, 'CHAT_NICK_RESERVED'], // fullwidth all
  ['a11', 400, 'CHAT_NICK_RESERVED'],
];

describe('look-alike nicks in accounts mode', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ auth: 'accounts' });
    base = server.url;
  });
  after(() => server.close());

  test('none of the look-alikes of alice and all registers; alice still logs in', async () => {
    await session(base, 'alice', 'correct horse', true);
    for (const [nick, status, code] of LOOK_ALIKES) {
      const reply = await api(base, 'POST', '/api/v1/users', { nick, password: 'another one' });
      assert.equal(reply.status, status, `${JSON.stringify(nick)}: ${reply.body}`);
      assert.equal(reply.json.error.code, code, JSON.stringify(nick));
      const login = await api(base, 'POST', '/api/v1/session', { nick, password: 'another one' });
      assert.notEqual(login.status, 201, JSON.stringify(nick));
    }
    const cyrillic = await api(base, 'POST', '/api/v1/users', {
      nick: '\u0430lice',
      password: 'another one',
    });
    assert.match(cyrillic.json.error.message, /looks like the registered nick alice/);
    const alice = await api(base, 'POST', '/api/v1/session', {
      nick: 'alice',
      password: 'correct horse',
    });
    assert.equal(alice.status, 201);
  });

  test('capital look-alikes of a registered nick are refused, and a combining mark first', async () => {
    await session(base, 'BOB', 'correct horse', true);
    await session(base, 'KATE', 'correct horse', true);
    for (const nick of [
      'BO\u0412', // Cyrillic В
      '\u0392\u039F\u0392', // Greek
      '\u13F4O\u13F4', // Cherokee
      '\u039A\u0391\u03A4\u0395', // Greek KATE
    ]) {
      const reply = await api(base, 'POST', '/api/v1/users', { nick, password: 'another one' });
      assert.equal(reply.status, 409, `${JSON.stringify(nick)}: ${reply.body}`);
      assert.equal(reply.json.error.code, 'AUTH_NICK_TAKEN');
    }
    const mark = await api(base, 'POST', '/api/v1/users', {
      nick: '\u0332',
      password: 'x'.repeat(12),
    });
    assert.equal(mark.status, 400, mark.body);
    assert.equal(mark.json.error.code, 'CHAT_NICK_INVALID');
  });

  test('a nick that looks like no one registers as before', async () => {
    for (const nick of ['ali', 'Jöhn', 'Алиса', 'bob_2']) {
      const reply = await api(base, 'POST', '/api/v1/users', { nick, password: 'another one' });
      assert.equal(reply.status, 201, `${nick}: ${reply.body}`);
    }
  });
});

describe('ALI, a name, is not a look-alike of all', () => {
  for (const auth of ['open', 'accounts'] as const) {
    test(`${auth} mode`, async () => {
      const server = await startTestServer({ auth });
      try {
        const path = auth === 'open' ? '/api/v1/session' : '/api/v1/users';
        const reply = await api(server.url, 'POST', path, { nick: 'ALI', password: 'another one' });
        assert.equal(reply.status, 201, reply.body);
        const all = await api(server.url, 'POST', path, { nick: 'AII', password: 'another one' });
        assert.equal(all.status, 400, all.body);
        assert.equal(all.json.error.code, 'CHAT_NICK_RESERVED');
      } finally {
        await server.close();
      }
    });
  }
});

describe('look-alikes of all in open mode', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer();
    base = server.url;
  });
  after(() => server.close());

  test('fullwidth all, and invisible characters, are refused at both front doors', async () => {
    const fullwidthAll = '\uFF41\uFF4C\uFF4C';
    const login = await api(base, 'POST', '/api/v1/session', { nick: fullwidthAll });
    assert.equal(login.status, 400);
    assert.equal(login.json.error.code, 'CHAT_NICK_RESERVED');
    const invisible = await api(base, 'POST', '/api/v1/session', { nick: 'alice\u3164' });
    assert.equal(invisible.status, 400);
    assert.equal(invisible.json.error.code, 'CHAT_NICK_INVALID');
    const stream = await get(base, `/${encodeURIComponent(fullwidthAll)}`, {
      Accept: 'text/event-stream',
    });
    assert.equal(stream.status, 400);
    const send = await get(base, `/msg/${encodeURIComponent(fullwidthAll)}/bob%20hi`);
    assert.equal(send.status, 400);
    // Nobody can write to it either.
    const bob = await session(base, 'bob');
    const dm = await api(base, 'POST', '/api/v1/messages', { to: fullwidthAll, text: 'x' }, bob);
    assert.equal(dm.status, 400);
    assert.equal(dm.json.error.code, 'CHAT_NICK_RESERVED');
  });
});

describe('accounts that looked alike before the rule', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssechat-nicks-'));
  let server: RunningServer;
  let base: string;
  const legacy = ['\u0430lice', 'ali\u034Fce', '\uFF41\uFF4C\uFF4C'];
  before(async () => {
    // A database as an older ssechat left it: look-alikes registered, and no keys.
    const store = new SqliteStore({
      path: join(dir, 'ssechat.db'),
      synchronous: 'normal',
      maxOfflinePerUser: 10,
    });
    await store.accounts.createUser('alice', await hashPassword('correct horse'), 1);
    await store.close();
    const db = new Database(join(dir, 'ssechat.db'));
    const insert = db.prepare('INSERT INTO users (nick, password, created) VALUES (?, ?, ?)');
    for (const [i, nick] of legacy.entries()) {
      insert.run(nick, await hashPassword('legacy password'), 2 + i);
    }
    db.prepare('UPDATE users SET nick_key = NULL').run();
    db.prepare("DELETE FROM meta WHERE key = 'nick_key_version'").run();
    db.close();
    server = await startTestServer({ store: 'sqlite', dataDir: dir, auth: 'accounts' });
    base = server.url;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('they start, log in, stream and get messages; new look-alikes are refused', async () => {
    const alice = await session(base, 'alice', 'correct horse');
    for (const nick of legacy) {
      const cookie = await session(base, nick, 'legacy password');
      const who = await api(base, 'GET', '/api/v1/session', undefined, cookie);
      assert.deepEqual(who.json, { user: nick, auth: 'accounts', maxMessageLength: 2000 });
      // The classic stream, whose path names the nick.
      const client = await SseClient.open(base, `/${encodeURIComponent(nick)}`, cookie);
      assert.equal(client.status, 200, nick);
      const dm = await api(base, 'POST', '/api/v1/messages', { to: nick, text: 'hi' }, alice);
      assert.equal(dm.status, 201, dm.body);
      await client.waitFor((c) => c.raw.includes('alice: hi'));
      client.close();
    }
    const again = await api(base, 'POST', '/api/v1/users', {
      nick: '\uFF41\uFF4C\uFF49\uFF43\uFF45',
      password: 'another one',
    });
    assert.equal(again.status, 409);
    assert.match(again.json.error.message, /looks like the registered nick alice/);
  });

  test('the command line refuses the same nicks, and still manages the old accounts', async () => {
    const add = (nick: string) =>
      ssechat(['user', 'add', nick, '--data-dir', dir], 'another one\n');
    const fullwidth = await add('\uFF41\uFF4C\uFF49\uFF43\uFF45');
    assert.equal(fullwidth.code, 1);
    assert.match(fullwidth.stderr, /looks like the registered nick alice/);
    const invisible = await add('alice\u3164');
    assert.equal(invisible.code, 1);
    assert.match(invisible.stderr, /invisible character U\+3164/);
    const all = await add('a11');
    assert.equal(all.code, 1);
    assert.match(all.stderr, /reserved/);
    const passwd = await ssechat(
      ['user', 'passwd', 'ali\u034Fce', '--data-dir', dir],
      'a new password\n',
    );
    assert.equal(passwd.code, 0, passwd.stderr);
    await session(base, 'ali\u034Fce', 'a new password');
  });
});
