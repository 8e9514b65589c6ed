import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { waitUntil } from '../../test/wait-until.js';
import { presenceContract } from './presence.contract.js';
import { RedisPresence, type RedisPresenceOptions } from './redis-presence.js';

// CI starts Redis; a missing one fails every test here with this URL in the message.
const REDIS_URL = process.env.SSECHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// One namespace per run, so concurrent runs on one Redis never meet; deleted at the end.
const RUN = `ssechat-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
let counter = 0;
const freshPrefix = (): string => `${RUN}${++counter}:`;

// Fast clocks so that crash and grace paths run in a fraction of a second. The crash bound
// is nodeTtlMs + sweepMs; SLACK absorbs a loaded CI machine.
const FAST = { heartbeatMs: 100, nodeTtlMs: 300, sweepMs: 50, closeGraceMs: 150 } as const;
const CRASH_BOUND_MS = FAST.nodeTtlMs + FAST.sweepMs;
const SLACK_MS = 700;

let admin: Redis;
const opened: RedisPresence[] = [];

/** A node that the suite closes at the end, whatever a test did. */
async function node(prefix: string, options: Partial<RedisPresenceOptions> = {}) {
  const presence = await RedisPresence.open({
    url: REDIS_URL,
    prefix,
    name: `ssechat-test-${process.pid}-${++counter}`,
    ...FAST,
    ...options,
  });
  opened.push(presence);
  return presence;
}

/** Records every offline call of the given nodes as `label:nick`, in call order. */
function offlineLog(nodes: Record<string, RedisPresence>): string[] {
  const log: string[] = [];
  for (const [label, p] of Object.entries(nodes))
    p.onOffline((nick) => log.push(`${label}:${nick}`));
  return log;
}

before(async () => {
  admin = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  // connect() only says "Connection is closed"; the error event has the cause.
  let cause = '';
  admin.on('error', (err: Error) => {
    cause = err.message;
  });
  try {
    await admin.connect();
    await admin.ping();
  } catch (err) {
    throw new Error(
      `Redis is not reachable at ${REDIS_URL} (${cause || String(err)}): start redis-server, ` +
        'or point SSECHAT_TEST_REDIS_URL at one',
    );
  }
});

after(async () => {
  for (const p of opened) await p.close();
  if (admin.status !== 'ready') return;
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${RUN}*`, 'COUNT', 1000);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await admin.quit();
});

// A fresh prefix per test: the contract expects an empty presence every time.
presenceContract('redis', () => node(freshPrefix()));

