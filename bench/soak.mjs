#!/usr/bin/env node
// bench/soak.mjs [--duration 10m] [--warmup 2m] [--sample 10s] [--streams 200] [--send-rate 100]
//                [--read-rate 10] [--users 100] [--readme PATH]   (= `npm run bench:soak`)
//
// Soak (issue 8): DURATION (env DURATION or --duration, default 10m) of connect / disconnect /
// send churn against one ssechat process (SQLite on), to see whether its memory settles.
// The load, all from this process over 127.0.0.x:
//   - STREAMS stream slots, each opening a stream, holding it 1 to 10 s and dropping it, again
//     and again: 80 % JSON API streams (`GET /api/v1/events`, resuming with Last-Event-ID from
//     the user's previous stream half the time), 20 % classic streams (`GET /<nick>`);
//   - SEND_RATE sends per second over keep-alive: 70 % `POST /api/v1/messages` (a DM, or to
//     `all` one time in five; a clientId on half, one in ten of those sent twice), 30 % classic
//     `GET /msg/<from>/<to>%20<text>`;
//   - READ_RATE reads per second (a history page, or who is online);
//   - once every 2 s one user logs out (which ends the streams of that session) and logs in
//     again from the next 127.0.0.x source address (logins are limited per address).
// The server runs pinned to CPU 0 with every rate and stream limit off (`0`), this load on
// CPU 1. Its VmRSS is sampled every 10 s; the trend is the least-squares slope of the samples
// after the warm-up, in KB per minute. Prints a table to stderr and one JSON line to stdout,
// writes bench/results/<date>-soak.json (RESULTS_DIR to redirect) and the table between the
// bench:soak markers of bench/README.md (--readme PATH to redirect). Stops by itself: the
// global limit is DURATION + 3 min. The timed run holds /tmp/bench.lock.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { api, freePort, login, SseReader } from './lib/http.mjs';
import { cpuNs, memKB, round } from './lib/measure.mjs';
import { installCleanup, pinSelf, ROOT, SERVER_CPU, sleep, withBenchLock } from './lib/process.mjs';
import { gitCommit, parseArgs, printResult, say, table, today } from './lib/report.mjs';
import { startSsechat } from './lib/server.mjs';

const args = parseArgs(process.argv.slice(2));

/** "10m", "90s", "1500ms" or a bare number of seconds, in ms. */
function durationMs(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim());
  if (!m) throw new Error(`bad duration "${text}": use 10m, 90s or 600`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'];
}

const DURATION_MS = durationMs(args.duration ?? process.env.DURATION ?? '10m');
/** Samples before this are the warm-up (JIT, pools, SQLite cache): left out of the slope. */
const WARMUP_MS = durationMs(args.warmup ?? `${Math.min(120_000, DURATION_MS * 0.2)}ms`);
const SAMPLE_MS = durationMs(args.sample ?? '10s');
const STREAMS = Number(args.streams ?? 200);
const SEND_RATE = Number(args['send-rate'] ?? 100);
const READ_RATE = Number(args['read-rate'] ?? 10);
const USERS = Number(args.users ?? 100);
/**
 * The goal: the V8 heap's per-minute floor (the live JavaScript objects) may grow at most this
 * much (KB/min) after the warm-up. RSS is reported beside it but is not the goal: it also holds
 * SQLite's page cache (better-sqlite3's default cache_size is 16 MB), which fills as the
 * database grows and then stays, and memory the allocator keeps after a burst.
 */
const SLOPE_GOAL_KB_MIN = 256;
/** Fewer heap readings than this in a minute make no floor (the last, partial minute). */
const MIN_READINGS_PER_MINUTE = 3;
const RESULTS = process.env.RESULTS_DIR ?? join(ROOT, 'bench', 'results');
const README = args.readme ? String(args.readme) : join(ROOT, 'bench', 'README.md');
const START = '<!-- bench:soak:start -->';
const END = '<!-- bench:soak:end -->';
// startSsechat turns every limit on rates and streams per user or address off: all the load
// comes from a handful of addresses and users.
installCleanup(DURATION_MS + 180_000, 'soak');
pinSelf();

