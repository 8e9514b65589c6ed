// bench/cluster.mjs [--quick] [--duration 10s] [--reps 3] [--conns 50] [--port-base 18761]
//                   [--only sqlite-1,pg-redis-1,pg-redis-2] [--database-url URL]
//                   [--redis-url URL] [--timeout S]
//
// "Cluster" (issue 7): what the cluster backends cost per message, and per node. Keep-alive
// sends as in bench/send.mjs (wrk -t1 POSTs /api/v1/messages with a JSON body and a session
// cookie; every message is a DM to "rx"), in one invocation, on:
//
//   1. sqlite   1 node, --store sqlite (the baseline, as in send.mjs);
//   2. pg+redis 1 node, --store postgres --bus redis (the cost of the cluster backends);
//   3. pg+redis 2 nodes, the load split over both: one wrk per node, CONNS/2 connections
//      each (the same total), and one SSE receiver of "rx" on EACH node, which must get every
//      message, the half sent on the other node included (via Redis, or the Sequencer's
//      catch-up from PostgreSQL);
//   4. the same 2 nodes with every send on node A (CONNS connections), node B only
//      delivering: B's CPU is what a node costs per cluster message it did not accept.
//
// Reported per case (median of REPS runs): msgs/s, p50/p99 latency (per node in cases 3-4),
// ssechat CPU µs per message (all nodes; each node per cluster message, and per message it
// accepted), PostgreSQL
// CPU µs/msg (utime+stime of every `postgres` process, plus the postmaster's cutime+cstime so
// that a backend that exits meanwhile still counts), Redis CPU µs/msg (the redis-server
// behind --redis-url), messages per PostgreSQL write transaction (the group-commit batch: the
// change of the next xid) and WAL bytes per message, CPU 0 / CPU 1 busy (and "foreign": busy
// time of both cores that none of the above nor the load generators spent), and deliveries:
// every message stored between a start and an end marker (counted in PostgreSQL, or by id
// range for SQLite) must reach every receiver exactly once.
//
// Pinning: the ssechat nodes on CPU 0 (both of them in case 3), wrk and this process (the
// receivers) on CPU 1 (LOADCPU). PostgreSQL and Redis are NOT pinned: they run on whichever
// core is free, and both are shared with anything else on this box. Every timed run holds
// /tmp/bench.lock. Each PostgreSQL case gets a fresh schema ssechat_bench_<pid> and Redis key
// prefix ssechat-bench:<pid>:, dropped and deleted after the case, and at exit (ctrl-c, error,
// timeout) by psql/redis-cli. Loopback only. Progress on stderr, one JSON line on stdout.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { dropBackends, dropBackendsSync } from './lib/backends.mjs';
import { api, login, openReceiver } from './lib/http.mjs';
import {
  cpuBusyNs,
  cpuNs,
  median,
  memKB,
  percentile,
  pgCpuNs,
  procStatNs,
  round,
} from './lib/measure.mjs';
import {
  installCleanup,
  LOAD_CPU,
  pinSelf,
  run,
  SERVER_CPU,
  sleep,
  tempDir,
  withBenchLock,
} from './lib/process.mjs';
import { parseArgs, printResult, say, table } from './lib/report.mjs';
import { startClusterNode, startSsechat } from './lib/server.mjs';
import { parseWrk, wrkPostScript } from './lib/wrk.mjs';

const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const DURATION = String(args.duration ?? (quick ? '3s' : '10s'));
const REPS = Number(args.reps ?? (quick ? 1 : 3));
const CONNS = Number(args.conns ?? 50);
const WARMUP = quick ? '1s' : '3s';
const PORT_BASE = Number(args['port-base'] ?? 18761);
const DB_URL = String(args['database-url'] ?? 'postgres://postgres@127.0.0.1:5432/test');
const REDIS_URL = String(args['redis-url'] ?? 'redis://127.0.0.1:6379');
const SCHEMA = `ssechat_bench_${process.pid}`;
const PREFIX = `ssechat-bench:${process.pid}:`;
const BACKENDS = { dbUrl: DB_URL, schema: SCHEMA, redisUrl: REDIS_URL, prefix: PREFIX };

// Bounded: a full run takes about 3 min, --quick about 40 s (waits for the bench lock not
// counted); this stops everything after --timeout s whatever happens.
installCleanup(Number(args.timeout ?? (quick ? 85 : 295)) * 1000, 'bench/cluster');
pinSelf();

// ---- backends: fresh per case, removed at the end (and at exit, whatever the cause) --------
let dirty = false; // the schema or keys may exist
const db = new pg.Client({ connectionString: DB_URL });
db.on('error', (err) => say(`bench pg client: ${err.message}`));
await db.connect();

