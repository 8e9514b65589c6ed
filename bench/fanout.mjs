#!/usr/bin/env node
// bench/fanout.mjs [--quick] [--sizes 1000,10000] [--rate 20,10] [--seconds 10] [--burst 200]
//                  [--servers ssechat,baseline,ssechat-room] [--cookies 20]
//                  [--peers better-sse,socketio,nchan]
//
// Peers (issue 24; bench/lib/peers.mjs; --peers, default all installed): better-sse, Socket.IO
// (socket.io-client subscribers, WebSocket) and Nchan take the same phases after the servers,
// each in a fresh process; the goal-style rows compare ssechat's deliveries per CPU-second at
// the burst and its p99 at the rate with each. None of them stores a message; ssechat does.
//
// `ssechat-room` (issue 9) is ssechat with the same load sent to a room instead of `all`:
// every subscriber is a user of its own, a member of `#bench`, and the broadcasts are
// `POST /api/v1/messages {to:'#bench'}`. It is not run unless named in --servers.
//
// Fan-out (issue 6, scenario 3): N subscribers on `GET /api/v1/events`, and broadcasts sent with
// `POST /api/v1/messages {to:'all'}` over keep-alive, (a) at a fixed rate and (b) in a burst of
// back-to-back sends. For ssechat (SQLite persistence on) and, in the same run, for the bare
// node:http baseline (bench/lib/baseline-sse.mjs), it reports per phase:
//   deliveries/s   broadcast frames received over all streams / (last delivery - first send)
//   p50/p99        publish→deliver latency, from the send time in the text to its arrival
//   server CPU     CPU time of the server (all threads) during the phase, and µs per delivery
//   deliv/write    frames per write syscall of the server (/proc/PID/io syscw): on loopback
//                  each write costs a whole TCP send and receive, so this drives µs/delivery
//   lost / dups    every stream must get every broadcast exactly once
// The server runs on CPU 0, this process and the client processes on CPU 1. Each server's run
// holds /tmp/bench.lock. `cpu0 other %` is what other processes used of the server's core
// during a phase: the noise in that row. Prints a table to stderr and one JSON line to stdout.
// Env: DEBUG=1 logs each phase; SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=DIR") goes
// to the servers' node; SSECHAT_BIN runs another build of ssechat (to measure a patch).
import { client, phase } from './lib/fanout-load.mjs';
import { freePort, login } from './lib/http.mjs';
import { selectPeers, startPeer, subscriberMode } from './lib/peers.mjs';
import { installCleanup, pinSelf, sleep, withBenchLock } from './lib/process.mjs';
import { parseArgs, printResult, say, table } from './lib/report.mjs';
import { startBaseline, startSsechat } from './lib/server.mjs';
import { SseFleet } from './lib/sse-load.mjs';

const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const sizes = String(args.sizes ?? (quick ? '1000' : '1000,10000'))
  .split(',')
  .map(Number);
// Broadcasts per second of the steady phase, per size: 10k subscribers at 10/s is 100k
// deliveries/s, a third of the 300k/s-per-core goal, so that p99 shows latency, not a queue.
const rates = String(args.rate ?? (quick ? '20' : '20,10'))
  .split(',')
  .map(Number);
const rateFor = (size) => rates[Math.min(sizes.indexOf(size), rates.length - 1)];
const seconds = Number(args.seconds ?? (quick ? 2 : 10));
const burst = Number(args.burst ?? (quick ? 100 : 200));
const servers = String(args.servers ?? 'ssechat,baseline')
  .split(',')
  .filter(Boolean);
const { peers, skipped } = selectPeers(args);
const nCookies = Number(args.cookies ?? 20);

// The peers run after the servers: more time for each.
installCleanup(((quick ? 120 : 600) + peers.length * (quick ? 40 : 200)) * 1000, 'fanout');
pinSelf();

/**
 * Logs `nick` in over `http`'s connections. `from` is the client address to claim (a server
 * with --trust-proxy yes believes it): login attempts are limited per address, and a room of
 * 10k members takes 10k logins.
 */
const loginVia = (http, nick, from) =>
  login(http.port, nick, {
    agent: http.agent,
    headers: from ? { 'X-Forwarded-For': from } : undefined,
  });

