// Many stream requests pipelined on one connection (issue 16, item 1): a stream opens only on a
// request that owns its connection, and everything it holds (the Hub, presence, its place
// under --max-streams-per-user) ends when that connection closes. Raw sockets, real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { api, get, NO_LIMITS, rawSocket, SseClient, session, startTestServer } from './helpers.js';
import { waitUntil } from './wait-until.js';

/** One pipelined stream request for `path`, with `headers` (e.g. a Cookie). */
const streamRequest = (path: string, headers = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n${headers}\r\n`;

/** The value of `ssechat_streams_open` for both doors together. */
async function streamsOpen(base: string): Promise<number> {
  const body = (await get(base, '/metrics')).body;
  let n = 0;
  for (const m of body.matchAll(/^ssechat_streams_open\{door="\w+"\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

/** Statuses of every response on a raw connection, in order. */
const statuses = (text: string): number[] =>
  [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));

describe('pipelined stream requests, open mode', () => {
  let server: RunningServer;
  let base: string;
  let cookie: Record<string, string>;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS });
    base = server.url;
    cookie = await session(base, 'watcher');
  });
  after(() => server.close());

  const online = async (): Promise<string[]> =>
    (await api(base, 'GET', '/api/v1/presence', undefined, cookie)).json.online;

  test('20 classic streams on one connection, then a close: nobody stays online', async () => {
    const c = rawSocket(server.port);
    let bytes = '';
    for (let i = 0; i < 20; i++) bytes += streamRequest(`/ghost${i}`);
    c.sock.write(bytes);
    await waitUntil('an answer or a close', () => c.text().includes('HTTP/1.1') || c.closed());
    await new Promise((ok) => setTimeout(ok, 200));
    c.sock.destroy();
    await waitUntil('no ghosts online', async () =>
      (await online()).every((n) => !n.startsWith('ghost')),
    );
    await waitUntil('no stream open', async () => (await streamsOpen(base)) === 0);
  });

  test('20 API streams on one connection, then a close: no stream stays open', async () => {
    const c = rawSocket(server.port);
    const ghost = await session(base, 'apighost');
    c.sock.write(streamRequest('/api/v1/events', `Cookie: ${ghost.Cookie}\r\n`).repeat(20));
    await waitUntil('an answer or a close', () => c.text().includes('HTTP/1.1') || c.closed());
    await new Promise((ok) => setTimeout(ok, 200));
    c.sock.destroy();
    await waitUntil('apighost offline', async () => !(await online()).includes('apighost'));
    await waitUntil('no stream open', async () => (await streamsOpen(base)) === 0);
  });

  test('a stream pipelined behind a slow POST is refused, and nothing stays open', async () => {
    const c = rawSocket(server.port);
    // A send through the API: its handler waits for the Store, so the stream's request is
    // parsed while the POST's response still holds the connection.
    const body = JSON.stringify({ to: 'all', text: 'slow' });
    c.sock.write(
      `POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nCookie: ${cookie.Cookie}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        streamRequest('/api/v1/events', `Cookie: ${cookie.Cookie}\r\n`) +
        streamRequest('/behindpost'),
    );
    await waitUntil('three answers', () => statuses(c.text()).length === 3);
    assert.deepEqual(statuses(c.text()), [201, 400, 400], c.text());
    assert.ok(!(await online()).includes('behindpost'));
    assert.equal(await streamsOpen(base), 0);
    c.sock.destroy();
  });

  test('a stream request with a body is refused, and the requests behind it are answered', async () => {
    const c = rawSocket(server.port);
    // Node reads the body after the request, so the stream could never take the connection
    // over; the requests behind it used to run and never be answered.
    c.sock.write(
      `GET /withbody HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Length: 3\r\n\r\nabc` +
        `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    await waitUntil('two answers', () => statuses(c.text()).length === 2, 3_000);
    assert.deepEqual(statuses(c.text()), [400, 200], c.text());
    assert.match(c.text(), /HTTP_STREAM_BODY/);
    assert.ok(!(await online()).includes('withbody'));
    assert.equal(await streamsOpen(base), 0);
    c.sock.destroy();
  });

  test('requests pipelined behind a stream close the connection, stream and all', async () => {
    const c = rawSocket(server.port);
    c.sock.write(streamRequest('/first') + streamRequest('/second'));
    await waitUntil('the server to close the connection', () => c.closed());
    await waitUntil('nobody online', async () =>
      (await online()).every((n) => n !== 'first' && n !== 'second'),
    );
    await waitUntil('no stream open', async () => (await streamsOpen(base)) === 0);
  });
});

describe('pipelined stream requests, accounts mode', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({
      auth: 'accounts',
      connectLimitIp: null,
      connectLimitUser: null,
    });
    base = server.url;
  });
  after(() => server.close());

  test('40 pipelined streams of one user, closed: the user can still open a stream', async () => {
    const alice = await session(base, 'alice', 'correct horse battery', true);
    for (let round = 0; round < 2; round++) {
      const c = rawSocket(server.port);
      c.sock.write(streamRequest('/alice', `Cookie: ${alice.Cookie}\r\n`).repeat(40));
      await waitUntil('an answer or a close', () => c.text().includes('HTTP/1.1') || c.closed());
      await new Promise((ok) => setTimeout(ok, 200));
      c.sock.destroy();
    }
    await waitUntil('no stream open', async () => (await streamsOpen(base)) === 0);
    const es = await SseClient.open(base, '/alice', alice);
    try {
      assert.equal(es.status, 200);
      await es.waitForLine('Welcome alice!');
    } finally {
      es.close();
    }
  });
});
