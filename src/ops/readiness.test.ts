import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../logger.js';
import { type Pingable, Readiness } from './readiness.js';

/** A dependency whose pings are counted and answer as `answer` says. */
function dependency(answer: () => Promise<void>): Pingable & { pings: number } {
  const dep = {
    pings: 0,
    ping: () => {
      dep.pings++;
      return answer();
    },
  };
  return dep;
}

test('ready only when every dependency answers in time, naming each outcome', async () => {
  const ok = dependency(async () => {});
  const down = dependency(async () => {
    throw new Error('connection refused');
  });
  const hung = dependency(() => new Promise(() => {}));
  const readiness = new Readiness({
    checks: { ok, down, hung },
    logger: silentLogger,
    timeoutMs: 50,
    cacheMs: 0,
  });
  const started = performance.now();
  assert.deepEqual(await readiness.check(), {
    ready: false,
    draining: false,
    checks: { ok: 'ok', down: 'failed', hung: 'timeout' },
  });
  assert.ok(performance.now() - started < 1000, 'the timeout did not bound the check');
  const all = new Readiness({ checks: { ok }, logger: silentLogger });
  assert.equal((await all.check()).ready, true);
});

test('concurrent checks share one round of pings, and a result is reused for cacheMs', async () => {
  const dep = dependency(async () => {});
  const readiness = new Readiness({ checks: { dep }, logger: silentLogger, cacheMs: 100 });
  await Promise.all([readiness.check(), readiness.check(), readiness.check()]);
  assert.equal(dep.pings, 1);
  await readiness.check();
  assert.equal(dep.pings, 1);
  await new Promise((ok) => setTimeout(ok, 150));
  await readiness.check();
  assert.equal(dep.pings, 2);
});

test('draining reports not ready at once, without pinging anything', async () => {
  const dep = dependency(async () => {});
  const readiness = new Readiness({ checks: { dep }, logger: silentLogger });
  readiness.markDraining();
  assert.deepEqual(await readiness.check(), { ready: false, draining: true, checks: {} });
  assert.equal(dep.pings, 0);
  assert.equal(readiness.draining, true);
});

test('a failing check is logged when it starts failing and when it passes again, not at every check', async () => {
  let up = true;
  const dep = dependency(async () => {
    if (!up) throw new Error('the store cannot write: database or disk is full (SQLITE_FULL)');
  });
  const lines: Array<[string, string, unknown]> = [];
  const logger = {
    ...silentLogger,
    info: (msg: string, fields?: Record<string, unknown>) => void lines.push(['info', msg, fields]),
    warn: (msg: string, fields?: Record<string, unknown>) => void lines.push(['warn', msg, fields]),
  };
  const readiness = new Readiness({ checks: { store: dep }, logger, cacheMs: 0 });
  await readiness.check();
  up = false;
  for (let i = 0; i < 20; i++) assert.equal((await readiness.check()).ready, false);
  up = true;
  assert.equal((await readiness.check()).ready, true);
  await readiness.check();
  assert.deepEqual(lines, [
    [
      'warn',
      'readiness check failed',
      {
        check: 'store',
        error: 'Error: the store cannot write: database or disk is full (SQLITE_FULL)',
      },
    ],
    ['info', 'readiness check passes again', { check: 'store' }],
  ]);
});