/** Drops the schema and deletes the keys; both are fine when there are none. */
async function resetBackends() {
  await dropBackends(BACKENDS);
  dirty = false;
}

// Registered after installCleanup's hook, so the nodes are already killed when this runs.
process.on('exit', () => {
  if (dirty) dropBackendsSync(BACKENDS);
});

/** The redis-server behind REDIS_URL, if it runs on this box. */
function redisPid() {
  const r = spawnSync('redis-cli', ['-u', REDIS_URL, 'info', 'server'], { encoding: 'utf8' });
  const pid = Number(/^process_id:(\d+)/m.exec(r.stdout ?? '')?.[1]);
  try {
    readFileSync(`/proc/${pid}/stat`);
    return pid;
  } catch {
    return null;
  }
}
const REDIS_PID = redisPid();
const redisVersion =
  /^redis_version:(\S+)/m.exec(
    spawnSync('redis-cli', ['-u', REDIS_URL, 'info', 'server'], { encoding: 'utf8' }).stdout ?? '',
  )?.[1] ?? '?';

/**
 * The next transaction id (a write transaction takes one; a read-only one does not) and the
 * WAL position, both PostgreSQL-wide: their change over a run counts the append batches and
 * the WAL written.
 */
async function pgCounters() {
  const { rows } = await db.query(
    `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::int8 AS xid,
            (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8 AS wal`,
  );
  return { xid: Number(rows[0].xid), wal: Number(rows[0].wal) };
}

const pgInfo = (
  await db.query(
    `SELECT current_setting('server_version') AS v, current_setting('synchronous_commit') AS sc,
            current_setting('fsync') AS fsync, current_setting('wal_sync_method') AS wsm,
            current_setting('commit_delay') AS cd`,
  )
).rows[0];

// ---- processes -------------------------------------------------------------------------

/** One ssechat node on SERVER_CPU: SQLite (own temp data dir) or PostgreSQL + Redis. */
async function startNode(port, backend) {
  if (backend === 'sqlite') return startSsechat(port);
  dirty = true;
  return startClusterNode(port, BACKENDS);
}

// ---- one case --------------------------------------------------------------------------

// `split`: the share of CONNS each node's wrk gets (0: that node takes no sends).
const CASES = [
  { key: 'sqlite-1', label: 'sqlite, 1 node', backend: 'sqlite', split: [1] },
  { key: 'pg-redis-1', label: 'postgres+redis, 1 node', backend: 'pg', split: [1] },
  { key: 'pg-redis-2', label: 'postgres+redis, 2 nodes', backend: 'pg', split: [0.5, 0.5] },
  // Not asked for, but it separates the two costs of a node: B accepts no sends and only
  // delivers what A stores (from Redis), so its CPU is the per-node cost of delivery.
  {
    key: 'pg-redis-2-a-sends',
    label: 'postgres+redis, 2 nodes, all sends on A',
    backend: 'pg',
    split: [1, 0],
  },
];

