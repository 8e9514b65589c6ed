import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { configWith } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/main.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { api, NO_LIMITS, session } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ssechat.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `bin/ssechat.js` with only `env` (no SSECHAT_* of the machine), feeding `input`.
 * A run still going after `timeoutMs` (a server that started when it should not have) is
 * killed and reports code null.
 */
function ssechat(
  args: string[],
  input = '',
  env: Record<string, string> = {},
  timeoutMs = 20_000,
  as: { readonly uid?: number; readonly gid?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      ...as,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const login = (base: string, nick: string, password: string) =>
  api(base, 'POST', '/api/v1/session', { nick, password });

const cookieOf = (reply: { headers: Record<string, unknown> }) => ({
  Cookie: String((reply.headers['set-cookie'] as string[])[0]).split(';')[0] ?? '',
});

describe('ssechat user and token commands, against a running server on the same SQLite file', () => {
  let dir: string;
  let server: RunningServer;
  let base: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-cli-'));
    const config = configWith({ port: 0, store: 'sqlite', dataDir: dir, auth: 'accounts' });
    server = await startServer(config, silentLogger);
    base = server.url;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('user add: the password from stdin logs in through the API', async () => {
    const run = await ssechat(['user', 'add', 'ada', '--data-dir', dir], 'correct horse\n');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /user ada created/);
    // The server on this file runs with --auth accounts: no note about open mode.
    assert.doesNotMatch(run.stderr, /--auth open/);
    assert.equal((await login(base, 'ada', 'correct horse')).status, 201);
    assert.equal((await login(base, 'ada', 'wrong horse!')).status, 401);
  });

  test('user add refuses a taken nick (any case) and a weak password, with exit code 1', async () => {
    const taken = await ssechat(['user', 'add', 'ADA', '--data-dir', dir], 'another one\n');
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /^ssechat: .*already/);
    const weak = await ssechat(['user', 'add', 'bea', '--data-dir', dir], 'short\n');
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /at least 8 characters/);
    const none = await ssechat(['user', 'add', 'bea', '--data-dir', dir], '');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no password on stdin/);
  });

  test('user add refuses the nick of a deleted account, and its look-alikes, while reserved', async () => {
    const gone = await session(base, 'gus', 'correct horse', true);
    const del = await api(base, 'DELETE', '/api/v1/account', { password: 'correct horse' }, gone);
    assert.equal(del.status, 204, del.body);
    for (const nick of ['gus', 'GUS', 'gu\u0455']) {
      const run = await ssechat(['user', 'add', nick, '--data-dir', dir], 'correct horse\n');
      assert.equal(run.code, 1, nick);
      assert.match(run.stderr, /deleted account/);
    }
  });

  test('user passwd: the new password works, the old one and other sessions end', async () => {
    await ssechat(['user', 'add', 'cy', '--data-dir', dir], 'first password\n');
    const before = await login(base, 'cy', 'first password');
    assert.equal(before.status, 201);
    const run = await ssechat(['user', 'passwd', 'cy', '--data-dir', dir], 'second password\r\n');
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await login(base, 'cy', 'first password')).status, 401);
    assert.equal((await login(base, 'cy', 'second password')).status, 201);
    // The session had not been used yet, so the server had not cached it (see Auth).
    const who = await api(base, 'GET', '/api/v1/session', undefined, cookieOf(before));
    assert.equal(who.status, 401);
    const missing = await ssechat(['user', 'passwd', 'nobody', '--data-dir', dir], 'whatever1\n');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no user "nobody"/);
  });

  test('token create: the printed token is a bearer token on the API', async () => {
    await ssechat(['user', 'add', 'bot', '--data-dir', dir], 'bot password\n');
    const run = await ssechat(['token', 'create', 'bot', '--name', 'ci', '--data-dir', dir]);
    assert.equal(run.code, 0, run.stderr);
    const token = run.stdout.trim();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const auth = { Authorization: `Bearer ${token}` };
    const who = await api(base, 'GET', '/api/v1/session', undefined, auth);
    assert.deepEqual(who.json, { user: 'bot', auth: 'accounts', maxMessageLength: 2000 });
    const sent = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'hi' }, auth);
    assert.equal(sent.status, 201);
    const tokens = await api(base, 'GET', '/api/v1/tokens', undefined, auth);
    assert.equal(tokens.json.tokens[0].label, 'ci');
    const missing = await ssechat(['token', 'create', 'ghost', '--data-dir', dir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no user "ghost"/);
  });

  test('usage errors exit with 2 and name the problem', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['user'], /user needs one of: add, passwd/],
      [['user', 'add'], /needs a <nick>/],
      [['user', 'add', 'x', 'secret-password'], /never from arguments/],
      [['user', 'add', 'a/b', '--data-dir', dir], /invalid nickname/],
      [['user', 'add', 'x', '--store', 'memory'], /--store memory keeps no accounts/],
      [['token', 'create', 'x', '--nope'], /unknown argument "--nope"/],
    ];
    for (const [args, message] of cases) {
      const run = await ssechat(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });
});

