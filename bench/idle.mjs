#!/usr/bin/env node
// bench/idle.mjs [--quick] [--sizes 1000,10000,18000] [--idle 5] [--servers ssechat,baseline]
//               [--cookies 20] [--peers better-sse,socketio,nchan]
//
// Idle connections (issue 6, scenario 4): hold N SSE streams on `GET /api/v1/events` against
// ssechat (SQLite on) and, in the same run, the bare node:http baseline
// (bench/lib/baseline-sse.mjs), each in a fresh server process per size. Once every stream has
// its `hello` and they have been idle for --idle seconds, the server's VmRSS minus its VmRSS
// before the first connection, divided by N, is the memory one idle SSE connection costs.
// Streams come from up to 9,000 per client process, each process on its own 127.0.0.x source
// address. Server on CPU 0, clients on CPU 1; each server's run holds /tmp/bench.lock.
// `marginal KB/conn` is the RSS added per connection between two sizes of the same server: it
// leaves out the fixed growth (V8's young generation, pools) a first batch brings, which
// dominates at 1k. Prints a table to stderr and one JSON line to stdout.
// Peers (issue 24; bench/lib/peers.mjs; --peers, default all installed): better-sse, Socket.IO
// (socket.io-client sockets, WebSocket) and Nchan hold the same streams after the servers; the
// goal-style rows compare ssechat's KiB per stream with each at the largest size.
import { freePort, login } from './lib/http.mjs';
import { cpuNs, memKB } from './lib/measure.mjs';
import { selectPeers, startPeer, subscriberMode } from './lib/peers.mjs';
import { installCleanup, pinSelf, sleep, withBenchLock } from './lib/process.mjs';
import { parseArgs, printResult, say, table } from './lib/report.mjs';
import { startBaseline, startSsechat } from './lib/server.mjs';
import { SseFleet } from './lib/sse-load.mjs';

const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const sizes = String(args.sizes ?? (quick ? '1000' : '1000,10000,18000'))
  .split(',')
  .map(Number);
const idleS = Number(args.idle ?? (quick ? 3 : 5));
const servers = String(args.servers ?? 'ssechat,baseline')
  .split(',')
  .filter(Boolean);
const { peers, skipped } = selectPeers(args);
const nCookies = Number(args.cookies ?? 20);

// The peers run after the servers: more time for each.
installCleanup(((quick ? 120 : 600) + peers.length * (quick ? 40 : 200)) * 1000, 'idle');
pinSelf();

async function runOne(name, size) {
  const port = Number(args.port ?? (await freePort()));
  const peer = peers.includes(name);
  const server =
    name === 'ssechat'
      ? await startSsechat(port)
      : peer
        ? await startPeer(name, port)
        : await startBaseline(port);
  const mode = peer ? subscriberMode(name) : {};
  let fleet;
  let warm;
  try {
    const cookies = [];
    for (let i = 0; i < nCookies; i++) cookies.push(await login(port, `sub${i}`));
    // Warm-up: a few streams opened and closed, so that code paths loaded on first use are
    // in the "before" figure rather than charged to the connections.
    warm = await SseFleet.start(1);
    await warm.connect(50, { port, cookies, ...mode });
    await warm.close();
    warm = undefined;
    fleet = await SseFleet.start(SseFleet.childrenFor(size));
    await sleep(2000);
    const before = memKB(server.pid);
    const cpu0 = cpuNs(server.pid);
    const c = await fleet.connect(size, { port, cookies, ...mode });
    if (c.failed)
      throw new Error(`${name}: ${c.failed} of ${size} streams failed: ${c.errors.join('; ')}`);
    const connectCpu = cpuNs(server.pid) - cpu0;
    await sleep(idleS * 1000);
    const after = memKB(server.pid);
    if (server.proc.exitCode !== null) throw new Error(`${name} died: ${server.log()}`);
    const row = {
      server: name,
      connections: c.ok,
      connectS: c.ms / 1000,
      connectCpuUsPerConn: connectCpu / 1000 / c.ok,
      rssBeforeKB: before.rss,
      rssAfterKB: after.rss,
      hwmKB: after.hwm,
      kbPerConn: (after.rss - before.rss) / c.ok,
    };
    say(
      `  ${name} ${size}: ${row.kbPerConn.toFixed(2)} KB/conn (${before.rss} -> ${after.rss} KB), connected in ${row.connectS.toFixed(1)} s`,
    );
    return row;
  } finally {
    await warm?.close();
    await fleet?.close();
    await server.stop();
  }
}

