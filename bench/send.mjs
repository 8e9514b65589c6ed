// bench/send.mjs [--quick] [--duration 10s] [--reps 3] [--conns 10,50] [--php-n 10000]
//               [--servers ssechat,baseline] [--peers better-sse,socketio,nchan]
//               [--text "what wrk sends"]
//
// "Keep-alive send" (issue 6, scenario 2): wrk POSTs /api/v1/messages over keep-alive
// connections for a fixed time; every message is stored (SQLite, persistence on) and delivered
// to one SSE receiver, which must get every one of them. Baseline, measured in the same run:
// the seed PHP server's `msg c10` exactly as the seed's bench.sh measures it (ab -n N -c 10
// GET /msg/mary/john%20hello, a new connection per request, one curl SSE receiver "john").
// Also in the same run, the same wrk load against the bare node:http server of the fan-out
// and idle scenarios (bench/lib/baseline-sse.mjs: it parses the JSON body and writes the frame
// to the receiver, with no store, no auth and no checks): what node:http itself allows here.
// And the peers (bench/lib/peers.mjs, issue 24; --peers, default all that are installed):
// better-sse, Socket.IO and Nchan take the same wrk load on their publishing path, one
// receiver counting every message (none of them stores one; ssechat does).
//
// Servers run pinned to CPU 0; wrk, ab, curl and this process (the ssechat receiver) on CPU 1.
// Every timed run holds /tmp/bench.lock. Prints progress on stderr and one JSON line on stdout.
// Env: SEED_REF (default ../shared/seed-reference), PHP (php8.2), LOADCPU (1).
import { existsSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { assertPortFree, freePort } from './lib/http.mjs';
import { cpuWatch, goal, median, memKB, round } from './lib/measure.mjs';
import { selectPeers, startPeer } from './lib/peers.mjs';
import {
  installCleanup,
  pinSelf,
  ROOT,
  run,
  SERVER_CPU,
  sleep,
  spawnTracked,
  tempDir,
  withBenchLock,
} from './lib/process.mjs';
import { parseArgs, printResult, say } from './lib/report.mjs';
import { measureSend, preparePeerSendLoad, prepareSendLoad, SEND_TEXT } from './lib/send-load.mjs';
import { startBaseline, startScenarioServer, startServer } from './lib/server.mjs';

const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const DURATION = String(args.duration ?? (quick ? '3s' : '10s'));
const REPS = Number(args.reps ?? (quick ? 1 : 3));
const CONNS = String(args.conns ?? '10,50')
  .split(',')
  .map(Number);
const PHP_N = Number(args['php-n'] ?? (quick ? 2000 : 10000));
const WARMUP = quick ? '1s' : '3s';
const SEED_REF = process.env.SEED_REF ?? join(ROOT, '..', 'shared', 'seed-reference');
const PHP = process.env.PHP ?? 'php8.2';
// Fixed ports with --php-port/--port; by default free ones (other benchmarks run here too).
const PHP_PORT = Number(args['php-port'] ?? (await freePort()));
const PORT = Number(args.port ?? (await freePort()));
const SERVERS = String(args.servers ?? 'ssechat,baseline')
  .split(',')
  .filter(Boolean);
const { peers: PEERS, skipped: SKIPPED } = selectPeers(args);
// The message text: its words are what the search index adds per send (bench/search.mjs).
const TEXT = String(args.text ?? SEND_TEXT);

// Bounded: each wrk run is killed at its duration + 30 s, each ab at 300 s, and the whole
// script stops (killing every child) after this, waits for the bench lock included.
installCleanup(Number(args.timeout ?? 1800) * 1000, 'bench/send');
pinSelf();

// ---- the seed PHP server's msg c10, as bench.sh measures it --------------------------------
async function phpMsgC10() {
  if (!existsSync(join(SEED_REF, 'server.php')))
    throw new Error(`no seed reference at ${SEED_REF}`);
  await assertPortFree(PHP_PORT);
  const php = await startServer(
    'php',
    PHP,
    [join(SEED_REF, 'server.php'), String(PHP_PORT)],
    PHP_PORT,
  );
  const base = `http://127.0.0.1:${PHP_PORT}`;
  const runs = [];
  try {
    for (let r = 1; r <= REPS; r++) {
      // One curl receiver "john" per run, as bench.sh starts it: the stream is counted after.
      const recv = spawnTracked(
        'curl',
        ['-sN', '-H', 'Accept: text/event-stream', `${base}/john`],
        {
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let text = '';
      recv.stdout.setEncoding('utf8');
      recv.stdout.on('data', (d) => {
        text += d;
      });
      await sleep(300);
      const alive = recv.exitCode === null;
      const { out, cpu } = await withBenchLock(async () => {
        const stop = cpuWatch(php.pid, SERVER_CPU);
        const res = await run(
          'ab',
          ['-r', '-s', '10', '-n', String(PHP_N), '-c', '10', `${base}/msg/mary/john%20hello`],
          300_000,
        );
        return { out: res.out, cpu: stop() };
      });
      await sleep(200);
      recv.kill('SIGTERM');
      const rps = Number(/^Requests per second:\s+([\d.]+)/m.exec(out)?.[1] ?? 0);
      const complete = Number(/^Complete requests:\s+(\d+)/m.exec(out)?.[1] ?? 0);
      const failed = Number(/^Failed requests:\s+(\d+)/m.exec(out)?.[1] ?? NaN);
      const delivered = (text.match(/^data: mary: hello/gm) ?? []).length;
      const run1 = {
        rps,
        us_per_req: complete ? round(cpu.server_cpu_ns / 1000 / complete) : null,
        other_cpu0_pct: cpu.other_cpu_pct,
        failed,
        delivered,
        receiver_alive: alive,
      };
      say(
        `php msg c10 run ${r}: ${rps} req/s, ${run1.us_per_req} µs/req, delivered ${delivered}/${PHP_N}` +
          ` (other load on CPU ${SERVER_CPU}: ${cpu.other_cpu_pct}%)`,
      );
      runs.push(run1);
    }
  } finally {
    await php.stop();
  }
  return {
    server: 'php',
    scenario: 'msg c10',
    tool: `ab -n ${PHP_N} -c 10 /msg/mary/john%20hello (new connection per request), 1 SSE receiver`,
    rps: median(runs.map((x) => x.rps)),
    us_per_msg: median(runs.map((x) => x.us_per_req)),
    all_delivered: runs.every((x) => x.delivered === PHP_N && x.failed === 0),
    runs,
  };
}

// ---- ssechat: wrk POST /api/v1/messages over keep-alive ------------------------------------

/** The keep-alive send runs against `name`: ssechat (SQLite on), the bare baseline or a peer. */
async function keepAliveSend(name, phpRps) {
  await assertPortFree(PORT);
  const peer = PEERS.includes(name);
  const server =
    name === 'ssechat'
      ? await startScenarioServer(PORT, args)
      : peer
        ? await startPeer(name, PORT)
        : await startBaseline(PORT);
  const dir = tempDir('ssechat-bench-send-');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const rows = [];
  try {
    const load = peer
      ? await preparePeerSendLoad(name, PORT, dir, agent, TEXT)
      : await prepareSendLoad(PORT, dir, agent, TEXT);

    say(`${name} warm-up: wrk -c10 -d${WARMUP}`);
    await withBenchLock(() => load.wrk(10, WARMUP));

    for (const c of CONNS) {
      const runs = [];
      for (let r = 1; r <= REPS; r++) {
        const one = await measureSend(load, server, c, DURATION);
        say(
          `${name} send c${c} run ${r}: ${one.msgs_per_s} msg/s, p50 ${one.p50_ms} ms, p99 ${one.p99_ms} ms, ` +
            `${one.us_per_msg} µs/msg, delivered ${one.delivered}/${one.stored ?? one.published ?? `${one.requests - one.non2xx}+`}, dup ${one.duplicates}, non-2xx ${one.non2xx}` +
            ` (other load on CPU ${SERVER_CPU}: ${one.other_cpu0_pct}%)`,
        );
        runs.push(one);
      }
      const med = (k) => median(runs.map((x) => x[k]));
      rows.push({
        server: name,
        scenario: `send c${c}`,
        tool: `wrk -t1 -c${c} -d${DURATION} --latency, POST /api/v1/messages (keep-alive), 1 SSE receiver`,
        msgs_per_s: med('msgs_per_s'),
        p50_ms: med('p50_ms'),
        p99_ms: med('p99_ms'),
        us_per_msg: med('us_per_msg'),
        all_delivered: runs.every((x) => x.lost === 0 && x.duplicates === 0 && x.non2xx === 0),
        lost: runs.reduce((a, x) => a + x.lost, 0),
        duplicates: runs.reduce((a, x) => a + x.duplicates, 0),
        persists: name === 'ssechat',
        vs_php_msg_c10: round(med('msgs_per_s') / phpRps, 2),
        runs,
      });
    }
    load.rx.close();
    const mem = memKB(server.pid);
    for (const row of rows) row.server_peak_rss_mib = round(mem.hwm / 1024);
  } catch (err) {
    const gone = server.proc.exitCode ?? server.proc.signalCode;
    if (gone !== null)
      say(`${name} exited (${gone}) during the run; its last output:\n${server.log()}`);
    throw err;
  } finally {
    agent.destroy();
    await server.stop();
  }
  return rows;
}

// --no-php: ssechat alone (for profiling); the goal then has no baseline and is not met.
const php = args['no-php']
  ? { server: 'php', scenario: 'msg c10', rps: Number.NaN, all_delivered: false, skipped: true }
  : await phpMsgC10();
const rows = [];
for (const name of [...SERVERS, ...PEERS]) rows.push(...(await keepAliveSend(name, php.rps)));
for (const r of rows) {
  const bare = rows.find((b) => b.server === 'baseline' && b.scenario === r.scenario);
  if (r.server !== 'ssechat' || !bare) continue;
  r.vs_baseline = round(r.msgs_per_s / bare.msgs_per_s, 2);
  say(
    `${r.scenario}: ssechat ${r.msgs_per_s} msg/s, bare node:http ${bare.msgs_per_s} (${r.vs_baseline}×); ` +
      `against php msg c10: ssechat ${r.vs_php_msg_c10}×, bare node:http ${bare.vs_php_msg_c10}×`,
  );
}
// ssechat beside each peer, per load: msg/s and CPU per message, and what each delivered.
const peerRatios = [];
for (const r of rows) {
  const s = rows.find((x) => x.server === 'ssechat' && x.scenario === r.scenario);
  if (!PEERS.includes(r.server) || !s) continue;
  const p = {
    peer: r.server,
    scenario: r.scenario,
    msgs_per_s: r.msgs_per_s,
    us_per_msg: r.us_per_msg,
    p99_ms: r.p99_ms,
    lost: r.lost,
    duplicates: r.duplicates,
    persists: false,
    ssechat_msgs_ratio: round(s.msgs_per_s / r.msgs_per_s, 2),
    ssechat_us_ratio: round(s.us_per_msg / r.us_per_msg, 2),
  };
  peerRatios.push(p);
  say(
    `${r.scenario}: ssechat ${s.msgs_per_s} msg/s, ${s.us_per_msg} µs/msg (stored); ${r.server} ` +
      `${r.msgs_per_s} msg/s, ${r.us_per_msg} µs/msg (not stored), lost ${r.lost}, dup ` +
      `${r.duplicates}: ssechat ${p.ssechat_msgs_ratio}× the msg/s, ${p.ssechat_us_ratio}× the CPU`,
  );
}
const c10 = rows.find((r) => r.server === 'ssechat' && r.scenario === 'send c10');
const goals = [];
if (c10) {
  const g = goal('keep-alive send c10 ≥ 5× seed PHP msg c10', c10.msgs_per_s, php.rps, 5);
  g.met = g.met && c10.all_delivered && php.all_delivered;
  g.unit = 'msg/s';
  goals.push(g);
  // Issue 24's two send goals, from the same run.
  const bs = rows.find((r) => r.server === 'better-sse' && r.scenario === 'send c10');
  if (bs) {
    const g = goal(
      'send c10: server CPU µs per message ≤ 1.0× better-sse',
      c10.us_per_msg,
      bs.us_per_msg,
      Number.NaN,
    );
    g.met = Number.isFinite(g.ratio) && g.ratio <= 1 && c10.all_delivered;
    g.unit = 'µs/msg';
    goals.push(g);
  }
  const bare = rows.find((r) => r.server === 'baseline' && r.scenario === 'send c10');
  if (bare) {
    const g = goal('send c10 msg/s ≥ 0.8× bare node:http', c10.msgs_per_s, bare.msgs_per_s, 0.8);
    g.met = g.met && c10.all_delivered;
    g.unit = 'msg/s';
    goals.push(g);
  }
}
printResult({
  scenario: 'send',
  params: {
    duration: DURATION,
    reps: REPS,
    conns: CONNS,
    php_n: PHP_N,
    warmup: WARMUP,
    quick,
    text: TEXT,
    peers: PEERS,
  },
  rows: [php, ...rows],
  goals,
  peers: { measured: PEERS, skipped: SKIPPED, ratios: peerRatios },
});
process.exit(0);