async function runCase(spec, portBase) {
  const ports = spec.split.map((_, i) => portBase + i);
  const conns = spec.split.map((share) => Math.round(CONNS * share));
  const senders = ports.filter((_, i) => conns[i] > 0).length;
  say(`\n== ${spec.label}: ports ${ports.join(', ')}, wrk -c ${conns.join(' + ')}`);
  const nodes = [];
  const receivers = [];
  const dir = tempDir('ssechat-bench-cluster-');
  try {
    // Sequentially: the first node migrates the fresh schema, the next finds it done.
    for (const p of ports) nodes.push(await startNode(p, spec.backend));
    // A sender session per node (each node's wrk uses its own), and one receiver per node.
    const tx = [];
    for (const p of ports) tx.push(await login(p, 'tx'));
    const rxCookie = await login(ports[0], 'rx');
    for (const p of ports) receivers.push(openReceiver(p, rxCookie, { lags: true }));
    await Promise.race([
      Promise.all(receivers.map((r) => r.ready)),
      sleep(5000).then(() => Promise.reject(new Error('a receiver got no hello in 5 s'))),
    ]);
    const send = async (text) => {
      const r = await api(
        ports[0],
        'POST',
        '/api/v1/messages',
        { to: 'rx', text },
        {
          cookie: tx[0],
        },
      );
      if (r.status !== 201)
        throw new Error(`POST /api/v1/messages: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.id;
    };
    const scripts = ports.map((p, i) =>
      wrkPostScript(join(dir, `post-${p}.lua`), { to: 'rx', text: 'hello from wrk' }, tx[i]),
    );
    const wrkAll = (d) =>
      Promise.all(
        ports.map((p, i) =>
          conns[i] === 0
            ? null
            : run(
                'wrk',
                [
                  '-t1',
                  `-c${conns[i]}`,
                  `-d${d}`,
                  '--latency',
                  '-s',
                  scripts[i],
                  `http://127.0.0.1:${p}/api/v1/messages`,
                ],
                (Number.parseFloat(d) + 30) * 1000,
              ),
        ),
      );

    say(`warm-up: ${WARMUP}`);
    await withBenchLock(() => wrkAll(WARMUP));
    await sleep(500);
    for (const r of receivers) r.take();

    const runs = [];
    for (let rep = 1; rep <= REPS; rep++) {
      const first = await send('start');
      const m = await withBenchLock(async () => {
        const pg0 = spec.backend === 'pg' ? await pgCounters() : null;
        const t0 = performance.now();
        const node0 = nodes.map((n) => cpuNs(n.pid));
        const busy0 = [cpuBusyNs(SERVER_CPU), cpuBusyNs(LOAD_CPU)];
        const self0 = procStatNs('self', { children: true });
        const pgc0 = pgCpuNs();
        const rd0 = REDIS_PID ? procStatNs(REDIS_PID) : NaN;
        const outs = await wrkAll(DURATION);
        const rd1 = REDIS_PID ? procStatNs(REDIS_PID) : NaN;
        const pgc1 = pgCpuNs();
        const self1 = procStatNs('self', { children: true });
        const busy1 = [cpuBusyNs(SERVER_CPU), cpuBusyNs(LOAD_CPU)];
        const node1 = nodes.map((n) => cpuNs(n.pid));
        const wallNs = (performance.now() - t0) * 1e6;
        const pg1 = spec.backend === 'pg' ? await pgCounters() : null;
        const nodeNs = node1.map((v, i) => v - node0[i]);
        const busyNs = busy1.map((v, i) => v - busy0[i]);
        // Whatever else ran on the two cores meanwhile: the box is shared.
        const foreignNs =
          busyNs[0] +
          busyNs[1] -
          nodeNs.reduce((a, b) => a + b, 0) -
          (pgc1.ns - pgc0.ns) -
          (Number.isFinite(rd1 - rd0) ? rd1 - rd0 : 0) -
          (self1 - self0);
        return {
          outs,
          wallNs,
          nodeNs,
          busyPct: busyNs.map((v) => round((v / wallNs) * 100, 0)),
          foreignPct: round((Math.max(0, foreignNs) / wallNs) * 100, 0),
          loadPct: round(((self1 - self0) / wallNs) * 100, 0),
          pgNs: pgc1.ns - pgc0.ns,
          pgProcs: pgc1.procs,
          redisNs: rd1 - rd0,
          pgXacts: pg1 ? pg1.xid - pg0.xid : null,
          walBytes: pg1 ? pg1.wal - pg0.wal : null,
        };
      });
      const w = m.outs.map((o) => {
        if (o === null) return { requests: 0, non2xx: 0, socketErrors: 0, rps: 0, latencyMs: {} };
        const p = parseWrk(o.out);
        if (!Number.isFinite(p.rps)) throw new Error(`wrk output not understood:\n${o.out}`);
        return p;
      });
      const lastId = await send('end');
      // What was stored between the markers (markers included) must reach every receiver.
      let stored;
      if (spec.backend === 'pg') {
        const { rows } = await db.query(
          `SELECT count(*)::int8 AS n FROM ${SCHEMA}.messages
            WHERE kind = 'message' AND recipient = 'rx' AND id BETWEEN $1 AND $2`,
          [first, lastId],
        );
        stored = Number(rows[0].n);
      } else {
        stored = lastId - first + 1;
      }
      await Promise.all(receivers.map((r) => r.waitFor(lastId, 15_000)));
      await sleep(100); // a duplicate would arrive right behind
      const deliveries = receivers.map((r) => {
        const got = r.take();
        const inRange = got.ids.filter((id) => id >= first && id <= lastId);
        const unique = new Set(inRange).size;
        const lags = got.lags.sort((a, b) => a - b);
        return {
          node_port: r.port,
          delivered: unique,
          lost: stored - unique,
          duplicates: inRange.length - unique,
          lag_p50_ms: percentile(lags, 50),
          lag_p99_ms: percentile(lags, 99),
        };
      });
      const ok = w.map((x) => x.requests - x.non2xx);
      const okAll = ok.reduce((a, b) => a + b, 0);
      const per = (ns) => (okAll > 0 ? round(ns / 1000 / okAll) : null);
      const one = {
        msgs_per_s: round(w.reduce((a, x, i) => a + x.rps * (ok[i] / Math.max(1, x.requests)), 0)),
        requests: w.reduce((a, x) => a + x.requests, 0),
        non2xx: w.reduce((a, x) => a + x.non2xx, 0),
        socket_errors: w.reduce((a, x) => a + x.socketErrors, 0),
        // Per node (its wrk): latency, and its CPU per message it accepted.
        node_p50_ms: w.map((x) => round(x.latencyMs.p50, 3)),
        node_p99_ms: w.map((x) => round(x.latencyMs.p99, 3)),
        node_msgs_per_s: w.map((x, i) => round(x.rps * (ok[i] / Math.max(1, x.requests)))),
        // Each node's CPU per message of the whole cluster (it delivers all of them), and
        // per message it accepted itself (null when it accepted none).
        node_us_per_msg: m.nodeNs.map((ns) => per(ns)),
        node_us_per_own_msg: m.nodeNs.map((ns, i) => (ok[i] ? round(ns / 1000 / ok[i]) : null)),
        node_cpu_pct: m.nodeNs.map((ns) => round((ns / m.wallNs) * 100, 0)),
        // Every node's CPU, PostgreSQL's and Redis's, per message of the whole run.
        server_us_per_msg: per(m.nodeNs.reduce((a, b) => a + b, 0)),
        pg_us_per_msg: per(m.pgNs),
        redis_us_per_msg: Number.isFinite(m.redisNs) ? per(m.redisNs) : null,
        pg_cpu_pct: round((m.pgNs / m.wallNs) * 100, 0),
        redis_cpu_pct: Number.isFinite(m.redisNs) ? round((m.redisNs / m.wallNs) * 100, 0) : null,
        pg_processes: m.pgProcs,
        pg_write_xacts: m.pgXacts,
        msgs_per_pg_write_xact: m.pgXacts ? round(okAll / m.pgXacts, 2) : null,
        wal_bytes_per_msg: m.walBytes !== null ? round(m.walBytes / Math.max(1, okAll), 0) : null,
        cpu0_busy_pct: m.busyPct[0],
        cpu1_busy_pct: m.busyPct[1],
        // wrk and the receivers (this process and its children).
        load_cpu_pct: m.loadPct,
        // Busy time of both cores not spent by the nodes, PostgreSQL, Redis or the load.
        foreign_cpu_pct: m.foreignPct,
        stored,
        deliveries,
      };
      say(
        `${spec.label} run ${rep}: ${one.msgs_per_s} msg/s, p50 ${one.node_p50_ms.join('/')} ms, ` +
          `p99 ${one.node_p99_ms.join('/')} ms, ssechat ${one.server_us_per_msg} µs/msg ` +
          `(per node: ${one.node_us_per_msg.join('/')}), pg ${one.pg_us_per_msg}, ` +
          `redis ${one.redis_us_per_msg} µs/msg, ${one.msgs_per_pg_write_xact ?? '-'} msgs/pg xact, ` +
          `CPU0 ${one.cpu0_busy_pct}% CPU1 ${one.cpu1_busy_pct}% (load ${one.load_cpu_pct}%, ` +
          `foreign ${one.foreign_cpu_pct}%), delivered ` +
          deliveries
            .map(
              (d) =>
                `${d.delivered}/${stored} dup ${d.duplicates} lag ${d.lag_p50_ms}/${d.lag_p99_ms} ms`,
            )
            .join(', ') +
          `, non-2xx ${one.non2xx}`,
      );
      runs.push(one);
    }
    const med = (k) => median(runs.map((x) => x[k]));
    const medAt = (k) =>
      ports.map((_, i) => (runs[0][k][i] === null ? null : median(runs.map((x) => x[k][i]))));
    const senderMax = (k) => Math.max(...medAt(k).filter((v) => v !== null));
    const row = {
      case: spec.key,
      label: spec.label,
      store: spec.backend === 'pg' ? 'postgres' : 'sqlite',
      bus: spec.backend === 'pg' ? 'redis' : 'memory',
      nodes: ports.length,
      conns,
      tool:
        `${senders} × wrk -t1 -c${conns.filter(Boolean).join('/')} -d${DURATION} --latency, ` +
        `POST /api/v1/messages (keep-alive), 1 SSE receiver per node`,
      msgs_per_s: med('msgs_per_s'),
      // Across nodes: the slower node's median (wrk percentiles cannot be merged).
      p50_ms: senderMax('node_p50_ms'),
      p99_ms: senderMax('node_p99_ms'),
      node_p50_ms: medAt('node_p50_ms'),
      node_p99_ms: medAt('node_p99_ms'),
      node_msgs_per_s: medAt('node_msgs_per_s'),
      node_us_per_msg: medAt('node_us_per_msg'),
      node_us_per_own_msg: medAt('node_us_per_own_msg'),
      node_cpu_pct: medAt('node_cpu_pct'),
      server_us_per_msg: med('server_us_per_msg'),
      pg_us_per_msg: med('pg_us_per_msg'),
      redis_us_per_msg: med('redis_us_per_msg'),
      pg_cpu_pct: med('pg_cpu_pct'),
      redis_cpu_pct: med('redis_cpu_pct'),
      // Per receiver (node): from a message's server timestamp to its arrival on the stream.
      node_lag_p50_ms: ports.map((_, i) => median(runs.map((x) => x.deliveries[i].lag_p50_ms))),
      node_lag_p99_ms: ports.map((_, i) => median(runs.map((x) => x.deliveries[i].lag_p99_ms))),
      msgs_per_pg_write_xact: spec.backend === 'pg' ? med('msgs_per_pg_write_xact') : null,
      wal_bytes_per_msg: spec.backend === 'pg' ? med('wal_bytes_per_msg') : null,
      cpu0_busy_pct: med('cpu0_busy_pct'),
      cpu1_busy_pct: med('cpu1_busy_pct'),
      load_cpu_pct: med('load_cpu_pct'),
      foreign_cpu_pct: med('foreign_cpu_pct'),
      all_delivered: runs.every(
        (x) => x.non2xx === 0 && x.deliveries.every((d) => d.lost === 0 && d.duplicates === 0),
      ),
      deliveries_checked: runs.reduce((a, x) => a + x.stored * x.deliveries.length, 0),
      runs,
    };
    row.node_peak_rss_mib = nodes.map((n) => round(memKB(n.pid).hwm / 1024));
    return row;
  } finally {
    for (const r of receivers) r.close();
    await Promise.all(nodes.map((n) => n.stop()));
    if (spec.backend === 'pg') await resetBackends();
  }
}