const rand = (n) => Math.floor(Math.random() * n);
const pick = (list) => list[rand(list.length)];
const counts = {
  connects: 0,
  hellos: 0,
  stream_events: 0,
  stream_errors: 0,
  streams_ended_by_server: 0,
  sends: 0,
  sends_ok: 0,
  sends_429: 0,
  send_errors: 0,
  reads: 0,
  read_errors: 0,
  relogins: 0,
  relogin_errors: 0,
  /** Requests and streams refused or ended because their session was just logged out. */
  revoked: 0,
};
/** The first few unexpected outcomes, to show what went wrong. */
const errorSamples = [];
function fail(kind, detail) {
  counts[kind]++;
  if (errorSamples.length < 20) errorSamples.push(`${kind}: ${detail}`);
}

const apiUsers = Array.from({ length: USERS }, (_, i) => `soak-u${i}`);
const classicUsers = Array.from({ length: Math.max(10, USERS / 5) }, (_, i) => `soak-c${i}`);
/** Session cookie of each API user, and the last event id each user's streams saw. */
const cookies = new Map();
const lastIds = new Map();
/**
 * Per API user, how many logouts have begun: a request that fails (401, or a stream cut
 * before its greeting) while its user's session changed under it lost a race with the
 * logout, which is expected, and counts as `revoked` rather than as an error.
 */
const generation = new Map();
const relogging = new Set();
const gen = (nick) => generation.get(nick) ?? 0;
function failUnlessRevoked(kind, nick, startGen, detail) {
  if (nick !== undefined && (gen(nick) !== startGen || relogging.has(nick))) counts.revoked++;
  else fail(kind, detail);
}
// 127.0.0.2 to .251 as source addresses for logins: 100 logins per address per 10 minutes.
let nextAddress = 0;
const loginAddress = () => `127.0.0.${2 + (nextAddress++ % 250)}`;

