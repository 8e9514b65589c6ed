import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { waitUntil } from '../../test/wait-until.js';
import type { BusEvent } from '../domain/events.js';
import { busContract } from './bus.contract.js';
import { RedisBus, type RedisBusOptions } from './redis-bus.js';

// CI starts Redis; a missing one fails every test here with this URL in the message.
const REDIS_URL = process.env.SSECHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// One namespace per run, so concurrent runs on one Redis never meet; deleted at the end.
const RUN = `ssechat-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
let counter = 0;
const freshPrefix = (): string => `${RUN}${++counter}:`;
// Connection names (CLIENT LIST) let a test kill exactly its own connections.
const freshName = (): string => `ssechat-test-${process.pid}-${++counter}`;

let admin: Redis;
const opened: RedisBus[] = [];

/** Opens a bus that the suite closes at the end, whatever a test did. */
async function openBus(options: Partial<RedisBusOptions> & { prefix: string }): Promise<RedisBus> {
  const bus = await RedisBus.open({ url: REDIS_URL, name: freshName(), ...options });
  opened.push(bus);
  return bus;
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
  for (const bus of opened) await bus.close();
  if (admin.status !== 'ready') return;
  // Pub/sub keeps no keys, but delete anything a test may have left under the run's prefix.
  const keys = await admin.keys(`${RUN}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

/** The Redis client id of the connection named `name`, for CLIENT KILL. */
async function clientId(name: string): Promise<string> {
  const list = String(await admin.call('CLIENT', 'LIST'));
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  const id = line?.match(/^id=(\d+) /)?.[1];
  if (!id) throw new Error(`no Redis client named ${name}`);
  return id;
}

const left = (nick: string): BusEvent => ({ kind: 'left', nick });
const nickOf = (e: BusEvent): string => (e.kind === 'left' ? e.nick : '?');

// Each test gets its own prefix: every bus one test connects shares a channel.
busContract('redis', () => {
  const prefix = freshPrefix();
  return { connect: () => openBus({ prefix }) };
});

