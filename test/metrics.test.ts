// GET /metrics over the real wire: the counters move by what real traffic did, the token
// guards the page, and the operations paths never shadow a user's classic stream.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { api, get, getVia, SseClient, session, startTestServer } from './helpers.js';

/** One scrape, as `name{labels}` → value. */
type Scrape = Map<string, number>;

async function scrape(base: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const reply = await get(base, '/metrics', headers);
  assert.equal(reply.status, 200, reply.body);
  const values: Scrape = new Map();
  for (const line of reply.body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** How much each named series grew from `before` to `after`. */
function delta(before: Scrape, after: Scrape, names: string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, (after.get(n) ?? 0) - (before.get(n) ?? 0)]));
}

/** Scrapes until `check` holds: streams close a moment after their client went away. */
async function scrapeUntil(base: string, check: (s: Scrape) => boolean): Promise<Scrape> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = await scrape(base);
    if (check(s)) return s;
    if (Date.now() > deadline) throw new Error(`never held: ${JSON.stringify([...s])}`);
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

describe('GET /metrics after real traffic', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer();
    base = server.url;
  });
  after(() => server.close());

  test('streams, messages, deliveries, receipts, replay and resets move by the right amounts', async () => {
    const alice = await SseClient.open(base, '/alice');
    await alice.waitForLine('Welcome alice!');
    const cookie = await session(base, 'bob');
    let bob = await SseClient.open(base, '/api/v1/events', cookie);
    await bob.waitFor((c) => c.of('hello').length === 1);
    await alice.waitForLine('bob has joined.');
    const start = await scrape(base);

    // A classic broadcast reaches both streams; an API message reaches its two parties once.
    assert.equal((await get(base, '/msg/alice/all%20hi')).status, 204);
    await bob.waitFor((c) => c.of('message').length === 1);
    const hi = bob.of('message')[0].id;
    const dm = { to: 'alice', text: 'dm', clientId: 'c1' };
    assert.equal((await api(base, 'POST', '/api/v1/messages', dm, cookie)).status, 201);
    const retry = await api(base, 'POST', '/api/v1/messages', dm, cookie);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    await alice.waitForLine('bob: dm');
    await bob.waitFor((c) => c.of('message').length === 2);
    // A receipt goes to bob's API stream; the classic format does not show receipts.
    assert.equal((await api(base, 'POST', '/api/v1/read', { upTo: hi }, cookie)).status, 201);
    await bob.waitFor((c) => c.of('read').length === 1);
    const lastSeen = bob.events.at(-1)?.id ?? '';

    // Bob goes away, misses three broadcasts, and resumes from the last id he saw.
    bob.close();
    await scrapeUntil(base, (s) => s.get('ssechat_streams_open{door="api"}') === 0);
    for (const n of [1, 2, 3]) await get(base, `/msg/carol/all%20missed${n}`);
    await alice.waitForLine('carol to all: missed3');
    bob = await SseClient.open(base, '/api/v1/events', { ...cookie, 'Last-Event-ID': lastSeen });
    await bob.waitFor((c) => c.of('hello').length === 1);
    assert.deepEqual(
      bob.of('message').map((m) => m.text),
      ['missed1', 'missed2', 'missed3'],
    );
    // Two resumes that cannot be exact.
    for (const id of ['nonsense', '99999']) {
      const stale = await SseClient.open(base, '/api/v1/events', {
        ...cookie,
        'Last-Event-ID': id,
      });
      await stale.waitFor((c) => c.of('reset').length === 1);
      stale.close();
    }
    const end = await scrapeUntil(base, (s) => s.get('ssechat_streams_open{door="api"}') === 1);

    assert.deepEqual(
      delta(start, end, [
        'ssechat_messages_in_total{door="classic"}',
        'ssechat_messages_in_total{door="api"}',
        'ssechat_read_receipts_total',
        'ssechat_streams_opened_total{door="classic"}',
        'ssechat_streams_opened_total{door="api"}',
        'ssechat_resets_total{reason="invalid"}',
        'ssechat_resets_total{reason="unknown"}',
        'ssechat_resets_total{reason="expired"}',
        'ssechat_replay_events_count',
        'ssechat_replay_events_sum',
        // hi, dm, its retry, the receipt, three broadcasts: each an append call.
        'ssechat_store_append_seconds_count',
      ]),
      {
        'ssechat_messages_in_total{door="classic"}': 4,
        'ssechat_messages_in_total{door="api"}': 1,
        ssechat_read_receipts_total: 1,
        'ssechat_streams_opened_total{door="classic"}': 0,
        'ssechat_streams_opened_total{door="api"}': 3,
        'ssechat_resets_total{reason="invalid"}': 1,
        'ssechat_resets_total{reason="unknown"}': 1,
        'ssechat_resets_total{reason="expired"}': 0,
        ssechat_replay_events_count: 1,
        ssechat_replay_events_sum: 3,
        ssechat_store_append_seconds_count: 7,
      },
    );
    // Live frames: hi (2), dm (2), the receipt (1), three missed broadcasts to alice (3), and
    // the two stale tabs' logins, which the classic protocol announces like the seed (2; the
    // API announces only a first login, and bob's resume came back within his grace window).
    // Replayed events are not deliveries: they come from the Store.
    await alice.waitFor((c) => c.lines.filter((l) => l === 'bob has joined.').length === 3);
    const delivered =
      (end.get('ssechat_deliveries_total') ?? 0) - (start.get('ssechat_deliveries_total') ?? 0);
    assert.equal(delivered, 10);
    assert.equal(end.get('ssechat_streams_open{door="classic"}'), 1);
    assert.equal(end.get('ssechat_users_online'), 2);
    assert.ok((end.get('ssechat_store_read_seconds_count') ?? 0) >= 1);
    assert.ok((end.get('ssechat_bus_publish_seconds_count') ?? 0) >= 7);
    // prom-client's process metrics, under our prefix like everything else.
    for (const name of [
      'ssechat_process_cpu_seconds_total',
      'ssechat_process_resident_memory_bytes',
      'ssechat_process_open_fds',
      'ssechat_nodejs_eventloop_lag_seconds',
    ]) {
      assert.ok(end.has(name), `${name} is missing`);
    }
    assert.deepEqual(
      [...end.keys()].filter((k) => !k.startsWith('ssechat_')),
      [],
    );
    alice.close();
    bob.close();
  });
});

