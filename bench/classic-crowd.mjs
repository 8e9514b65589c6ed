#!/usr/bin/env node
import { ClassicFleet } from './lib/classic-load.mjs';
// bench/classic-crowd.mjs [--quick] [--sizes 1000,3000,10000] [--concurrency 1000]
//                         [--timeout 120] [--server-node-flags="--cpu-prof --cpu-prof-dir=DIR"]
//
// Classic crowds (issue 24): N classic streams (`GET /<nick>`, the seed's protocol) of N
// distinct nicks connect at once, at most --concurrency of them waiting for their greeting at
// a time, against a fresh ssechat per size. Every login is announced to every classic stream
// (`<nick> has joined.`), so N logins are about N²/2 join frames. A stream is connected once
// its greeting (`Welcome <nick>!`, `now online: …`) is in; it is settled once it knows every
// other nick, from its greeting's list or a join (bench/lib/classic-load.mjs counts them
// cheaply, and checks one stream in 100 exactly). Reported per size: time until every stream
// is connected, and until every stream is settled; server CPU, write syscalls and peak RSS;
// the clients' CPU. The server runs with the flood guards off (NO_RATE_LIMITS:
// --connect-limit-ip/-user 0, --max-connections-per-ip 0, --max-streams-per-user 0), as one
// client process opening thousands of streams from one address is the load here, and
// --heartbeat-ms 30000 so that no heartbeat comes within most runs (the client steps over
// them anyway). Server on CPU 0, clients on CPU 1; each size holds /tmp/bench.lock.
import { freePort } from './lib/http.mjs';
import { cpuWatch, goal, memKB, round, writeSyscalls } from './lib/measure.mjs';
import { installCleanup, pinSelf, sleep, withBenchLock } from './lib/process.mjs';
import { parseArgs, printResult, say, table } from './lib/report.mjs';
import { startSsechat } from './lib/server.mjs';

const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const sizes = String(args.sizes ?? (quick ? '500,2000' : '1000,3000,10000'))
  .split(',')
  .map(Number);
const concurrency = Number(args.concurrency ?? 1000);
const timeoutS = Number(args.timeout ?? (quick ? 60 : 120));
const nodeFlags = args['server-node-flags']
  ? String(args['server-node-flags']).split(/\s+/).filter(Boolean)
  : [];

installCleanup((sizes.length * (timeoutS + 30) + 60) * 1000, 'classic-crowd');
pinSelf();

async function runOne(size) {
  const port = await freePort();
  const server = await startSsechat(port, ['--heartbeat-ms', '30000'], { nodeFlags });
  const fleet = await ClassicFleet.start(size);
  try {
    await sleep(500);
    const w0 = writeSyscalls(server.pid);
    const watch = cpuWatch(server.pid);
    const r = await fleet.run({ port, total: size, concurrency, timeoutMs: timeoutS * 1000 });
    const cpu = watch();
    const writes = writeSyscalls(server.pid) - w0;
    const mem = memKB(server.pid);
    if (server.proc.exitCode !== null) throw new Error(`ssechat died: ${server.log()}`);
    const complete = r.settled === size;
    const row = {
      streams: size,
      greeted: r.greeted,
      settled: r.settled,
      failed: r.failed,
      closed: r.closed,
      bad: r.bad,
      connectS: r.greeted === size ? round(r.connectUs / 1e6, 2) : null,
      settleS: complete ? round(r.settleUs / 1e6, 2) : null,
      joinFrames: r.joins,
      sampled: r.sampled,
      sampleMissing: r.sampleMissing,
      sampleDups: r.sampleDups,
      serverCpuS: round(cpu.server_cpu_ns / 1e9, 2),
      serverWrites: writes,
      peakRssMB: round(mem.hwm / 1024, 1),
      loadCpuS: round(r.loadCpuNs / 1e9, 2),
      other_cpu0_pct: cpu.other_cpu_pct,
      errors: r.errors,
    };
    say(
      `  ${size}: connected ${row.connectS ?? `NO (${r.greeted})`} s, settled ${row.settleS ?? `NO (${r.settled})`} s, server CPU ${row.serverCpuS} s, ${writes} writes, peak RSS ${row.peakRssMB} MB`,
    );
    return row;
  } finally {
    // The server first: closing N streams first would have it announce N leaves to the
    // others (N² frames again) while it is being stopped, and miss its profile's write.
    await server.stop();
    await fleet.close();
  }
}

const rows = [];
const t0 = Date.now();
for (const size of sizes) {
  say(`classic-crowd: ${size} classic streams`);
  rows.push(await withBenchLock(() => runOne(size)));
}

say('');
say(
  table(
    [
      'streams',
      'connect s',
      'settle s',
      'srv CPU s',
      'writes',
      'peak RSS MB',
      'load CPU s',
      'lost',
      'dups',
      'closed',
      'other cpu0 %',
    ],
    rows.map((r) => [
      r.streams,
      r.connectS ?? `NO ${r.greeted}`,
      r.settleS ?? `NO ${r.settled}`,
      r.serverCpuS,
      r.serverWrites,
      r.peakRssMB,
      r.loadCpuS,
      r.sampleMissing,
      r.sampleDups,
      r.closed + r.failed,
      r.other_cpu0_pct,
    ]),
  ),
);

const top = Math.max(...sizes);
const t = rows.find((r) => r.streams === top);
const goals = [
  goal(`classic crowd: ${top} classic streams connect ≤ 10 s`, t.connectS ?? Number.NaN, 10, 10, {
    atMost: true,
  }),
  {
    goal: 'classic crowd: every stream gets every join (sampled streams exact)',
    value: rows.reduce((a, r) => a + r.sampleMissing + r.sampleDups + (r.streams - r.settled), 0),
    baseline: 0,
    ratio: null,
    met: rows.every((r) => r.settled === r.streams && r.sampleMissing === 0 && r.sampleDups === 0),
  },
];
say('');
for (const g of goals) say(`${g.met ? 'MET    ' : 'NOT MET'} ${g.goal}: ${g.value}`);
say(`classic-crowd: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
printResult({ scenario: 'classic-crowd', quick, rows, goals });
process.exit(0);