describe('RedisBus on a real Redis', () => {
  test('two processes receive each other’s concurrent events in order per publisher', async () => {
    const prefix = freshPrefix();
    const a = await openBus({ prefix });
    const b = await openBus({ prefix });
    const got = { a: [] as string[], b: [] as string[] };
    a.subscribe((e) => got.a.push(nickOf(e)));
    b.subscribe((e) => got.b.push(nickOf(e)));
    // Not awaited one by one: both publishers pipeline 100 events each at the same time.
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) sends.push(a.publish(left(`a${i}`)), b.publish(left(`b${i}`)));
    await Promise.all(sends);
    await waitUntil('200 events on both', () => got.a.length >= 200 && got.b.length >= 200);
    for (const seen of [got.a, got.b]) {
      assert.equal(seen.length, 200);
      for (const p of ['a', 'b']) {
        const mine = seen.filter((n) => n.startsWith(p));
        assert.deepEqual(
          mine,
          Array.from({ length: 100 }, (_, i) => `${p}${i}`),
        );
      }
    }
  });

  test('a bus with another prefix hears nothing', async () => {
    const a = await openBus({ prefix: freshPrefix() });
    const other = await openBus({ prefix: freshPrefix() });
    const heard: BusEvent[] = [];
    const own: BusEvent[] = [];
    other.subscribe((e) => heard.push(e));
    a.subscribe((e) => own.push(e));
    await a.publish(left('x'));
    await waitUntil('own event', () => own.length === 1);
    await sleep(50);
    assert.deepEqual(heard, []);
  });

  test('a killed subscriber resubscribes, calls onReconnect, and hears again', async () => {
    const prefix = freshPrefix();
    const name = freshName();
    const bus = await openBus({ prefix, name });
    const publisher = await openBus({ prefix });
    const seen: string[] = [];
    let reconnects = 0;
    bus.subscribe((e) => seen.push(nickOf(e)));
    bus.onReconnect(() => reconnects++);
    await publisher.publish(left('before'));
    await waitUntil('first event', () => seen.length === 1);
    assert.equal(reconnects, 0, 'the first subscription is not a reconnection');

    const id = await clientId(`${name}:bus-sub`);
    assert.equal(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'ID', id), 1);
    await waitUntil('onReconnect', () => reconnects === 1);
    await publisher.publish(left('after'));
    await waitUntil('event after reconnection', () => seen.length === 2);
    assert.deepEqual(seen, ['before', 'after']);
    assert.equal(reconnects, 1);
  });

  test('publish through a killed publisher connection settles within the timeout', async () => {
    const prefix = freshPrefix();
    const name = freshName();
    const publishTimeoutMs = 300;
    const bus = await openBus({ prefix, name, publishTimeoutMs });
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(nickOf(e)));
    await admin.call('CLIENT', 'KILL', 'ID', await clientId(`${name}:bus-pub`));

    // Keep publishing through the drop and the reconnection; no call may hang.
    let failed = 0;
    let delivered = '';
    const deadline = Date.now() + 5000;
    for (let i = 0; Date.now() < deadline; i++) {
      const started = Date.now();
      const ok = await bus.publish(left(`n${i}`)).then(
        () => true,
        () => false,
      );
      assert.ok(Date.now() - started < publishTimeoutMs + 200, 'publish hung past its timeout');
      if (!ok) failed++;
      if (ok && failed > 0) {
        delivered = `n${i}`;
        break;
      }
      await sleep(5);
    }
    assert.ok(failed > 0, 'the killed connection never failed a publish');
    assert.notEqual(delivered, '', 'publish did not recover after reconnection');
    await waitUntil('delivery after recovery', () => seen.includes(delivered));
  });

  test('without Redis, publish rejects at once and open fails naming the URL', async () => {
    const url = 'redis://127.0.0.1:1';
    const bus = new RedisBus({ url, prefix: freshPrefix() });
    try {
      const started = Date.now();
      await assert.rejects(bus.publish(left('lost')));
      await assert.rejects(bus.ping());
      assert.ok(Date.now() - started < 100);
    } finally {
      await bus.close();
    }
    await assert.rejects(
      RedisBus.open({ url, prefix: freshPrefix(), startTimeoutMs: 300 }),
      /not connected to redis:\/\/127\.0\.0\.1:1/,
    );
  });

  test('onTransit times the bus’s own events only, once each', async () => {
    const prefix = freshPrefix();
    const transits: number[] = [];
    const bus = await openBus({ prefix, onTransit: (s) => transits.push(s) });
    const other = await openBus({ prefix });
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(nickOf(e)));
    await other.publish(left('theirs'));
    for (let i = 0; i < 5; i++) await bus.publish(left(`mine${i}`));
    await other.publish(left('theirs again'));
    await waitUntil('all events', () => seen.length === 7);
    assert.equal(transits.length, 5);
    for (const s of transits) assert.ok(s >= 0 && s < 5, `implausible transit ${s} s`);
  });

  test('an unreadable payload is dropped and later events still arrive', async () => {
    const prefix = freshPrefix();
    const bus = await openBus({ prefix });
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(nickOf(e)));
    await admin.publish(`${prefix}events`, '{not json');
    await bus.publish(left('fine'));
    await waitUntil('the good event', () => seen.length === 1);
    assert.deepEqual(seen, ['fine']);
  });

  test('close releases both connections', async () => {
    const name = freshName();
    const bus = await RedisBus.open({ url: REDIS_URL, prefix: freshPrefix(), name });
    await clientId(`${name}:bus-pub`);
    await clientId(`${name}:bus-sub`);
    await bus.close();
    const list = String(await admin.call('CLIENT', 'LIST'));
    assert.ok(!list.includes(` name=${name}:`), 'a connection is still open after close');
  });

  test('a process that closes its bus exits on its own', async () => {
    const self = import.meta.url;
    const module = new URL(self.endsWith('.ts') ? './redis-bus.ts' : './redis-bus.js', self);
    const code = `
      import { RedisBus } from ${JSON.stringify(module.href)};
      const bus = await RedisBus.open(${JSON.stringify({ url: REDIS_URL, prefix: freshPrefix() })});
      let got = 0;
      bus.subscribe(() => got++);
      await bus.publish({ kind: 'left', nick: 'x' });
      while (got === 0) await new Promise((ok) => setTimeout(ok, 5));
      await bus.close();
    `;
    const args = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const child = spawn(process.execPath, [...args, '--input-type=module', '-e', code], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exit = new Promise<number | null>((ok) => child.on('exit', (c) => ok(c)));
    const timeout = sleep(10_000, 'hung' as const, { ref: false });
    const result = await Promise.race([exit, timeout]);
    if (result === 'hung') child.kill('SIGKILL');
    assert.equal(result, 0, `child did not exit cleanly: ${result} ${stderr}`);
  });
});
