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
