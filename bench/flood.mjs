// bench/flood.mjs [--duration 10] [--calm 5] [--interval-ms 50] [--flood-conns 10]
//
// "Flooding" (issue 8): with the shipped flood guards on (README, Configuration), one client
// floods POST /api/v1/messages as one user with wrk over keep-alive connections, while `calm`
// users each send one message every `interval-ms` over keep-alive, as people chatting do. The
// calm users' latency is measured alone ("idle"), then during the flood, in the same run
// against the same server. Goal: the flooder gets 429s, the calm users none, and their p99
// during the flood stays within 2x of idle. One SSE receiver reads every broadcast, so a
// message the flooder gets through costs what a real one does.
//
// The server is pinned to CPU 0; wrk and this process to CPU 1. Every timed run holds
// /tmp/bench.lock. Bounded: wrk is killed at its duration + 30 s, the whole script after
// --timeout (default 600 s). Prints progress on stderr and one JSON line on stdout.
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { api, freePort, login } from './lib/http.mjs';
import { percentile, round } from './lib/measure.mjs';
import { installCleanup, pinSelf, run, sleep, tempDir, withBenchLock } from './lib/process.mjs';
import { parseArgs, printResult, say } from './lib/report.mjs';
import { startSsechat } from './lib/server.mjs';
import { parseWrk, wrkPostScript } from './lib/wrk.mjs';

const args = parseArgs(process.argv.slice(2));
const DURATION_S = Number(args.duration ?? 10);
const CALM = Number(args.calm ?? 5);
const INTERVAL_MS = Number(args['interval-ms'] ?? 50);
const FLOOD_CONNS = Number(args['flood-conns'] ?? 10);
installCleanup(Number(args.timeout ?? 600) * 1000, 'bench/flood');
pinSelf();

/** The shipped defaults, restated: startSsechat turns the guards off for throughput runs. */
const DEFAULT_GUARDS = [
  ...['--send-limit-user', '50,1000', '--send-limit-ip', '500,5000'],
  ...['--connect-limit-user', '20,200', '--connect-limit-ip', '50,1000'],
  ...['--max-streams-per-user', '32'],
];

/** Each calm user sends every INTERVAL_MS for `seconds`; resolves latencies (ms) and refusals. */
async function calmTraffic(port, cookies, seconds) {
  const latencies = [];
  let refused = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    cookies.map(async (cookie, i) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      // Each calm user from an address of their own; the flooder (wrk) comes from 127.0.0.1.
      const localAddress = `127.0.0.${2 + i}`;
      await sleep((INTERVAL_MS * i) / cookies.length);
      while (Date.now() < until) {
        const t0 = process.hrtime.bigint();
        const r = await api(
          port,
          'POST',
          '/api/v1/messages',
          { to: 'all', text: 'hi' },
          { cookie, agent, localAddress },
        );
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (r.status !== 201) refused++;
        await sleep(INTERVAL_MS);
      }
      agent.destroy();
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    sends: latencies.length,
    refused,
    p50_ms: round(percentile(latencies, 50), 3),
    p99_ms: round(percentile(latencies, 99), 3),
  };
}

const port = await freePort();
const server = await startSsechat(port, DEFAULT_GUARDS);
try {
  const dir = tempDir('ssechat-flood-');
  const cookies = [];
  for (let i = 0; i < CALM; i++) cookies.push(await login(port, `calm${i}`));
  const flooder = await login(port, 'flooder');
  // One reader of every broadcast, so accepted messages are delivered as in real use.
  const rx = request({
    host: '127.0.0.1',
    port,
    path: '/api/v1/events',
    headers: { Cookie: await login(port, 'rx'), Accept: 'text/event-stream' },
    agent: false,
  });
  rx.on('response', (res) => res.resume());
  rx.on('error', () => {});
  rx.end();
  const script = wrkPostScript(join(dir, 'flood.lua'), { to: 'all', text: 'flood' }, flooder);
  say(`warm-up: calm traffic for 2 s`);
  await calmTraffic(port, cookies, 2);
  const result = await withBenchLock(async () => {
    const idle = await calmTraffic(port, cookies, DURATION_S);
    say(`idle: p50 ${idle.p50_ms} ms, p99 ${idle.p99_ms} ms over ${idle.sends} sends`);
    // Past the idle run's refills, so the flooder starts with a full bucket, as it would.
    await sleep(1000);
    const wrk = run(
      'wrk',
      [
        '-t1',
        `-c${FLOOD_CONNS}`,
        `-d${DURATION_S + 1}s`,
        '--latency',
        '-s',
        script,
        `http://127.0.0.1:${port}/api/v1/messages`,
      ],
      (DURATION_S + 31) * 1000,
    );
    await sleep(500);
    const flooded = await calmTraffic(port, cookies, DURATION_S);
    const { out } = await wrk;
    const w = parseWrk(out);
    say(
      `flood: calm p50 ${flooded.p50_ms} ms, p99 ${flooded.p99_ms} ms; flooder ${w.requests} requests, ${w.non2xx} refused`,
    );
    return { idle, flooded, w };
  });
  rx.destroy();
  const { idle, flooded, w } = result;
  const ratio = round(flooded.p99_ms / idle.p99_ms, 2);
  const met = w.non2xx > 0 && flooded.refused === 0 && idle.refused === 0 && ratio <= 2;
  printResult({
    scenario: 'flood',
    params: {
      calm_users: CALM,
      interval_ms: INTERVAL_MS,
      duration_s: DURATION_S,
      flood_conns: FLOOD_CONNS,
    },
    rows: [
      {
        server: 'ssechat',
        scenario: `flood c${FLOOD_CONNS}`,
        idle,
        during_flood: flooded,
        flooder: {
          connections: FLOOD_CONNS,
          requests: w.requests,
          rps: w.rps,
          refused_429: w.non2xx,
          accepted: w.requests - w.non2xx,
          socket_errors: w.socketErrors,
        },
        p99_ratio: ratio,
      },
    ],
    goals: [
      {
        goal: 'flooder gets 429s; calm users none, p99 within 2x of idle',
        value: flooded.p99_ms,
        baseline: idle.p99_ms,
        ratio,
        met,
        unit: 'ms',
      },
    ],
  });
} finally {
  await server.stop();
}