describe('/metrics with --metrics-token, and the routing of the operations paths', () => {
  const token = 'a-long-scrape-token-0123456789';
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ metricsToken: token });
    base = server.url;
  });
  after(() => server.close());

  test('only the bearer token opens /metrics; the refusal is a 401 from the catalogue', async () => {
    const refused: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: token },
    ];
    for (const headers of refused) {
      const reply = await get(base, '/metrics', headers);
      assert.equal(reply.status, 401);
      assert.equal(JSON.parse(reply.body).error.code, 'AUTH_METRICS_TOKEN');
      assert.equal(reply.headers['www-authenticate'], 'Bearer realm="metrics"');
      assert.equal(reply.headers['cache-control'], 'no-store');
    }
    const ok = await get(base, '/metrics', { Authorization: `bearer ${token}` });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(ok.headers['cache-control'], 'no-store');
    const head = await get(base, '/metrics', { Authorization: `Bearer ${token}` }, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('GET and HEAD only; a user called metrics, healthz or readyz still gets a stream', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      const post = await get(base, path, {}, 'POST');
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      const nick = path.slice(1);
      const stream = await SseClient.open(base, path);
      assert.equal(stream.status, 200);
      assert.equal(stream.headers['content-type'], 'text/event-stream');
      await stream.waitForLine(`Welcome ${nick}!`);
      stream.close();
    }
    const health = await get(base, '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
    assert.equal(health.headers['cache-control'], 'no-store');
  });
});