const rows = [];
const t0 = Date.now();
for (const size of sizes) {
  for (const name of [...servers, ...peers]) {
    say(`idle: ${name}, ${size} connections`);
    rows.push(await withBenchLock(() => runOne(name, size)));
  }
}

// The marginal cost between two sizes of one server: what each further connection adds, with
// the fixed costs that a first batch of connections brings (young generation growth, pools)
// taken out.
for (const r of rows) {
  const prev = rows
    .filter((p) => p.server === r.server && p.connections < r.connections)
    .sort((a, b) => b.connections - a.connections)[0];
  r.marginalKbPerConn = prev
    ? (r.rssAfterKB - r.rssBeforeKB - (prev.rssAfterKB - prev.rssBeforeKB)) /
      (r.connections - prev.connections)
    : null;
}

say('');
say(
  table(
    [
      'server',
      'conns',
      'RSS before MB',
      'RSS after MB',
      'KB/conn',
      'marginal KB/conn',
      'connect s',
      'srv µs/connect',
    ],
    rows.map((r) => [
      r.server,
      r.connections,
      (r.rssBeforeKB / 1024).toFixed(1),
      (r.rssAfterKB / 1024).toFixed(1),
      r.kbPerConn.toFixed(2),
      r.marginalKbPerConn === null ? '-' : r.marginalKbPerConn.toFixed(2),
      r.connectS.toFixed(1),
      r.connectCpuUsPerConn.toFixed(0),
    ]),
  ),
);

const top = Math.max(...sizes);
const s = rows.find((r) => r.server === 'ssechat' && r.connections === top);
const b = rows.find((r) => r.server === 'baseline' && r.connections === top);
const goals = [];
if (s) {
  goals.push({
    goal: `idle ${top}: <= 8 KB RSS per SSE connection`,
    value: +s.kbPerConn.toFixed(2),
    baseline: b ? +b.kbPerConn.toFixed(2) : null,
    ratio: b ? +(s.kbPerConn / b.kbPerConn).toFixed(2) : null,
    met: s.kbPerConn <= 8,
  });
  goals.push({
    goal: `idle ${top}: RSS per connection below bare node:http`,
    value: +s.kbPerConn.toFixed(2),
    baseline: b ? +b.kbPerConn.toFixed(2) : null,
    ratio: b ? +(s.kbPerConn / b.kbPerConn).toFixed(2) : null,
    met: b ? s.kbPerConn < b.kbPerConn : false,
  });
}
// ssechat beside each peer (issue 24): the ratio is ssechat / peer.
for (const p of peers) {
  const r = rows.find((x) => x.server === p && x.connections === top);
  if (!s || !r) continue;
  goals.push({
    goal: `idle ${top}: RSS per connection <= 1.0x ${p}`,
    value: +s.kbPerConn.toFixed(2),
    baseline: +r.kbPerConn.toFixed(2),
    ratio: +(s.kbPerConn / r.kbPerConn).toFixed(2),
    met: s.kbPerConn <= r.kbPerConn,
  });
}
say('');
for (const g of goals) {
  say(
    `${g.met ? 'MET    ' : 'NOT MET'} ${g.goal}: ${g.value}${g.baseline === null ? '' : ` (baseline ${g.baseline}, ratio ${g.ratio})`}`,
  );
}
say(`idle: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
printResult({ scenario: 'idle', quick, rows, goals, peers: { measured: peers, skipped } });
process.exit(0);