// ---- main -------------------------------------------------------------------------------
say(
  `bench/cluster: ${quick ? 'quick, ' : ''}${REPS} × ${DURATION}, ${CONNS} connections in all; ` +
    `schema ${SCHEMA}, Redis prefix ${PREFIX}; PostgreSQL ${pgInfo.v} and Redis ${redisVersion} ` +
    `not pinned (redis pid ${REDIS_PID ?? 'not local'})`,
);
await resetBackends(); // nothing there yet; makes sure we can drop and delete before we start
const rows = [];
const ONLY = args.only ? String(args.only).split(',') : null;
for (let i = 0; i < CASES.length; i++) {
  if (ONLY && !ONLY.includes(CASES[i].key)) continue;
  rows.push(await runCase(CASES[i], PORT_BASE + i * 2));
}
await db.end();

const f = (v) => (v === null || v === undefined ? '-' : String(v));
say(
  `\n${table(
    [
      'case',
      'msgs/s',
      'p50 ms',
      'p99 ms',
      'ssechat µs/msg',
      'per node µs/msg',
      'pg µs/msg',
      'redis µs/msg',
      'msgs/pg xact',
      'lag p50/p99 ms',
      'delivered',
    ],
    rows.map((r) => [
      r.label,
      f(r.msgs_per_s),
      r.node_p50_ms.map(f).join(' / '),
      r.node_p99_ms.map(f).join(' / '),
      f(r.server_us_per_msg),
      r.node_us_per_msg.map(f).join(' / '),
      f(r.pg_us_per_msg),
      f(r.redis_us_per_msg),
      f(r.msgs_per_pg_write_xact),
      r.node_lag_p50_ms.map((v, i) => `${v}/${r.node_lag_p99_ms[i]}`).join(' , '),
      r.all_delivered ? `all (${r.deliveries_checked})` : 'LOSS',
    ]),
  )}`,
);

printResult({
  scenario: 'cluster',
  params: {
    duration: DURATION,
    reps: REPS,
    conns: CONNS,
    warmup: WARMUP,
    quick,
    server_cpu: SERVER_CPU,
    load_cpu: LOAD_CPU,
    backends_pinned: false,
    postgres: {
      version: pgInfo.v,
      synchronous_commit: pgInfo.sc,
      fsync: pgInfo.fsync,
      wal_sync_method: pgInfo.wsm,
      commit_delay: pgInfo.cd,
    },
    redis: { version: redisVersion, pid: REDIS_PID },
  },
  rows,
  goals: [],
});
process.exit(0);
