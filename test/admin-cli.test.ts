import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configWith } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/main.js';
import { api } from './helpers.js';

/**
 * The command line's server admins (issue 23): `ssechat user add --admin` and `ssechat user
 * role`, run as the real bin/ssechat.js beside a server on the same SQLite file, audited with
 * the actor `(cli)`.
 */

const BIN = fileURLToPath(new URL('../../bin/ssechat.js', import.meta.url));
const PASSWORD = 'correct horse';

/** Runs bin/ssechat.js with `args`, feeding `input`; its exit code and output. */
function ssechat(args: string[], input = '') {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 20_000,
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

describe('ssechat user add --admin and user role', () => {
  let dir: string;
  let server: RunningServer;
  const cookie = async (nick: string) => {
    const reply = await api(server.url, 'POST', '/api/v1/session', { nick, password: PASSWORD });
    assert.equal(reply.status, 201, reply.body);
    return {
      admin: reply.json.admin === true,
      who: { Cookie: String((reply.headers['set-cookie'] as string[])[0]).split(';')[0] ?? '' },
    };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssechat-admin-cli-'));
    server = await startServer(
      configWith({ port: 0, store: 'sqlite', dataDir: dir, auth: 'accounts' }),
      silentLogger,
    );
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('user add --admin makes the first admin, audited as (cli)', async () => {
    const run = await ssechat(
      ['user', 'add', '--admin', 'boss', '--data-dir', dir, '--reason', 'the operator'],
      `${PASSWORD}\n`,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /user boss created \(a server admin\)/);
    const { admin, who } = await cookie('boss');
    assert.equal(admin, true);
    const log = await api(server.url, 'GET', '/api/v1/admin/audit?actor=(cli)', undefined, who);
    assert.equal(log.status, 200, log.body);
    assert.deepEqual(
      log.json.entries.map((e: { action: string; target: string; reason: string }) => [
        e.action,
        e.target,
        e.reason,
      ]),
      [
        ['role', 'boss', 'the operator'],
        ['user.create', 'boss', 'the operator'],
      ],
    );
  });

  test('user role makes an admin and a plain user; the last admin stays', async () => {
    assert.equal(
      (await ssechat(['user', 'add', 'pal', '--data-dir', dir], `${PASSWORD}\n`)).code,
      0,
    );
    assert.equal((await cookie('pal')).admin, false);
    const up = await ssechat(['user', 'role', 'pal', 'admin', '--data-dir', dir]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /pal is a server admin/);
    assert.equal((await cookie('pal')).admin, true);
    const down = await ssechat([
      'user',
      'role',
      'pal',
      'user',
      '--reason',
      'done',
      '--data-dir',
      dir,
    ]);
    assert.equal(down.code, 0, down.stderr);
    assert.equal((await cookie('pal')).admin, false);
    const last = await ssechat(['user', 'role', 'boss', 'user', '--data-dir', dir]);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /needs an admin/);
    assert.equal((await cookie('boss')).admin, true);
    const { who } = await cookie('boss');
    const log = await api(server.url, 'GET', '/api/v1/admin/audit?target=pal', undefined, who);
    assert.deepEqual(
      log.json.entries.map((e: { actor: string; detail: unknown; reason: string }) => [
        e.actor,
        e.detail,
        e.reason,
      ]),
      [
        ['(cli)', { role: 'user' }, 'done'],
        ['(cli)', { role: 'admin' }, ''],
        ['(cli)', { admin: false }, ''],
      ],
    );
  });

  test('refusals: no such user (1), bad role, --admin elsewhere, a bad reason (2)', async () => {
    const nobody = await ssechat(['user', 'role', 'nobody', 'admin', '--data-dir', dir]);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /no user "nobody"/);
    for (const args of [
      ['user', 'role', 'pal', 'owner'],
      ['user', 'role', 'pal'],
      ['user', 'passwd', '--admin', 'pal'],
      ['user', 'role', 'pal', 'admin', '--reason', 'x'.repeat(501)],
    ]) {
      const run = await ssechat([...args, '--data-dir', dir]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    }
  });

  test('help names the commands', async () => {
    const help = await ssechat(['--help']);
    assert.ok(help.stdout.includes('user role <nick> admin|user'));
    assert.ok(help.stdout.includes('user add --admin'));
    const user = await ssechat(['user', '--help']);
    assert.match(user.stdout, /--admin/);
    assert.match(user.stdout, /audit log/);
  });
});
