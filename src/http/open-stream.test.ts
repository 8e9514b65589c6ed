import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryBus } from '../bus/memory-bus.js';
import { configWith } from '../config.js';
import { ChatService } from '../core/chat.js';
import { Hub } from '../core/hub.js';
import { silentLogger } from '../logger.js';
import { Stats } from '../ops/stats.js';
import { MemoryPresence } from '../presence/memory-presence.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { Admission } from './admission.js';
import { ClassicFormat } from './classic-format.js';
import { STARTS_PER_TURN, StartQueue, StreamOpener } from './open-stream.js';
import { NodeStreams } from './sse/node-transport.js';

test('a client gone while its request waited opens nothing: no ghost in the Hub or presence', async () => {
  const config = configWith({});
  const hub = new Hub();
  const presence = new MemoryPresence();
  const { maxOfflinePerUser } = config;
  const store = new SqliteStore({ path: ':memory:', synchronous: 'normal', maxOfflinePerUser });
  const chat = new ChatService({ store, bus: new MemoryBus(), presence, hub, limits: config });
  const admission = new Admission({
    limiters: {},
    trustProxy: false,
    accounts: false,
    maxStreamsPerUser: 1,
  });
  const deps = {
    chat,
    logger: silentLogger,
    maxQueueBytes: 65_536,
    admission,
    stats: new Stats(),
    streams: new NodeStreams('auto'),
  };
  const format = new ClassicFormat();
  const streams = new StreamOpener(deps, 'classic');
  let opened = 0;
  const server = createServer(async (req, res) => {
    // As a front door waiting on authentication or a rate limit in Redis.
    await sleep(150);
    const sub = streams.open({
      req,
      res,
      nick: 'ghost',
      format,
      credential: undefined,
      graceMs: 0,
      start: (s, greeting) => s.open(format.greeting('ghost', greeting)),
    });
    if (sub) opened++;
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  try {
    const req = request({ host: '127.0.0.1', port, path: '/ghost', agent: false });
    req.on('error', () => {});
    req.end();
    await sleep(30);
    req.destroy();
    await sleep(400);
    assert.equal(opened, 0);
    assert.equal(hub.size, 0);
    assert.deepEqual(await presence.online(), []);
    // Its place under --max-streams-per-user was never taken: the real client gets in.
    const live = request({ host: '127.0.0.1', port, path: '/ghost', agent: false });
    const status = await new Promise<number>((ok) => {
      live.on('response', (res) => ok(res.statusCode ?? 0));
      live.end();
    });
    assert.equal(status, 200);
    assert.equal(hub.size, 1);
    live.destroy();
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
    await presence.close();
  }
});

test('streams start STARTS_PER_TURN per turn of the event loop, in the order opened', async () => {
  const queue = new StartQueue();
  const started: number[] = [];
  const total = 2 * STARTS_PER_TURN + 5;
  const all = Array.from({ length: total }, (_, i) => queue.turn().then(() => started.push(i)));
  assert.equal(queue.size, total);
  // Nothing in the turn that asked.
  await Promise.resolve();
  assert.equal(started.length, 0);
  // One batch per turn: a poll phase (accepting connections) comes between two.
  await new Promise((ok) => setImmediate(ok));
  assert.equal(started.length, STARTS_PER_TURN);
  await new Promise((ok) => setImmediate(ok));
  assert.equal(started.length, 2 * STARTS_PER_TURN);
  await Promise.all(all);
  assert.deepEqual(
    started,
    Array.from({ length: total }, (_, i) => i),
  );
  assert.equal(queue.size, 0);
  // Empty again, it starts the next one in the next turn.
  let later = false;
  const one = queue.turn().then(() => {
    later = true;
  });
  await new Promise((ok) => setImmediate(ok));
  assert.equal(later, true);
  await one;
});

test('a stream ended before its turn to start writes nothing and leaves the Hub', async () => {
  const config = configWith({});
  const hub = new Hub();
  const presence = new MemoryPresence();
  const { maxOfflinePerUser } = config;
  const store = new SqliteStore({ path: ':memory:', synchronous: 'normal', maxOfflinePerUser });
  const chat = new ChatService({ store, bus: new MemoryBus(), presence, hub, limits: config });
  const admission = new Admission({
    limiters: {},
    trustProxy: false,
    accounts: false,
    maxStreamsPerUser: 0,
  });
  const deps = {
    chat,
    logger: silentLogger,
    maxQueueBytes: 65_536,
    admission,
    stats: new Stats(),
    streams: new NodeStreams('auto'),
  };
  const format = new ClassicFormat();
  const streams = new StreamOpener(deps, 'classic');
  let starts = 0;
  let inHub = -1;
  const server = createServer((req, res) => {
    const sub = streams.open({
      req,
      res,
      nick: 'revoked',
      format,
      credential: undefined,
      graceMs: 0,
      start: (s, greeting) => {
        starts++;
        s.open(format.greeting('revoked', greeting));
      },
    });
    assert.ok(sub);
    // In the Hub at once, where a revoke finds it, and ended there before its turn.
    inHub = hub.size;
    chat.endStreams('revoked', () => true);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  try {
    const req = request({ host: '127.0.0.1', port, path: '/revoked', agent: false });
    req.on('error', () => {});
    const body = await new Promise<string>((ok) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => ok(text));
        res.on('close', () => ok(text));
      });
      req.end();
    });
    assert.equal(inHub, 1);
    assert.equal(starts, 0);
    assert.equal(body, '');
    await sleep(50);
    assert.equal(hub.size, 0);
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
    await presence.close();
  }
});