describe('RedisPresence across nodes', () => {
  test('a user with a tab on each node goes offline only when both closed, once', async () => {
    const prefix = freshPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const log = offlineLog({ a, b });
    assert.deepEqual(await a.connect('john'), { online: [], first: true, tabs: 0 });
    assert.deepEqual(await b.connect('john'), { online: ['john'], first: false, tabs: 1 });
    await a.disconnect('john', 100);
    assert.equal(await a.isConnected('john'), true);
    await sleep(300);
    assert.deepEqual(log, []);
    await b.disconnect('john', 500);
    assert.equal(await a.isConnected('john'), false);
    assert.deepEqual(await a.online(), ['john']);
    await waitUntil('offline', () => log.length > 0);
    await sleep(300);
    // Exactly once across the cluster. Which node fires it is a race between b's own timer and
    // any node's sweep (a loaded machine can make the sweep win), and either is right.
    // (`log` is typed as empty since the deepEqual above narrowed it.)
    const fired = log as string[];
    assert.equal(fired.length, 1, `fired ${JSON.stringify(fired)}`);
    assert.match(String(fired[0]), /^[ab]:john$/);
    assert.deepEqual(await a.online(), []);
  });

  test('first is true only for the first tab anywhere, and the order is shared', async () => {
    const prefix = freshPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    assert.equal((await a.connect('mary')).first, true);
    assert.deepEqual(await b.connect('john'), { online: ['mary'], first: true, tabs: 0 });
    assert.deepEqual(await a.connect('john'), { online: ['mary', 'john'], first: false, tabs: 1 });
    assert.deepEqual(await b.connect('john'), { online: ['mary', 'john'], first: false, tabs: 2 });
    assert.deepEqual(await b.online(), ['mary', 'john']);
    // A node cannot uncount another node's connections.
    await b.disconnect('mary', 0);
    assert.equal(await a.isConnected('mary'), true);
  });

  test('a crashed node’s users go offline within nodeTtl + sweep, fired exactly once', async () => {
    const prefix = freshPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const c = await node(prefix);
    const log = offlineLog({ a, b, c });
    await a.connect('mary');
    await a.connect('mary');
    await a.connect('ann');
    await b.connect('bob');
    await b.connect('ann');
    const crashed = Date.now();
    await a.simulateCrash();
    await waitUntil('offline', () => log.length > 0, CRASH_BOUND_MS + SLACK_MS);
    const took = Date.now() - crashed;
    assert.ok(took <= CRASH_BOUND_MS + SLACK_MS, `offline after ${took} ms`);
    await sleep(CRASH_BOUND_MS);
    // b and c both sweep; exactly one of them fired, and ann still has a tab on b.
    assert.equal(log.length, 1, log.join());
    assert.match(log[0] ?? '', /^[bc]:mary$/);
    assert.equal(await b.isConnected('mary'), false);
    assert.equal(await b.isConnected('ann'), true);
    assert.deepEqual(await c.online(), ['ann', 'bob']);
  });

  test('a user of a crashed node who reconnected elsewhere stays online', async () => {
    const prefix = freshPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const log = offlineLog({ a, b });
    await a.connect('john');
    await a.simulateCrash();
    assert.equal((await b.connect('john')).first, false);
    await sleep(CRASH_BOUND_MS + 2 * FAST.sweepMs);
    assert.deepEqual(log, []);
    assert.deepEqual(await b.online(), ['john']);
    assert.equal(await b.isConnected('john'), true);
  });

  test('a grace window started on a node that crashed is ended by another node', async () => {
    const prefix = freshPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const log = offlineLog({ a, b });
    await a.connect('john');
    const left = Date.now();
    await a.disconnect('john', 200);
    await a.simulateCrash();
    await waitUntil('offline', () => log.length > 0, 200 + FAST.sweepMs + SLACK_MS);
    assert.ok(Date.now() - left >= 200, 'the grace window was cut short');
    await sleep(100);
    assert.deepEqual(log, ['b:john']);
  });

  test('close hands the node’s users a grace window that another node ends', async () => {
    const prefix = freshPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const log = offlineLog({ a, b });
    await a.connect('john');
    await b.connect('mary');
    await a.connect('mary');
    await a.close();
    assert.equal(await b.isConnected('john'), false);
    assert.deepEqual(await b.online(), ['john', 'mary']);
    await waitUntil('offline', () => log.length > 0, FAST.closeGraceMs + FAST.sweepMs + SLACK_MS);
    await sleep(100);
    assert.deepEqual(log, ['b:john']);
    assert.deepEqual(await b.online(), ['mary']);
    assert.equal(await admin.exists(`${prefix}node:${a.nodeId}`), 0);
  });

  test('a node reaped while alive counts its users again at its next heartbeat', async () => {
    const prefix = freshPrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const log = offlineLog({ a, b });
    await a.connect('john');
    // As if a stalled a little longer than its TTL: a sweep (of b, or of a itself) reaps it
    // and announces john as gone.
    await admin.del(`${prefix}node:${a.nodeId}`);
    await waitUntil('reaped', () => log.length > 0);
    await waitUntil('restored', () => b.isConnected('john'));
    assert.deepEqual(await b.online(), ['john']);
    await a.disconnect('john', 0);
    assert.equal(log.length, 2, log.join());
    assert.match(log[0] ?? '', /^[ab]:john$/);
    assert.equal(log[1], 'a:john');
  });

  test('a disconnect lost with the connection is written back by the next heartbeat', async () => {
    const prefix = freshPrefix();
    const name = `ssechat-test-${process.pid}-${++counter}`;
    const a = await node(prefix, { name });
    const b = await node(prefix);
    const log = offlineLog({ a, b });
    await a.connect('john');
    const list = String(await admin.call('CLIENT', 'LIST'));
    const id = list
      .split('\n')
      .find((l) => l.includes(` name=${name}:presence `))
      ?.match(/^id=(\d+) /)?.[1];
    assert.ok(id, 'presence connection not found');
    await admin.call('CLIENT', 'KILL', 'ID', id);
    await a.disconnect('john', 0); // does not reject
    await waitUntil('offline', () => log.length > 0);
    await sleep(200);
    assert.equal(log.length, 1, log.join());
    assert.equal(await b.isConnected('john'), false);
    assert.deepEqual(await b.online(), []);
  });

  test('open fails with the URL when Redis is unreachable, and bad options are named', async () => {
    await assert.rejects(
      RedisPresence.open({
        url: 'redis://127.0.0.1:1',
        prefix: freshPrefix(),
        startTimeoutMs: 300,
      }),
      /cannot register at redis:\/\/127\.0\.0\.1:1/,
    );
    await assert.rejects(
      RedisPresence.open({
        url: REDIS_URL,
        prefix: freshPrefix(),
        heartbeatMs: 500,
        nodeTtlMs: 600,
      }),
      /nodeTtlMs must be an integer from 1000/,
    );
  });
});