async function run(port, server) {
  const { pid } = server;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  for (const nick of apiUsers) {
    cookies.set(nick, await loginAs(port, nick));
  }
  const stopAt = Date.now() + DURATION_MS;
  let running = true;
  const open = new Set();

  /** One stream slot: open, hold 1-10 s, drop, until the end. */
  async function streamSlot() {
    while (running) {
      await new Promise((resolve) => {
        const classic = Math.random() < 0.2;
        const nick = classic ? pick(classicUsers) : pick(apiUsers);
        const headers = { Accept: 'text/event-stream' };
        if (!classic) {
          headers.Cookie = cookies.get(nick);
          const last = lastIds.get(nick);
          if (last !== undefined && Math.random() < 0.5) headers['Last-Event-ID'] = String(last);
        }
        counts.connects++;
        const startGen = classic ? undefined : gen(nick);
        let greeted = false;
        let settled = false;
        const reader = new SseReader((event, id) => {
          counts.stream_events++;
          if (id !== undefined && !classic) lastIds.set(nick, id);
          if (!greeted && (classic || event === 'hello')) {
            greeted = true;
            counts.hellos++;
          }
        });
        const req = request({
          host: '127.0.0.1',
          port,
          path: classic ? `/${nick}` : '/api/v1/events',
          headers,
          agent: false,
        });
        open.add(req);
        const done = () => {
          if (settled) return;
          settled = true;
          clearTimeout(holdTimer);
          clearTimeout(helloTimer);
          open.delete(req);
          req.destroy();
          resolve();
        };
        const holdTimer = setTimeout(done, 1000 + rand(9000));
        const helloTimer = setTimeout(() => {
          if (!greeted) {
            failUnlessRevoked('stream_errors', nick, startGen, `${nick}: no greeting in 10 s`);
          }
        }, 10_000);
        req.on('response', (res) => {
          if (res.statusCode !== 200) {
            const detail = `${nick}: status ${res.statusCode}`;
            failUnlessRevoked('stream_errors', classic ? undefined : nick, startGen, detail);
            res.resume();
            done();
            return;
          }
          res.setEncoding('utf8');
          res.on('data', (d) => reader.push(d));
          res.on('end', () => {
            // A logout ends the streams of that session; anything else is unexpected.
            if (!settled) counts.streams_ended_by_server++;
            done();
          });
        });
        req.on('error', (err) => {
          if (!settled) {
            const detail = `${nick}: ${err.message}`;
            failUnlessRevoked('stream_errors', classic ? undefined : nick, startGen, detail);
          }
          done();
        });
        req.end();
      });
    }
  }

  let sendSeq = 0;
  /** One send, API or classic; counts its outcome. */
  async function sendOne() {
    counts.sends++;
    const n = ++sendSeq;
    let from;
    let startGen;
    try {
      let status;
      if (Math.random() < 0.7) {
        from = pick(apiUsers);
        startGen = gen(from);
        const to = Math.random() < 0.2 ? 'all' : pick(apiUsers);
        const body = { to, text: `soak ${n} ${'x'.repeat(rand(200))}` };
        const idempotent = Math.random() < 0.5;
        if (idempotent) body.clientId = `soak-${n}`;
        const opts = { cookie: cookies.get(from), agent, timeoutMs: 10_000 };
        status = (await api(port, 'POST', '/api/v1/messages', body, opts)).status;
        if (idempotent && status === 201 && Math.random() < 0.1) {
          status = (await api(port, 'POST', '/api/v1/messages', body, opts)).status;
        }
      } else {
        const to = Math.random() < 0.2 ? 'all' : pick(classicUsers);
        const path = `/msg/${pick(classicUsers)}/${to}%20soak%20${n}`;
        status = (await api(port, 'GET', path, undefined, { agent, timeoutMs: 10_000 })).status;
      }
      if (status === 201 || status === 204) counts.sends_ok++;
      // A full offline mailbox (a user who stayed away) is an expected answer.
      else if (status === 429) counts.sends_429++;
      else failUnlessRevoked('send_errors', from, startGen, `status ${status}`);
    } catch (err) {
      failUnlessRevoked('send_errors', from, startGen, err.message);
    }
  }

  async function readOne() {
    counts.reads++;
    const nick = pick(apiUsers);
    const startGen = gen(nick);
    const path =
      Math.random() < 0.5
        ? `/api/v1/messages?with=${pick(['all', pick(apiUsers)])}`
        : '/api/v1/presence';
    try {
      const r = await api(port, 'GET', path, undefined, {
        cookie: cookies.get(nick),
        agent,
        timeoutMs: 10_000,
      });
      if (r.status !== 200) {
        failUnlessRevoked('read_errors', nick, startGen, `${path}: status ${r.status}`);
      }
    } catch (err) {
      failUnlessRevoked('read_errors', nick, startGen, `${path}: ${err.message}`);
    }
  }

  async function relogin() {
    counts.relogins++;
    const nick = pick(apiUsers);
    relogging.add(nick);
    generation.set(nick, gen(nick) + 1);
    try {
      const out = await api(port, 'DELETE', '/api/v1/session', undefined, {
        cookie: cookies.get(nick),
        agent,
      });
      if (out.status !== 204) throw new Error(`logout: status ${out.status}`);
      cookies.set(nick, await loginAs(port, nick));
      lastIds.delete(nick);
    } catch (err) {
      fail('relogin_errors', err.message);
    } finally {
      relogging.delete(nick);
      generation.set(nick, gen(nick) + 1);
    }
  }

  /** Calls `fn` `perSecond` times a second, spread over 20 ticks, without waiting for it. */
  const paced = (perSecond, fn) => {
    let owed = 0;
    return setInterval(() => {
      owed += perSecond / 20;
      for (; owed >= 1; owed--) void fn();
    }, 50);
  };

  const samples = [];
  const t0 = Date.now();
  const cpu0 = cpuNs(pid);
  const sample = () => {
    const { rss } = memKB(pid);
    const s = { t_s: round((Date.now() - t0) / 1000, 0), rss_kb: rss, open: open.size };
    // The V8 heap in use, from /metrics: RSS keeps pages the heap has freed, so the lowest
    // heap reading of each minute (just after a collection) is the better leak signal.
    void heapKb(port).then((kb) => {
      s.heap_kb = kb;
    });
    for (const k of ['connects', 'sends', 'stream_errors', 'send_errors']) s[k] = counts[k];
    samples.push(s);
    say(
      `soak: ${String(s.t_s).padStart(4)} s  rss ${(rss / 1024).toFixed(1)} MiB  streams ${open.size}` +
        `  connects ${counts.connects}  sends ${counts.sends}  errors ${errorTotal()}`,
    );
  };
  sample();
  const slots = Array.from({ length: STREAMS }, () => streamSlot());
  const timers = [
    paced(SEND_RATE, sendOne),
    paced(READ_RATE, readOne),
    setInterval(() => void relogin(), 2000),
  ];
  const sampler = setInterval(sample, SAMPLE_MS);
  while (Date.now() < stopAt) {
    await sleep(Math.min(1000, stopAt - Date.now()));
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
      const how = server.proc.exitCode ?? server.proc.signalCode;
      throw new Error(
        `the server died during the soak (${how}); errors so far: ${JSON.stringify(errorSamples)}; its log ends:\n${server.log()}`,
      );
    }
  }
  sample();
  running = false;
  for (const t of [...timers, sampler]) clearInterval(t);
  for (const req of open) req.destroy();
  await Promise.all(slots);
  agent.destroy();
  // With the load gone and 10 s to settle: what the server keeps once everybody left.
  await sleep(10_000);
  const idle = memKB(pid);
  return {
    samples,
    idle_rss_kb: idle.rss,
    hwm_kb: idle.hwm,
    server_cpu_s: round((cpuNs(pid) - cpu0) / 1e9, 1),
  };
}

