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
import { StreamOpener } from './open-stream.js';
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
