// A stream ended by the server (logout, revoke, password change) whose client stopped reading:
// its end waits behind unsent bytes, so without a deadline the stream, its user's presence and
// its place under --max-streams-per-user would live for good. Real server, raw socket.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { api, get, getVia, NO_LIMITS, session, startTestServer } from './helpers.js';
import { waitUntil } from './wait-until.js';

/** A gauge from /metrics. */
async function gauge(base: string, re: RegExp): Promise<number> {
  return Number(re.exec((await get(base, '/metrics')).body)?.[1] ?? Number.NaN);
}

test('a logout ends a stream whose client stopped reading within 5 s', {
  timeout: 60_000,
}, async () => {
  const server = await startTestServer({
    ...NO_LIMITS,
    maxQueueBytes: 64 * 1024 * 1024,
    maxMessageLength: 10_000,
    maxUrlLength: 12_288,
    // The leave is announced at once: what is measured is the stream's end.
    presenceGraceMs: 0,
  });
  const base = server.url;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const stuck = connect(server.port, '127.0.0.1');
  stuck.on('error', () => {});
  const connected = new Promise((ok) => stuck.once('connect', ok));
  try {
    const cookie = await session(base, 'stuck');
    await connected;
    stuck.write(
      `GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: ${cookie.Cookie}\r\n\r\n`,
    );
    stuck.pause();
    const watcher = await session(base, 'watcher');
    const online = async (): Promise<string[]> =>
      (await api(base, 'GET', '/api/v1/presence', undefined, watcher)).json.online;
    await waitUntil('stuck online', async () => (await online()).includes('stuck'));
    // Past the loopback buffers: bytes wait in the server's own queue.
    const text = 'x'.repeat(9_990);
    let sent = 0;
    const queued = () => gauge(base, /^ssechat_stream_queue_bytes (\d+)$/m);
    while ((await queued()) < 1_000_000 && sent < 4_000) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          getVia(agent, `${base}/msg/flood/stuck%20${sent + k}:${text}`),
        ),
      );
      assert.ok(
        batch.every((st) => st === 204),
        String(batch),
      );
      sent += 20;
    }
    assert.ok((await queued()) >= 1_000_000, 'the queue filled');
    const logout = await api(base, 'DELETE', '/api/v1/session', undefined, {
      ...cookie,
      Origin: base,
    });
    assert.equal(logout.status, 204, logout.body);
    const loggedOut = Date.now();
    const apiStreams = () => gauge(base, /^ssechat_streams_open\{door="api"\} (\d+)$/m);
    await waitUntil('the stream to end', async () => (await apiStreams()) === 0, 9_000, 100);
    const s = (Date.now() - loggedOut) / 1000;
    // 5 s to send what it holds (sse/stream.ts CLOSE_DEADLINE_MS), then cut.
    assert.ok(s >= 4.5 && s <= 7, `the stream lived ${s} s after the logout`);
    await waitUntil('stuck offline', async () => !(await online()).includes('stuck'));
  } finally {
    stuck.destroy();
    agent.destroy();
    await server.close();
  }
});