describe('ssechat user add on a store served in open mode', () => {
  test('works, and says that accounts need --auth accounts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssechat-cli-open-'));
    try {
      const config = configWith({ port: 0, store: 'sqlite', dataDir: dir });
      const server = await startServer(config, silentLogger);
      await server.close();
      // The flag given here does not matter: the store says how its server runs.
      const args = ['user', 'add', 'dee', '--data-dir', dir, '--auth', 'accounts'];
      const run = await ssechat(args, 'a password\n');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /runs with --auth open.*--auth accounts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ssechat config', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  test('prints the effective config with every secret redacted', async () => {
    const run = await ssechat([
      'config',
      '--webhook-url',
      'https://hooks.example/in',
      '--webhook-secret',
      'hookpass-0123456789',
      '--metrics-token',
      'metricspass',
      '--database-url',
      'postgres://chat:dbpass@db.example:5432/chat?password=dbpass2',
      '--redis-url',
      'redis://:redispass@cache.example:6379',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /hookpass|metricspass|dbpass|redispass/);
    const shown = JSON.parse(run.stdout);
    assert.equal(shown['webhook-secret'], '[redacted]');
    assert.equal(shown['metrics-token'], '[redacted]');
    assert.equal(
      shown['database-url'],
      'postgres://chat:[redacted]@db.example:5432/chat?password=[redacted]',
    );
    assert.equal(shown['redis-url'], 'redis://:[redacted]@cache.example:6379');
    assert.equal(shown['webhook-url'], 'https://hooks.example/in');
    assert.equal(shown['send-limit-user'], '50,1000');
    assert.equal(shown.port, 8000);
  });

  test('a config file sits below flags and environment variables, above defaults', async () => {
    const path = file(
      'ssechat.json',
      JSON.stringify({
        port: 8001,
        'max-queue-bytes': 65536,
        'send-limit-user': '5,10',
        'log-level': 'warn',
        'data-dir': '/srv/chat',
      }),
    );
    const run = await ssechat(['config', '--config', path, '--log-level', 'debug'], '', {
      SSECHAT_DATA_DIR: '/var/chat',
    });
    assert.equal(run.code, 0, run.stderr);
    const shown = JSON.parse(run.stdout);
    assert.equal(shown.port, 8001);
    assert.equal(shown['max-queue-bytes'], 65536);
    assert.equal(shown['send-limit-user'], '5,10');
    assert.equal(shown['log-level'], 'debug');
    assert.equal(shown['data-dir'], '/var/chat');
    assert.equal(shown['heartbeat-ms'], 15000);
    const viaEnv = await ssechat(['config'], '', { SSECHAT_CONFIG: path, SSECHAT_PORT: '8002' });
    assert.equal(JSON.parse(viaEnv.stdout).port, 8002);
    assert.equal(JSON.parse(viaEnv.stdout)['log-level'], 'warn');
  });

  test('a bad config file stops startup with a message naming the file and the key', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"port": 8001, "prot": 1}', /unknown key "prot" in config file .*bad\.json/],
      ['{"port": "eighty"}', /invalid "port" in config file .*bad\.json: "eighty" is not/],
      ['{"heartbeat-ms": 1.5}', /invalid "heartbeat-ms" in config file .*bad\.json/],
      ['{"auth": true}', /invalid "auth" in config file .*bad\.json: must be a number or a string/],
      ['{"port": 8001,}', /config file .*bad\.json is not valid JSON/],
      ['[1]', /config file .*bad\.json must hold one JSON object/],
    ];
    for (const [content, message] of cases) {
      const path = file('bad.json', content);
      for (const args of [
        ['config', '--config', path],
        ['serve', '--config', path],
      ]) {
        const run = await ssechat(args);
        assert.equal(run.code, 2, `${content}: ${run.stderr}`);
        assert.match(run.stderr, message);
      }
    }
    const missing = await ssechat(['--config', join(dir, 'missing.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file .*missing\.json/);
  });

  test('--help lists the commands and the config file; each command has its own', async () => {
    const help = await ssechat(['--help']);
    assert.equal(help.code, 0);
    for (const word of ['user add', 'user passwd', 'token create', 'ssechat config', '--config']) {
      assert.ok(help.stdout.includes(word), word);
    }
    assert.match(help.stdout, /flag beats its env var, which beats the config file/);
    for (const command of ['user', 'token', 'config']) {
      const run = await ssechat([command, '--help']);
      assert.equal(run.code, 0);
      assert.match(run.stdout, new RegExp(`ssechat ${command}`));
    }
  });
});