test('a stalled reader shows in the queue gauges, then as one slow-reader drop', {
  timeout: 60_000,
}, async () => {
  const server = await startTestServer({
    maxQueueBytes: 262_144,
    maxMessageLength: 10_000,
    maxUrlLength: 12_288,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    // Logs in over a raw socket, then never reads again (as in slow-reader.test.ts).
    const stalled = connect(server.port, '127.0.0.1');
    await new Promise((ok) => stalled.once('connect', ok));
    stalled.write('GET /stuck HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    stalled.pause();
    await scrapeUntil(server.url, (s) => s.get('ssechat_streams_open{door="classic"}') === 1);
    const text = 'x'.repeat(9_990);
    const sendOne = (i: number): Promise<number> =>
      getVia(agent, `${server.url}/msg/flood/all%20${i}:${text}`);
    let queued = 0;
    let sent = 0;
    let s = await scrape(server.url);
    while (s.get('ssechat_slow_reader_drops_total{door="classic"}') === 0 && sent < 4_000) {
      await Promise.all(Array.from({ length: 10 }, (_, k) => sendOne(sent + k)));
      sent += 10;
      s = await scrape(server.url);
      const max = s.get('ssechat_stream_queue_max_bytes') ?? 0;
      assert.ok(max <= 262_144 + 10_100, `a queue of ${max} bytes passed the bound`);
      queued = Math.max(queued, max);
      assert.equal(s.get('ssechat_stream_queue_bytes'), max, 'one stream holds all');
    }
    stalled.destroy();
    assert.equal(s.get('ssechat_slow_reader_drops_total{door="classic"}'), 1);
    assert.ok(queued > 0, 'no scrape saw the queue grow');
    await scrapeUntil(server.url, (x) => x.get('ssechat_streams_open{door="classic"}') === 0);
  } finally {
    agent.destroy();
    await server.close();
  }
});

test('a broadcast queued on several stalled streams counts its bytes once', {
  timeout: 60_000,
}, async () => {
  const server = await startTestServer({
    maxQueueBytes: 8_388_608,
    maxMessageLength: 10_000,
    maxUrlLength: 12_288,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const stall = async (nick: string) => {
    const sock = connect(server.port, '127.0.0.1');
    await new Promise((ok) => sock.once('connect', ok));
    sock.write(`GET /${nick} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    sock.pause();
    return sock;
  };
  try {
    // Three streams that never read: each socket holds the same broadcast chunks, one Buffer
    // each (sse/tick-flush.ts), which the gauge must count once, not three times.
    const stalled = [await stall('s1'), await stall('s2'), await stall('s3')];
    await scrapeUntil(server.url, (s) => s.get('ssechat_streams_open{door="classic"}') === 3);
    const text = 'x'.repeat(9_990);
    let s = await scrape(server.url);
    let sent = 0;
    // Until every socket's kernel buffers are full and each queue holds 1 MB of its own.
    const least = (x: Scrape) => x.get('ssechat_stream_queue_max_bytes') ?? 0;
    while (least(s) < 1_048_576 && sent < 8_000) {
      await Promise.all(
        Array.from({ length: 10 }, (_, k) =>
          getVia(agent, `${server.url}/msg/flood/all%20${sent + k}:${text}`),
        ),
      );
      sent += 10;
      s = await scrape(server.url);
    }
    const max = least(s);
    const sum = s.get('ssechat_stream_queue_bytes') ?? 0;
    assert.ok(max >= 1_048_576, `the queues never grew: ${max}`);
    // Each stream's queue is mostly the same chunks: their real bytes are about one queue.
    assert.ok(sum < max * 1.5, `${sum} bytes reported for queues of at most ${max}`);
    assert.ok(sum >= max, `${sum} bytes reported, below one queue of ${max}`);
    for (const sock of stalled) sock.destroy();
    await scrapeUntil(server.url, (x) => x.get('ssechat_streams_open{door="classic"}') === 0);
    // Nothing stays counted as shared once those sockets are gone: one new stalled stream's
    // queue is reported whole.
    const last = await stall('s4');
    const one = Array.from({ length: 300 }, (_, k) =>
      getVia(agent, `${server.url}/msg/flood/s4%20${k}:${text}`),
    );
    await Promise.all(one);
    s = await scrape(server.url);
    assert.equal(s.get('ssechat_stream_queue_bytes'), least(s), 'one stream holds all');
    last.destroy();
  } finally {
    agent.destroy();
    await server.close();
  }
});
