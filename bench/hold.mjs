// bench/hold.mjs [--nodes 6] [--total 100000] [--cookies 60] [--idle 5] [--timeout 1200]
//               [--database-url URL] [--redis-url URL]
//
// "100k connections over 6 processes" (issue 6, scenario 4, after the cluster): `nodes`
// ssechat processes on PostgreSQL and Redis (--store postgres --bus redis) hold `total` SSE
// streams on GET /api/v1/events between them, an equal share each. Once every stream has its
// `hello` and all have idled `idle` seconds, one broadcast is sent to node 0; it must reach
// every stream on every node exactly once. Reported: streams held, connect failures, time to
// connect them all, each node's RSS and KB per stream, and the broadcast's deliveries, losses,
// duplicates and publish-to-deliver latency (p50, p99, last).
//
// A process may hold at most 20,000 files here, so each node holds at most ~17k streams and
// the clients come from several processes (bench/lib/sse-load.mjs, at most 9,000 streams each,
// each on its own 127.0.0.x source address). Nodes on CPU 0, clients on CPU 1; PostgreSQL and
// Redis unpinned. The run holds /tmp/bench.lock. A schema ssechat_hold_<pid> and a Redis
// prefix ssechat-hold:<pid>: are made for the run and removed after it. Loopback only; the
// whole script stops itself after --timeout seconds. Progress on stderr, one JSON line on stdout.
import { dropBackends } from './lib/backends.mjs';
import { api, freePort, login } from './lib/http.mjs';
import { memKB, round } from './lib/measure.mjs';
import { installCleanup, pinSelf, sleep, withBenchLock } from './lib/process.mjs';
import { parseArgs, printResult, say } from './lib/report.mjs';
import { startClusterNode } from './lib/server.mjs';
import { marker, nowUs, SseFleet } from './lib/sse-load.mjs';

const args = parseArgs(process.argv.slice(2));
const NODES = Number(args.nodes ?? 6);
const TOTAL = Number(args.total ?? 100_000);
const COOKIES = Number(args.cookies ?? 60);
const IDLE_S = Number(args.idle ?? 5);
const DB_URL = String(args['database-url'] ?? 'postgres://postgres@127.0.0.1:5432/test');
const REDIS_URL = String(args['redis-url'] ?? 'redis://127.0.0.1:6379');
const SCHEMA = `ssechat_hold_${process.pid}`;
const PREFIX = `ssechat-hold:${process.pid}:`;
const PER_NODE_MAX = 17_000;
const BACKENDS = { dbUrl: DB_URL, schema: SCHEMA, redisUrl: REDIS_URL, prefix: PREFIX };

installCleanup(Number(args.timeout ?? 1200) * 1000, 'bench/hold');
pinSelf();
if (Math.ceil(TOTAL / NODES) > PER_NODE_MAX) {
  throw new Error(`${TOTAL} over ${NODES} nodes is more than ${PER_NODE_MAX} per process`);
}

const nodes = [];
const fleets = [];
try {
  for (let i = 0; i < NODES; i++) nodes.push(await startClusterNode(await freePort(), BACKENDS));
  const base = nodes.map((n) => memKB(n.pid).rss);
  const cookies = [];
  for (let i = 0; i < COOKIES; i++) cookies.push(await login(nodes[0].port, `holder${i}`));
  const sender = await login(nodes[0].port, 'sender');
  const result = await withBenchLock(async () => {
    const t0 = Date.now();
    const shares = nodes.map((_, i) => Math.floor(TOTAL / NODES) + (i < TOTAL % NODES ? 1 : 0));
    const connected = await Promise.all(
      nodes.map(async (node, i) => {
        const fleet = await SseFleet.start(SseFleet.childrenFor(shares[i]));
        fleets.push(fleet);
        const c = await fleet.connect(shares[i], { port: node.port, cookies, concurrency: 100 });
        say(`node ${i}: ${c.ok} streams up, ${c.failed} failed, in ${c.ms} ms`);
        return c;
      }),
    );
    const connectMs = Date.now() - t0;
    const held = connected.reduce((a, c) => a + c.ok, 0);
    const failed = connected.reduce((a, c) => a + c.failed, 0);
    await sleep(IDLE_S * 1000);
    const perNode = nodes.map((n, i) => {
      const rss = memKB(n.pid).rss;
      return {
        streams: connected[i].ok,
        rss_mb: round(rss / 1024),
        kb_per_stream: round((rss - base[i]) / Math.max(1, connected[i].ok), 2),
      };
    });
    say(`${held} streams held (${failed} failed) in ${connectMs} ms; broadcasting once`);
    await Promise.all(fleets.map((f) => f.arm(1)));
    const sentUs = nowUs();
    const r = await api(
      nodes[0].port,
      'POST',
      '/api/v1/messages',
      {
        to: 'all',
        text: marker(1),
      },
      { cookie: sender },
    );
    if (r.status !== 201) throw new Error(`broadcast: ${r.status} ${JSON.stringify(r.body)}`);
    const reports = await Promise.all(fleets.map((f) => f.wait(120_000)));
    const sum = (k) => reports.reduce((a, x) => a + x[k], 0);
    return {
      held,
      failed,
      connect_ms: connectMs,
      errors: connected.flatMap((c) => c.errors).slice(0, 5),
      per_node: perNode,
      broadcast: {
        delivered: sum('frames'),
        lost: sum('lost'),
        duplicates: sum('dups'),
        streams_closed: sum('closed'),
        p50_ms: round(Math.max(...reports.map((x) => x.p50)) / 1000, 1),
        p99_ms: round(Math.max(...reports.map((x) => x.p99)) / 1000, 1),
        last_ms: round((Math.max(...reports.map((x) => x.lastUs)) - sentUs) / 1000, 1),
      },
    };
  });
  say(
    `broadcast reached ${result.broadcast.delivered} of ${result.held}; lost ${result.broadcast.lost}, ` +
      `duplicates ${result.broadcast.duplicates}; p99 ${result.broadcast.p99_ms} ms, last ${result.broadcast.last_ms} ms`,
  );
  const met =
    result.held === TOTAL && result.broadcast.delivered === TOTAL && result.broadcast.lost === 0;
  printResult({
    scenario: 'hold',
    params: { nodes: NODES, total: TOTAL, cookies: COOKIES, idle_s: IDLE_S },
    rows: [{ server: 'ssechat', scenario: `hold ${TOTAL} over ${NODES}`, ...result }],
    goals: [
      {
        goal: `${TOTAL} connections over ${NODES} processes held, with a broadcast reaching all`,
        value: result.broadcast.delivered,
        baseline: TOTAL,
        ratio: round(result.broadcast.delivered / TOTAL, 3),
        met,
        unit: 'streams',
      },
    ],
  });
} finally {
  for (const f of fleets) await f.close().catch(() => {});
  for (const n of nodes) await n.stop().catch(() => {});
  await dropBackends(BACKENDS).catch((err) => say(`cleanup: ${err.message}`));
}