async function runOne(name, size) {
  const port = Number(args.port ?? (await freePort()));
  const room = name === 'ssechat-room' ? '#bench' : undefined;
  const peer = peers.includes(name);
  const server = name.startsWith('ssechat')
    ? await startSsechat(port, room ? ['--trust-proxy', 'yes'] : [])
    : peer
      ? await startPeer(name, port)
      : await startBaseline(port);
  const http = client(port, 8);
  let fleet;
  try {
    const cookies = [];
    const sender = await loginVia(http, 'sender');
    if (room) {
      // A room of `size` members, each with one stream: its fan-out walks the members.
      const made = await http.call('POST', '/api/v1/rooms', { name: room }, sender);
      if (made.status !== 201)
        throw new Error(`create ${room}: ${made.status} ${JSON.stringify(made.body)}`);
      const t = Date.now();
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = w; i < size; i += 8) {
            const cookie = await loginVia(http, `m${i}`, `10.9.${i >> 8}.${i & 255}`);
            const joined = await http.call(
              'POST',
              `/api/v1/rooms/${room.slice(1)}/join`,
              {},
              cookie,
            );
            if (joined.status !== 201)
              throw new Error(`join: ${joined.status} ${JSON.stringify(joined.body)}`);
            cookies[i] = cookie;
          }
        }),
      );
      say(`  ${size} members joined ${room} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    } else {
      for (let i = 0; i < nCookies; i++) cookies.push(await loginVia(http, `sub${i}`));
    }
    fleet = await SseFleet.start(SseFleet.childrenFor(size));
    const c = await fleet.connect(size, { port, cookies, ...(peer ? subscriberMode(name) : {}) });
    if (c.failed)
      throw new Error(`${name}: ${c.failed} of ${size} streams failed: ${c.errors.join('; ')}`);
    say(`  ${name} ${size}: ${c.ok} streams up in ${(c.ms / 1000).toFixed(1)} s`);
    await sleep(1000);
    // Warm-up (not measured): the JIT of both sides, and the server's first commits.
    const to = room ?? 'all';
    await phase(server, fleet, http, sender, 20, 0, 60_000, to);
    const out = [];
    const rate = rateFor(size);
    const steady = await phase(
      server,
      fleet,
      http,
      sender,
      Math.round(rate * seconds),
      1000 / rate,
      seconds * 1000 + 60_000,
      to,
    );
    out.push({ server: name, subscribers: size, mode: `rate ${rate}/s x ${seconds}s`, ...steady });
    const b = await phase(server, fleet, http, sender, burst, 0, 120_000, to);
    out.push({ server: name, subscribers: size, mode: `burst ${burst}`, ...b });
    if (server.proc.exitCode !== null) throw new Error(`${name} died: ${server.log()}`);
    return out;
  } finally {
    http.close();
    await fleet?.close();
    await server.stop();
  }
}

const rows = [];
const t0 = Date.now();
for (const size of sizes) {
  for (const name of [...servers, ...peers]) {
    say(`fanout: ${name}, ${size} subscribers`);
    rows.push(...(await withBenchLock(() => runOne(name, size))));
  }
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const fk = (x) => (Number.isFinite(x) ? x.toLocaleString('en-US') : '-');
say('');
say(
  table(
    [
      'server',
      'subs',
      'mode',
      'deliv/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'srv CPU ms',
      'µs/deliv',
      'deliv/write',
      'µs/write',
      'srv %',
      'load %',
      'cpu0 other %',
      'send fail',
      'lost',
      'dups',
    ],
    rows.map((r) => [
      r.server,
      r.subscribers,
      r.mode,
      fk(r.deliveriesPerSec),
      f1(r.p50Ms),
      f1(r.p99Ms),
      f1(r.maxMs),
      f1(r.serverCpuMs),
      f2(r.cpuUsPerDelivery),
      f2(r.deliveriesPerWrite),
      f1(r.cpuUsPerWrite),
      f1(r.serverCpuPct),
      f1(r.loadCpuPct),
      f1(r.cpu0OtherPct),
      r.sendFailed,
      r.lost,
      r.dups,
    ]),
  ),
);

// Goals at the largest size measured (10k in a full run).
const top = Math.max(...sizes);
const find = (server, mode) =>
  rows.find((r) => r.server === server && r.subscribers === top && r.mode.startsWith(mode));
const goals = [];
const sb = find('ssechat', 'burst');
const bb = find('baseline', 'burst');
const sr = find('ssechat', 'rate');
const br = find('baseline', 'rate');
if (sb) {
  goals.push({
    goal: `fan-out ${top} burst deliveries/s >= 1.0x bare node:http`,
    value: sb.deliveriesPerSec,
    baseline: bb?.deliveriesPerSec ?? null,
    ratio: bb ? +(sb.deliveriesPerSec / bb.deliveriesPerSec).toFixed(2) : null,
    met: bb ? sb.deliveriesPerSec >= bb.deliveriesPerSec : false,
  });
  const perCore = Math.round(1e6 / sb.cpuUsPerDelivery);
  goals.push({
    goal: `fan-out ${top} burst >= 300k deliveries per server CPU-second (1 core)`,
    value: perCore,
    baseline: bb ? Math.round(1e6 / bb.cpuUsPerDelivery) : null,
    ratio: bb ? +(perCore / (1e6 / bb.cpuUsPerDelivery)).toFixed(2) : null,
    met: perCore >= 300_000,
  });
}
if (sr) {
  goals.push({
    goal: `fan-out ${top} p99 publish->deliver <= 50 ms at ${rateFor(top)}/s`,
    value: sr.p99Ms,
    baseline: br?.p99Ms ?? null,
    ratio: br ? +(sr.p99Ms / br.p99Ms).toFixed(2) : null,
    met: sr.p99Ms <= 50,
  });
}
// ssechat beside each peer (issue 24), at the largest size: the ratio is ssechat / peer.
const peerGoals = [];
for (const p of peers) {
  const pb = find(p, 'burst');
  const pr = find(p, 'rate');
  if (sb && pb) {
    const v = Math.round(1e6 / sb.cpuUsPerDelivery);
    const b = Math.round(1e6 / pb.cpuUsPerDelivery);
    peerGoals.push({
      goal: `fan-out ${top} burst deliveries per server CPU-second >= 1.0x ${p}`,
      value: v,
      baseline: b,
      ratio: +(v / b).toFixed(2),
      met: v >= b && sb.lost === 0 && sb.dups === 0,
    });
  }
  if (sr && pr) {
    peerGoals.push({
      goal: `fan-out ${top} p99 publish->deliver at ${rateFor(top)}/s <= 1.0x ${p}`,
      value: sr.p99Ms,
      baseline: pr.p99Ms,
      ratio: +(sr.p99Ms / pr.p99Ms).toFixed(2),
      met: sr.p99Ms <= pr.p99Ms,
    });
  }
}
goals.push(...peerGoals);
const rb = find('ssechat-room', 'burst');
if (rb) {
  goals.push({
    goal: `room fan-out: ${top} members, burst deliveries/s vs the same to all (issue 9)`,
    value: rb.deliveriesPerSec,
    baseline: sb?.deliveriesPerSec ?? null,
    ratio: sb ? +(rb.deliveriesPerSec / sb.deliveriesPerSec).toFixed(2) : null,
    met: rb.lost === 0 && rb.dups === 0 && rb.complete,
  });
}
const lossless = rows.filter((r) => r.server.startsWith('ssechat'));
if (lossless.length)
  goals.push({
    goal: 'fan-out: every subscriber gets every broadcast once (ssechat)',
    value: lossless.reduce((a, r) => a + r.lost + r.dups, 0),
    baseline: rows.filter((r) => r.server === 'baseline').reduce((a, r) => a + r.lost + r.dups, 0),
    ratio: null,
    met: lossless.every((r) => r.lost === 0 && r.dups === 0 && r.complete),
  });
say('');
for (const g of goals) {
  say(
    `${g.met ? 'MET    ' : 'NOT MET'} ${g.goal}: ${g.value}${g.baseline === null ? '' : ` (baseline ${g.baseline}, ratio ${g.ratio})`}`,
  );
}
say(`fanout: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
// What each peer delivered: every subscriber should get every broadcast once.
const peerLoss = peers.map((p) => {
  const mine = rows.filter((r) => r.server === p);
  return {
    peer: p,
    persists: false,
    lost: mine.reduce((a, r) => a + r.lost, 0),
    dups: mine.reduce((a, r) => a + r.dups, 0),
    complete: mine.every((r) => r.complete),
  };
});
for (const l of peerLoss)
  say(`${l.peer}: lost ${l.lost}, dups ${l.dups}${l.complete ? '' : ' (incomplete)'}`);
printResult({
  scenario: 'fanout',
  quick,
  rows,
  goals,
  peers: { measured: peers, skipped, delivery: peerLoss },
});
process.exit(0);
