import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configWith } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/main.js';
import { api } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/ssechat.js', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `bin/ssechat.js` with only `env` (no SSECHAT_* of the machine), feeding `input`. */
function ssechat(args: string[], input = '', env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
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
    assert.deepEqual(who.json, { user: 'bot', auth: 'accounts' });
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