const errorTotal = () =>
  counts.stream_errors + counts.send_errors + counts.read_errors + counts.relogin_errors;

/** Logs `nick` in from the next source address (logins are limited per address). */
const loginAs = (port, nick) => login(port, nick, { localAddress: loginAddress() });

/** The server's V8 heap in use (KB), from its /metrics; undefined when it cannot be read. */
async function heapKb(port) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => {
        const m = /^ssechat_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)/m.exec(text);
        resolve(m ? Math.round(Number(m[1]) / 1024) : undefined);
      });
    });
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The lowest heap reading of each whole minute after `fromS` seconds: [minute, KB] points. */
function heapFloors(samples, fromS) {
  const floors = new Map();
  const readings = new Map();
  for (const s of samples) {
    if (s.t_s < fromS || s.heap_kb === undefined) continue;
    const minute = Math.floor(s.t_s / 60);
    floors.set(minute, Math.min(floors.get(minute) ?? Infinity, s.heap_kb));
    readings.set(minute, (readings.get(minute) ?? 0) + 1);
  }
  return [...floors]
    .filter(([m]) => readings.get(m) >= MIN_READINGS_PER_MINUTE)
    .map(([m, kb]) => [m + 0.5, kb]);
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

const port = await freePort();
const date = today();
const commit = gitCommit();
const command = `${process.env.DURATION ? `DURATION=${process.env.DURATION} ` : ''}npm run bench:soak${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
say(
  `soak: ${round(DURATION_MS / 60_000, 1)} min, warm-up ${WARMUP_MS / 1000} s, ${STREAMS} stream slots, ` +
    `${SEND_RATE} sends/s, ${READ_RATE} reads/s, port ${port}`,
);
const outcome = await withBenchLock(async () => {
  const server = await startSsechat(port);
  try {
    return await run(port, server);
  } finally {
    await server.stop();
  }
});

const { samples } = outcome;
const warm = samples.filter((s) => s.t_s * 1000 >= WARMUP_MS);
const slopeKbMin = slope(warm.map((s) => [s.t_s / 60, s.rss_kb]));
const rss = samples.map((s) => s.rss_kb);
const floors = heapFloors(samples, WARMUP_MS / 1000);
const heapSlopeKbMin = floors.length >= 2 ? slope(floors) : NaN;
const after = warm[0] ?? samples[0];
const last = samples[samples.length - 1];
const errors = errorTotal();
const result = {
  scenario: 'soak',
  date,
  commit,
  command,
  params: {
    duration_s: DURATION_MS / 1000,
    warmup_s: WARMUP_MS / 1000,
    load: { streams: STREAMS, send_rate: SEND_RATE, read_rate: READ_RATE, users: USERS },
    server_cpu: SERVER_CPU,
  },
  rows: [
    {
      server: 'ssechat',
      scenario: `soak ${round(DURATION_MS / 60_000, 1)} min`,
      rss_kb: {
        first: rss[0],
        after_warmup: after.rss_kb,
        last: last.rss_kb,
        max: Math.max(...rss),
        idle_after: outcome.idle_rss_kb,
        hwm: outcome.hwm_kb,
      },
      slope_kb_per_min: round(slopeKbMin, 1),
      heap_floor_kb_by_minute: floors,
      heap_floor_slope_kb_per_min: round(heapSlopeKbMin, 1),
      slope_goal_kb_per_min: SLOPE_GOAL_KB_MIN,
      counts,
      errors,
      error_samples: errorSamples,
      server_cpu_s: outcome.server_cpu_s,
    },
  ],
  goals: [
    {
      goal: `soak: V8 heap floor slope after warm-up ≤ ${SLOPE_GOAL_KB_MIN} KB/min, no errors`,
      value: round(heapSlopeKbMin, 1),
      baseline: SLOPE_GOAL_KB_MIN,
      met: heapSlopeKbMin <= SLOPE_GOAL_KB_MIN && errors === 0,
      unit: 'KB/min',
    },
  ],
  samples,
};

const mib = (kb) => (kb / 1024).toFixed(1);
const c = counts;
const md = [
  `${date}, commit ${commit}, \`${command}\`: ${round(DURATION_MS / 60_000, 1)} min, warm-up ` +
    `${WARMUP_MS / 1000} s, RSS sampled every ${SAMPLE_MS / 1000} s. Raw: \`bench/results/${date}-soak.json\`.`,
  '',
  '| RSS first | after warm-up | last | max | idle after | RSS slope | V8 heap floor slope | goal |',
  '|---:|---:|---:|---:|---:|---:|---:|---|',
  `| ${mib(rss[0])} MiB | ${mib(after.rss_kb)} MiB | ${mib(last.rss_kb)} MiB | ` +
    `${mib(Math.max(...rss))} MiB | ${mib(outcome.idle_rss_kb)} MiB | ${round(slopeKbMin, 1)} KB/min | ` +
    `${round(heapSlopeKbMin, 1)} KB/min | heap ≤ ${SLOPE_GOAL_KB_MIN} KB/min, no errors: ${result.goals[0].met ? 'MET' : 'NOT MET'} |`,
  '',
  '| connects | greeted | events received | ended by server | sends | ok | 429 | reads | relogins | revoked | errors | server CPU |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  `| ${c.connects} | ${c.hellos} | ${c.stream_events} | ${c.streams_ended_by_server} | ${c.sends} | ` +
    `${c.sends_ok} | ${c.sends_429} | ${c.reads} | ${c.relogins} | ${c.revoked} | ${errors} | ${outcome.server_cpu_s} s |`,
  '',
  `V8 heap in use, lowest reading of each minute after the warm-up (MiB): ${floors
    .map(([m, kb]) => `${Math.floor(m)}′ ${mib(kb)}`)
    .join(', ')}; slope ${round(heapSlopeKbMin, 1)} KB/min.`,
  '',
  `RSS by minute (MiB): ${samples
    .filter((s, i) => i === 0 || s.t_s % 60 < SAMPLE_MS / 1000)
    .map((s) => `${round(s.t_s / 60, 0)}′ ${mib(s.rss_kb)}`)
    .join(', ')}.`,
  ...(errorSamples.length ? ['', 'First errors:', ...errorSamples.map((e) => `- ${e}`)] : []),
].join('\n');

mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, `${date}-soak.json`), `${JSON.stringify(result, null, 2)}\n`);
const readme = readFileSync(README, 'utf8');
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a === -1 || b < a) say(`soak: no ${START} ... ${END} in ${README}; not updated`);
else writeFileSync(README, `${readme.slice(0, a + START.length)}\n${md}\n${readme.slice(b)}`);

say(
  `\n${table(
    ['RSS MiB', 'first', 'after warm-up', 'last', 'max', 'idle after'],
    [
      [
        '',
        mib(rss[0]),
        mib(after.rss_kb),
        mib(last.rss_kb),
        mib(Math.max(...rss)),
        mib(outcome.idle_rss_kb),
      ],
    ],
  )}\nslope after warm-up: ${round(slopeKbMin, 1)} KB/min; connects ${c.connects}, sends ${c.sends}, errors ${errors}`,
);
printResult({ ...result, samples: undefined });
process.exit(0);
