/**
 * PostgresStore under network faults between it and PostgreSQL (issue 17, items 1 and 4),
 * injected by test/fault-proxy.ts: a connection reset inside an append's transaction must
 * not crash the process, and connections that go silent must not hang appends or readiness.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { FaultProxy } from '../../../test/fault-proxy.js';
import type { NewMessage } from '../../domain/events.js';
import { isStoreUnavailable } from '../../domain/store-unavailable.js';
import { PostgresStore } from './store.js';

const url = process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const target = new URL(url);
const prefix = `ssechat_faults_${process.pid}_`;
let n = 0;

async function admin(sql: string, values: unknown[] = []): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** A store whose connections all go through a fresh FaultProxy. */
async function proxied(): Promise<{ store: PostgresStore; proxy: FaultProxy }> {
  const proxy = await FaultProxy.start(Number(target.port || 5432), target.hostname);
  const via = new URL(url);
  via.hostname = '127.0.0.1';
  via.port = String(proxy.port);
  const store = await PostgresStore.open({
    url: via.toString(),
    schema: `${prefix}${++n}`,
    maxOfflinePerUser: 10,
    poolSize: 4,
  });
  return { store, proxy };
}

const msg = (text: string): NewMessage => ({
  from: 'a',
  to: 'b',
  text,
  ts: 1,
  offline: false,
  clientId: text,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `p` settles within `ms`, and how. */
async function within<T>(p: Promise<T>, ms: number): Promise<'resolved' | 'rejected' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((r) => {
    timer = setTimeout(() => r('hung'), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => 'resolved' as const,
        () => 'rejected' as const,
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// A crash shows up here rather than as a dead test runner: an `error` emitted by a pg client
// with no listener is thrown from the socket's event and reaches uncaughtException.
const uncaught: Error[] = [];
const onUncaught = (err: Error) => uncaught.push(err);

before(() => {
  process.on('uncaughtException', onUncaught);
});

after(async () => {
  process.off('uncaughtException', onUncaught);
  for (const { nspname } of await admin(
    'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
    [prefix],
  )) {
    await admin(`DROP SCHEMA ${nspname} CASCADE`);
  }
});

describe('PostgresStore under connection faults', () => {
  test('a reset inside an append transaction fails that batch cleanly; the next append works', {
    timeout: 30_000,
  }, async () => {
    const { store, proxy } = await proxied();
    try {
      await store.append(msg('warm'));
      uncaught.length = 0;
      // Each round trip now takes 400 ms: the batch is inside its transaction (BEGIN answered,
      // the lock or the insert on the wire) when the reset comes.
      proxy.latency(200);
      const batch = [store.append(msg('x1')), store.append(msg('x2')), store.append(msg('x3'))];
      await sleep(700);
      proxy.reset();
      proxy.latency(0);
      const results = await Promise.allSettled(batch);
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.ok(isStoreUnavailable(r.reason), `a 503 error, not ${String(r.reason)}`);
      }
      await sleep(200);
      assert.deepEqual(uncaught, [], 'no uncaught error');
      const next = await store.append(msg('after'));
      assert.equal(next.created, true);
      // The failed batch left nothing behind: a retry with its clientId stores it now.
      assert.equal((await store.append(msg('x1'))).created, true);
    } finally {
      await within(store.close(), 3_000);
      await proxy.close();
    }
  });

  test('silent connections: appends get past them within the timeouts, readiness tells, then heals', {
    timeout: 30_000,
  }, async () => {
    const { store, proxy } = await proxied();
    try {
      // Open several pooled connections, then silence them all (a NAT that dropped its state).
      await Promise.all([store.append(msg('w1')), store.head(), store.ping(), store.head()]);
      uncaught.length = 0;
      proxy.silenceOpen();
      const started = performance.now();
      const sent = store.append(msg('s1'));
      // Past APPEND_STALL_MS (2.5 s), while the batch still waits on a second silent connection.
      await sleep(2_700);
      // The batch is stuck on a silent connection: readiness says so while it is.
      await assert.rejects(store.ping(), /append path is stuck/);
      const outcome = await within(sent, 20_000);
      const ms = Math.round(performance.now() - started);
      assert.notEqual(outcome, 'hung', 'the append settles');
      console.log(`# silent connections: the first append ${outcome} after ${ms} ms`);
      // Later appends work (on new connections), and readiness passes again.
      let ready = false;
      const deadline = performance.now() + 15_000;
      while (!ready && performance.now() < deadline) {
        ready = (await within(store.ping(), 3_000)) === 'resolved';
        if (!ready) await sleep(200);
      }
      console.log(
        `# silent connections: ready again after ${Math.round(performance.now() - started)} ms`,
      );
      assert.ok(ready, 'ready again');
      assert.equal((await store.append(msg('s2'))).created, true);
      assert.equal((await store.append(msg('s1'))).message.text, 's1');
      assert.deepEqual(uncaught, []);
    } finally {
      await within(store.close(), 3_000);
      await proxy.close();
    }
  });

  test('reads do not hang on a silent connection', { timeout: 30_000 }, async () => {
    const { store, proxy } = await proxied();
    try {
      await Promise.all([store.head(), store.head(), store.head()]);
      proxy.silenceOpen();
      const started = performance.now();
      const outcome = await within(store.since('b', 0, 10), 15_000);
      console.log(
        `# silent connections: a read ${outcome} after ${Math.round(performance.now() - started)} ms`,
      );
      assert.notEqual(outcome, 'hung');
      // Once the silent ones are gone, reads work.
      const deadline = performance.now() + 20_000;
      let ok = false;
      while (!ok && performance.now() < deadline) {
        ok = (await within(store.since('b', 0, 10), 6_000)) === 'resolved';
      }
      assert.ok(ok, 'reads work again');
    } finally {
      await within(store.close(), 3_000);
      await proxy.close();
    }
  });
});
