// Offline messages live in SQLite: they survive a restart, and a kill -9, and arrive once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  get,
  getVia,
  NO_LIMITS,
  SseClient,
  session,
  spawnServer,
  startTestServer,
} from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-restart-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Reads the offline lines a fresh login of `nick` gets, then logs it out. */
async function offlineLines(base: string, nick: string, count: number): Promise<string[]> {
  const c = await SseClient.open(base, `/${nick}`);
  await c.waitFor((x) => x.events.length >= 2 + count);
  // One more message through the same stream proves nothing else was queued before it.
  await get(base, `/msg/${nick}/${nick}%20end`);
  await c.waitForLine(`You to ${nick}: end`);
  c.close();
  return c.lines.slice(2, -1).map((l) => l.replace(/ \(\d{4}-\d\d-\d\d \d\d:\d\d\)/, ''));
}

test('offline messages survive a graceful restart and are delivered once', async () => {
  const dataDir = join(dir, 'graceful');
  const first = await startTestServer({ store: 'sqlite', dataDir });
  assert.equal((await get(first.url, '/msg/mary/john%20before%20restart')).status, 204);
  assert.equal((await get(first.url, '/msg/ann/john%20two%0Alines')).status, 204);
  await first.close();

  const second = await startTestServer({ store: 'sqlite', dataDir });
  try {
    assert.deepEqual(await offlineLines(second.url, 'john', 2), [
      'mary: before restart',
      'ann: two\nlines',
    ]);
    assert.deepEqual(await offlineLines(second.url, 'john', 0), []);
  } finally {
    await second.close();
  }
  const third = await startTestServer({ store: 'sqlite', dataDir });
  try {
    assert.deepEqual(await offlineLines(third.url, 'john', 0), [], 'still once after a restart');
  } finally {
    await third.close();
  }
});

test('every acknowledged offline message survives kill -9', async () => {
  const dataDir = join(dir, 'killed');
  const { child, url } = await spawnServer(dataDir);
  const sent: string[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const r = await get(url, `/msg/mary/kim%20n${i}`);
      if (r.status === 204) sent.push(`mary: n${i}`);
    }
  } finally {
    const exited = new Promise((ok) => child.once('exit', ok));
    child.kill('SIGKILL');
    await exited;
  }
  assert.equal(sent.length, 50);

  const { child: again, url: url2 } = await spawnServer(dataDir);
  try {
    assert.deepEqual(await offlineLines(url2, 'kim', 50), sent);
  } finally {
    // Open streams at shutdown: closing them announces leaves to streams that are closing too.
    const streams = await Promise.all(['a', 'a', 'b'].map((n) => SseClient.open(url2, `/${n}`)));
    await streams[2]?.waitFor((c) => c.events.length >= 2);
    const exited = new Promise((ok) => again.once('exit', ok));
    again.kill('SIGTERM');
    assert.equal(await exited, 0, 'SIGTERM exits cleanly');
    for (const s of streams) await s.waitFor((c) => c.closed);
  }
});

test('shutdown does not wait for a connection that never sent a request', async () => {
  const server = await startTestServer();
  const socket = connect(server.port, '127.0.0.1');
  await new Promise((ok) => socket.once('connect', ok));
  const started = Date.now();
  await server.close();
  // The grace period for open responses is 5 s; an unused connection must not wait for it.
  assert.ok(Date.now() - started < 2_500, `close took ${Date.now() - started} ms`);
  socket.destroy();
});

test('shutdown cuts a stream whose client stopped reading once the grace period is over', {
  timeout: 60_000,
}, async () => {
  const server = await startTestServer({
    ...NO_LIMITS,
    maxQueueBytes: 256 << 20,
    maxMessageLength: 10_000,
    maxUrlLength: 12_288,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 10 });
  const stalled = connect(server.port, '127.0.0.1');
  try {
    await new Promise((ok) => stalled.once('connect', ok));
    stalled.write('GET /stuck HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    stalled.pause();
    // Fill the loopback buffers until bytes wait in the server's own queue: its close() of the
    // stream then never finishes by itself.
    const text = 'x'.repeat(9_990);
    const sendOne = (i: number): Promise<number> =>
      getVia(agent, `${server.url}/msg/flood/all%20${i}:${text}`);
    const queued = async (): Promise<number> => {
      const m = /^ssechat_stream_queue_max_bytes (\d+)$/m.exec(
        (await get(server.url, '/metrics')).body,
      );
      return Number(m?.[1] ?? 0);
    };
    let sent = 0;
    while ((await queued()) < 1_000_000 && sent < 6_000) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => sendOne(sent + k)));
      sent += 20;
    }
    assert.ok((await queued()) >= 1_000_000, `a queue after ${sent} messages`);
    agent.destroy();
    const started = Date.now();
    await server.close();
    const took = Date.now() - started;
    // The grace period is 5 s; after it the stream is cut, whatever it still holds.
    assert.ok(took >= 4_500 && took < 8_000, `close took ${took} ms`);
  } finally {
    agent.destroy();
    stalled.destroy();
  }
});

test('shutdown tells every stream to come back later, each after its own delay', async () => {
  const server = await startTestServer();
  const streams = await Promise.all(
    ['p', 'q', 'r', 's'].map((n) => SseClient.open(server.url, `/${n}`)),
  );
  await Promise.all(streams.map((s) => s.waitFor((c) => c.raw.includes('Welcome'))));
  const cat = await session(server.url, 'cat');
  const json = await SseClient.open(server.url, '/api/v1/events', cat);
  await json.waitFor((c) => c.of('hello').length === 1);
  await server.close();
  await Promise.all([...streams, json].map((s) => s.waitFor((c) => c.closed)));
  const retries = streams.map((s) => {
    const m = /\nretry: (\d+)\n\n$/.exec(s.raw);
    assert.ok(m, `the stream ends with a retry field: ${JSON.stringify(s.raw.slice(-40))}`);
    return Number(m[1]);
  });
  // The JSON stream's last frame sets retry: and says the same in a bye event, for clients
  // (like our page) that reconnect by themselves.
  const m = /\nretry: (\d+)\nevent: bye\ndata: \{"retryMs":(\d+)\}\n\n$/.exec(json.raw);
  assert.ok(m, `the JSON stream ends with bye: ${JSON.stringify(json.raw.slice(-60))}`);
  assert.equal(m[1], m[2]);
  assert.deepEqual(json.of('bye'), [{ retryMs: Number(m[1]) }]);
  retries.push(Number(m[1]));
  for (const r of retries) assert.ok(r >= 1_000 && r <= 6_000, `retry ${r}`);
  assert.ok(new Set(retries).size > 1, `jittered: ${retries}`);
});