/**
 * A start refused for a reason the operator must fix: exit code 1 and exactly one line on
 * stderr, `ssechat: ` and a message matching `message`, without a stack frame.
 */
function assertOneLine(run: Run, message: RegExp): void {
  assert.equal(run.code, 1, `exit code ${run.code}; stderr: ${run.stderr}`);
  assert.match(run.stderr, /^ssechat: [^\n]+\n$/, `not one line: ${JSON.stringify(run.stderr)}`);
  assert.doesNotMatch(run.stderr, / {4}at /);
  assert.match(run.stderr, message);
}

/** A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

describe('errors a newcomer meets at startup: one line naming the setting, exit 1', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-startup-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--port in use', async () => {
    const taken = createNetServer();
    await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok));
    const { port } = taken.address() as AddressInfo;
    try {
      const run = await ssechat(['--port', String(port), '--data-dir', join(dir, 'port')]);
      assertOneLine(
        run,
        new RegExp(
          `^ssechat: --port ${port}: address 127\\.0\\.0\\.1:${port} is already in use\\n`,
        ),
      );
    } finally {
      await new Promise((ok) => taken.close(ok));
    }
  });

  test('--data-dir pointing at a file', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const run = await ssechat(['--port', '0', '--data-dir', file]);
    assertOneLine(run, new RegExp(`^ssechat: --data-dir ${file}: not a directory\\n`));
  });

  test('--data-dir that cannot be created (a parent is a file)', async () => {
    const file = join(dir, 'a-parent-file');
    writeFileSync(file, '');
    const path = join(file, 'chat');
    const run = await ssechat(['--port', '0', '--data-dir', path]);
    assertOneLine(
      run,
      new RegExp(`^ssechat: --data-dir ${path}: cannot create the directory: .*not a directory`),
    );
  });

  test('--data-dir that cannot be written', async (t) => {
    // Permissions do not stop root, so as root the test needs a directory the kernel refuses.
    let path = join(dir, 'read-only');
    mkdirSync(path);
    chmodSync(path, 0o500);
    const writable = (p: string): boolean => {
      try {
        writeFileSync(join(p, 'probe'), '');
        rmSync(join(p, 'probe'));
        return true;
      } catch {
        return false;
      }
    };
    if (writable(path)) path = '/sys/kernel';
    if (!existsSync(path) || writable(path)) {
      t.skip('no directory here that this user cannot write');
      return;
    }
    const run = await ssechat(['--port', '0', '--data-dir', path]);
    chmodSync(join(dir, 'read-only'), 0o700);
    assertOneLine(
      run,
      new RegExp(`^ssechat: --data-dir ${path}: the directory is not writable: permission denied`),
    );
  });

  test('--database-url that cannot be reached, with its password hidden', async () => {
    const port = await closedPort();
    const url = `postgres://chat:dbsecret@127.0.0.1:${port}/chat`;
    const run = await ssechat(['--port', '0', '--store', 'postgres', '--database-url', url]);
    assertOneLine(
      run,
      new RegExp(
        `^ssechat: --database-url postgres://chat:\\[redacted\\]@127\\.0\\.0\\.1:${port}/chat: cannot connect: .*ECONNREFUSED`,
      ),
    );
    assert.doesNotMatch(run.stderr, /dbsecret/);
  });

  test('a read-only ssechat.db', async () => {
    // Permissions do not stop root: as root, the server runs as nobody, who may not write it.
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    chmodSync(dir, 0o755);
    const path = join(dir, 'read-only-db');
    mkdirSync(path);
    chmodSync(path, 0o777);
    const file = join(path, 'ssechat.db');
    await new SqliteStore({ path: file, synchronous: 'normal', maxOfflinePerUser: 10 }).close();
    chmodSync(file, 0o444);
    const args = ['--port', '0', '--data-dir', path, '--auth', 'accounts'];
    const run = await ssechat(args, '', {}, 20_000, as);
    assertOneLine(
      run,
      new RegExp(`^ssechat: --data-dir ${path}: database ${file} cannot be written`),
    );
  });

  test('ssechat.db a loop of symbolic links', async () => {
    const path = join(dir, 'loop');
    mkdirSync(path);
    symlinkSync(join(path, 'other'), join(path, 'ssechat.db'));
    symlinkSync(join(path, 'ssechat.db'), join(path, 'other'));
    const run = await ssechat(['--port', '0', '--data-dir', path]);
    assertOneLine(
      run,
      new RegExp(
        `^ssechat: --data-dir ${path}: database ${path}/ssechat\\.db cannot be opened: too many symbolic links`,
      ),
    );
  });

  test('a database written by a newer ssechat', async () => {
    const path = join(dir, 'newer');
    mkdirSync(path);
    const db = new Database(join(path, 'ssechat.db'));
    db.pragma('user_version = 999');
    db.close();
    const run = await ssechat(['--port', '0', '--data-dir', path]);
    assertOneLine(
      run,
      new RegExp(
        `^ssechat: --data-dir ${path}: database ${path}/ssechat\\.db has schema version 999, newer than this ssechat supports \\(\\d+\\)`,
      ),
    );
  });

  test('--host with a scope that names no interface', async () => {
    const run = await ssechat(['--port', '0', '--store', 'memory', '--host', 'fe80::1%nope']);
    assertOneLine(
      run,
      /^ssechat: --host fe80::1%nope: cannot listen on that address: invalid argument/,
    );
  });

  test('--database-url that does not parse, with its password hidden', async () => {
    const url = 'postgres://chat:dbsecret@[::1/chat';
    const run = await ssechat(['--port', '0', '--store', 'postgres', '--database-url', url]);
    assertOneLine(run, /^ssechat: --database-url postgres:\/\/\[redacted\]: not a valid URL\n/);
    assert.doesNotMatch(run.stderr, /dbsecret/);
  });

  test('--version, -V and version print the version of package.json', async () => {
    const { version } = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'),
    );
    // Anywhere on the command line, as --help is.
    for (const args of [
      ['--version'],
      ['-V'],
      ['version'],
      ['serve', '--version'],
      ['--port', '1', '-V'],
      ['8001', '--version', '--data-dir', '/nonexistent'],
      ['user', 'add', 'bob', '--version'],
      ['config', '-V'],
    ]) {
      const run = await ssechat(args);
      assert.equal(run.code, 0, `${args}: ${run.stderr}`);
      assert.equal(run.stdout, `${version}\n`);
    }
    const help = await ssechat(['--help']);
    assert.match(help.stdout, /ssechat version/);
  });
});

describe('a damaged SQLite file', () => {
  test('is refused at startup with one line naming the file, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssechat-damaged-'));
    try {
      // A real database, written by the server: enough messages for some dozens of pages.
      const config = configWith({ port: 0, store: 'sqlite', dataDir: dir, ...NO_LIMITS });
      const server = await startServer(config, silentLogger);
      const cookie = await session(server.url, 'writer');
      for (let i = 0; i < 200; i++) {
        const text = `message ${i} ${'x'.repeat(400)}`;
        const sent = await api(server.url, 'POST', '/api/v1/messages', { to: 'all', text }, cookie);
        assert.equal(sent.status, 201);
      }
      await server.close();
      const path = join(dir, 'ssechat.db');
      assert.equal(existsSync(`${path}-wal`), false, 'the WAL was not checkpointed at close');
      // Migrations that rebuild a table leave free pages, which still look like b-tree pages
      // but belong to nothing: damage there is no damage. VACUUM leaves only pages in use.
      const db = new Database(path);
      db.exec('VACUUM');
      // A leaf of the messages table, the one nearest the middle of the file: since the
      // schema grew (the search index's tables), sqlite_schema spans pages in the middle
      // too, and damage there fails the schema's parse before quick_check can say more.
      const leaves = db
        .prepare("SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf'")
        .all() as Array<{ pageno: number }>;
      db.close();
      // Overwrite the cells of a b-tree page in the middle of the file, not the header.
      const file = readFileSync(path);
      const pageSize = file.readUInt16BE(16);
      const pages = file.length / pageSize;
      const middle = (pages + 1) / 2;
      const nearest = leaves.sort(
        (a, b) => Math.abs(a.pageno - middle) - Math.abs(b.pageno - middle),
      )[0];
      assert.ok(nearest, 'no leaf of the messages table');
      // dbstat numbers pages from 1; a leaf of a table starts with type 13 and holds cells.
      const page = nearest.pageno - 1;
      assert.equal(file[page * pageSize], 13);
      assert.ok(file.readUInt16BE(page * pageSize + 3) > 0);
      file.fill(0xa5, page * pageSize + 8, page * pageSize + 512);
      writeFileSync(path, file);

      const run = await ssechat(['--port', '0', '--data-dir', dir]);
      assertOneLine(
        run,
        new RegExp(
          `^ssechat: --data-dir ${dir}: database ${path} is damaged, restore it from a backup \\(docs/deploy\\.md\\); quick_check: `,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
