// bench/uploads.mjs [--quick] [--duration 10s] [--reps 1] [--uploaders 2] [--subscribers 1000]
//                   [--rate 20] [--seconds 10] [--burst 200] [--thumb-pairs 7]
//                   [--throughput-seconds 10] [--throughput-conns 4] [--thumb-runs 3]
//                   [--upload-pause-ms 0]
//
// Files beside chat (issue 20: "`npm run bench` shows text sends and fan-out unchanged while
// uploads run beside them"). One ssechat (SQLite, blobs on disk, no upload quota), pinned to
// CPU 0; this process, wrk and the subscriber processes on CPU 1; one hold of /tmp/bench.lock
// for the whole run. In order, against the same server:
//   thumbnail   a 12 MP JPEG (4000x3000, noisy: bench/thumb.mjs --make) and a random binary of
//               the same size uploaded in turn THUMB_PAIRS times on an idle server: the JPEG's
//               upload time minus the binary's is the decode, re-encode and thumbnail as a
//               client sees it (median of the differences)
//   throughput  THROUGHPUT_CONNS clients upload distinct 5 MB binaries back to back for
//               THROUGHPUT_SECONDS: uploads/s, MB/s, latency, server CPU per upload
//   send        the send scenario's load (bench/lib/send-load.mjs: wrk -c10 POST
//               /api/v1/messages over keep-alive, one receiver that must get every id) for
//               DURATION, alone and with UPLOADERS uploaders beside it, each in a loop:
//               the JPEG, then a distinct 5 MB binary, each sent in a DM to the receiver
//               and followed by a pause of UPLOAD_PAUSE_MS (0: back to back, the most the
//               server takes; a pause models people rather than a flood)
//   fanout      the fan-out scenario's load (bench/lib/fanout-load.mjs) to SUBSCRIBERS
//               streams: RATE broadcasts/s for SECONDS (p50/p99 publish->deliver), then a
//               burst of BURST (deliveries/s), each alone and with the uploaders beside it
// Alone and with alternate (ABBA over --reps). The ratios with/alone are the figures; goals:
// msgs/s and burst deliveries/s at least 0.9x alone, p99s at most 1.5x alone. Last, with the
// server stopped, bench/thumb.mjs's in-process figure (THUMB_RUNS, 0 skips it) on CPU 0.
// The uploaders' client work (5 MB bodies over loopback) also runs on CPU 1, beside wrk and the
// subscribers: part of a drop can be the load's core, not the server's (see `load %`).
// Progress and the table on stderr; one JSON line {scenario: 'uploads', rows, goals} on stdout.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { client, phase } from './lib/fanout-load.mjs';
import { freePort, login } from './lib/http.mjs';
import { cpuWatch, median, round } from './lib/measure.mjs';
import {
  installCleanup,
  pinSelf,
  ROOT,
  run,
  SERVER_CPU,
  sleep,
  tempDir,
  withBenchLock,
} from './lib/process.mjs';
import { parseArgs, printResult, say, table } from './lib/report.mjs';
import { measureSend, prepareSendLoad } from './lib/send-load.mjs';
import { startSsechat } from './lib/server.mjs';
import { SseFleet } from './lib/sse-load.mjs';
import { distinctBinary, startUploaders, uploadBytes } from './lib/upload-load.mjs';

const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const DURATION = String(args.duration ?? (quick ? '3s' : '10s'));
const REPS = Number(args.reps ?? 1);
const UPLOADERS = Number(args.uploaders ?? 2);
const SUBSCRIBERS = Number(args.subscribers ?? (quick ? 200 : 1000));
const RATE = Number(args.rate ?? 20);
const SECONDS = Number(args.seconds ?? (quick ? 3 : 10));
const BURST = Number(args.burst ?? (quick ? 50 : 200));
const THUMB_PAIRS = Number(args['thumb-pairs'] ?? (quick ? 3 : 7));
const TPUT_SECONDS = Number(args['throughput-seconds'] ?? (quick ? 3 : 10));
const TPUT_CONNS = Number(args['throughput-conns'] ?? 4);
const THUMB_RUNS = Number(args['thumb-runs'] ?? (quick ? 0 : 3));
const UPLOAD_PAUSE_MS = Number(args['upload-pause-ms'] ?? 0);
const WARMUP = quick ? '1s' : '3s';
/** The binary file's size: 5 MB. */
const BINARY = 5 * 1024 * 1024;
/**
 * Users the uploads rotate over: the server allows each 60 uploads a minute (api-uploads.ts),
 * so 40 allow 40/s. Logins are limited per address too; with tx, rx, the sender and 20
 * subscribers this is 63 logins.
 */
const UPLOAD_USERS = 40;

// Bounded: the phases' own durations plus a margin for the set-up, the photo and the waits.
installCleanup(Number(args.timeout ?? (quick ? 300 : 900)) * 1000, 'bench/uploads');
pinSelf();

const dir = tempDir('ssechat-bench-uploads-');
const jpegPath = join(dir, 'photo.jpg');
say('uploads: making a 4000x3000 JPEG (bench/thumb.mjs --make)');
execFileSync(process.execPath, [join(ROOT, 'bench', 'thumb.mjs'), '--make', jpegPath]);
const jpeg = readFileSync(jpegPath);
say(`uploads: the JPEG is ${(jpeg.length / 1e6).toFixed(2)} MB`);
const FILES = [
  { name: 'photo.jpg', bytes: jpeg },
  { name: 'blob.bin', binary: true, size: BINARY },
];

const port = await freePort();
const server = await startSsechat(port, ['--upload-quota-bytes', '0']);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const rows = [];
const noLock = (fn) => fn();

/** Runs `measure` with the uploaders beside it (started 1 s before); returns both results. */
async function beside(measure) {
  const up = startUploaders(port, {
    workers: UPLOADERS,
    files: FILES,
    cookies,
    agent,
    sendTo: 'rx',
    pauseMs: UPLOAD_PAUSE_MS,
  });
  await sleep(1000);
  const result = await measure();
  return { result, uploads: await up.stop() };
}

/** What the uploaders managed beside a phase, as row fields. */
const uploadFields = (u) =>
  u && {
    uploads_jpeg: u['photo.jpg'].uploads,
    uploads_bin: u['blob.bin'].uploads,
    upload_mb_per_s: round((u['photo.jpg'].bytes + u['blob.bin'].bytes) / 1e6 / u.seconds),
    upload_errors: u.errors + (u.firstError ? ` (${u.firstError})` : ''),
  };

let cookies = [];
let fleet;
try {
  await withBenchLock(async () => {
    const load = await prepareSendLoad(port, dir, agent);
    cookies = [];
    for (let i = 0; i < UPLOAD_USERS; i++) cookies.push(await login(port, `up${i}`, { agent }));
    say(`uploads: warm-up (wrk -c10 -d${WARMUP}, one JPEG, one binary)`);
    await load.wrk(10, WARMUP);
    const bin = distinctBinary(jpeg.length);
    for (const bytes of [jpeg, bin.stamp(-1)]) {
      const r = await uploadBytes(port, cookies[0], 'warm', bytes, agent);
      if (r.status !== 201)
        throw new Error(`warm-up upload: ${r.status} ${JSON.stringify(r.body)}`);
    }

    // ---- the thumbnail as a client sees it -------------------------------------------------
    const diffs = [];
    const jpegMs = [];
    const binMs = [];
    for (let i = 0; i < THUMB_PAIRS; i++) {
      const cookie = cookies[i % cookies.length];
      const b = await uploadBytes(port, cookie, 'same-size.bin', bin.stamp(i), agent);
      const j = await uploadBytes(port, cookie, 'photo.jpg', jpeg, agent);
      if (b.status !== 201 || j.status !== 201)
        throw new Error(`thumb pair: ${b.status} ${j.status}`);
      diffs.push(j.ms - b.ms);
      jpegMs.push(j.ms);
      binMs.push(b.ms);
    }
    rows.push({
      scenario: 'thumbnail 12 MP JPEG (client)',
      pairs: THUMB_PAIRS,
      jpeg_mb: round(jpeg.length / 1e6, 2),
      jpeg_upload_ms: round(median(jpegMs)),
      same_size_binary_ms: round(median(binMs)),
      thumb_ms: round(median(diffs)),
    });
    say(`thumbnail (client): ${round(median(diffs))} ms (median of ${THUMB_PAIRS})`);

    // ---- upload throughput, binaries only -------------------------------------------------
    const watch = cpuWatch(server.pid, SERVER_CPU);
    const up = startUploaders(port, {
      workers: TPUT_CONNS,
      files: [{ name: 'blob.bin', binary: true, size: BINARY }],
      cookies,
      agent,
    });
    await sleep(TPUT_SECONDS * 1000);
    const t = await up.stop();
    const cpu = watch();
    const b = t['blob.bin'];
    rows.push({
      scenario: 'upload 5 MB binary',
      connections: TPUT_CONNS,
      uploads: b.uploads,
      uploads_per_s: round(b.uploads / t.seconds, 2),
      mb_per_s: round(b.bytes / 1e6 / t.seconds),
      p50_ms: b.p50_ms,
      p99_ms: b.p99_ms,
      server_cpu_ms_per_upload: round(cpu.server_cpu_ns / 1e6 / Math.max(1, b.uploads)),
      server_cpu_pct: round((100 * cpu.server_cpu_ns) / 1e9 / cpu.wall_s, 0),
      other_cpu0_pct: cpu.other_cpu_pct,
      rate_limited: t.rate_limited,
      errors: t.errors,
    });
    say(`upload throughput: ${rows.at(-1).mb_per_s} MB/s, ${rows.at(-1).uploads_per_s} uploads/s`);

    // ---- send c10, alone and beside uploads -----------------------------------------------
    const sendOnce = () => measureSend(load, server, 10, DURATION, { lock: noLock });
    for (let r = 1; r <= REPS; r++) {
      for (const mode of r % 2 ? ['alone', 'with uploads'] : ['with uploads', 'alone']) {
        const m = mode === 'alone' ? { result: await sendOnce() } : await beside(sendOnce);
        rows.push({ scenario: 'send c10', mode, rep: r, ...m.result, ...uploadFields(m.uploads) });
        say(`send c10 ${mode}: ${m.result.msgs_per_s} msg/s, p99 ${m.result.p99_ms} ms`);
      }
    }

    // ---- fan-out, alone and beside uploads ------------------------------------------------
    const http = client(port, 8);
    const sender = await login(port, 'sender', { agent: http.agent });
    const subs = [];
    for (let i = 0; i < 20; i++) subs.push(await login(port, `sub${i}`, { agent: http.agent }));
    fleet = await SseFleet.start(SseFleet.childrenFor(SUBSCRIBERS));
    const c = await fleet.connect(SUBSCRIBERS, { port, cookies: subs });
    if (c.failed) throw new Error(`${c.failed} of ${SUBSCRIBERS} streams failed: ${c.errors}`);
    await sleep(1000);
    await phase(server, fleet, http, sender, 20, 0, 60_000); // warm-up
    const kinds = [
      [`rate ${RATE}/s x ${SECONDS}s`, Math.round(RATE * SECONDS), 1000 / RATE],
      [`burst ${BURST}`, BURST, 0],
    ];
    for (const [label, count, interval] of kinds) {
      for (let r = 1; r <= REPS; r++) {
        for (const mode of r % 2 ? ['alone', 'with uploads'] : ['with uploads', 'alone']) {
          const once = () => phase(server, fleet, http, sender, count, interval, 120_000);
          const m = mode === 'alone' ? { result: await once() } : await beside(once);
          const p = m.result;
          rows.push({
            scenario: `fanout ${SUBSCRIBERS} ${label}`,
            mode,
            rep: r,
            deliveriesPerSec: p.deliveriesPerSec,
            p50Ms: round(p.p50Ms),
            p99Ms: round(p.p99Ms),
            maxMs: round(p.maxMs),
            serverCpuPct: round(p.serverCpuPct),
            loadCpuPct: round(p.loadCpuPct),
            cpu0OtherPct: round(p.cpu0OtherPct),
            lost: p.lost,
            dups: p.dups,
            complete: p.complete,
            ...uploadFields(m.uploads),
          });
          say(`fanout ${label} ${mode}: ${p.deliveriesPerSec} deliv/s, p99 ${round(p.p99Ms)} ms`);
        }
      }
    }
    http.close();
    load.rx.close();
    if (server.proc.exitCode !== null) throw new Error(`ssechat died: ${server.log()}`);
    await fleet.close();
    fleet = undefined;
    await server.stop();

    // ---- bench/thumb.mjs in-process, on the server's core ---------------------------------
    if (THUMB_RUNS > 0) {
      const thumbMjs = join(ROOT, 'bench', 'thumb.mjs');
      const argv = [
        '-c',
        String(SERVER_CPU),
        process.execPath,
        thumbMjs,
        '--runs',
        String(THUMB_RUNS),
      ];
      const res = await run('taskset', argv, 300_000);
      const line = res.out.split('\n').find((l) => l.startsWith('{"scenario":"thumb"'));
      if (line)
        rows.push({
          scenario: 'thumbnail 12 MP JPEG (in-process, bench/thumb.mjs)',
          ...JSON.parse(line).rows[0],
        });
      else say(`bench/thumb.mjs gave no result (exit ${res.code}):\n${res.out.slice(-2000)}`);
    }
  });
} finally {
  agent.destroy();
  await fleet?.close();
  await server.stop();
}

// ---- the ratios, with uploads / alone ------------------------------------------------------
const pairOf = (scenario, key) => {
  const of = (mode) =>
    median(rows.filter((r) => r.scenario === scenario && r.mode === mode).map((r) => r[key]));
  const alone = of('alone');
  const withUp = of('with uploads');
  return { alone, withUp, ratio: round(withUp / alone, 2) };
};
const ratios = [
  ['send c10', 'msgs_per_s', 'msg/s', 0.9, 'min'],
  ['send c10', 'p99_ms', 'ms', 1.5, 'max'],
  [`fanout ${SUBSCRIBERS} rate ${RATE}/s x ${SECONDS}s`, 'p99Ms', 'ms', 1.5, 'max'],
  [`fanout ${SUBSCRIBERS} burst ${BURST}`, 'deliveriesPerSec', 'deliveries/s', 0.9, 'min'],
  [`fanout ${SUBSCRIBERS} burst ${BURST}`, 'p99Ms', 'ms', 1.5, 'max'],
];
const goals = ratios.map(([scenario, key, unit, bound, dir]) => {
  const p = pairOf(scenario, key);
  const met = Number.isFinite(p.ratio) && (dir === 'min' ? p.ratio >= bound : p.ratio <= bound);
  return {
    goal: `${scenario} ${key} with uploads beside ${dir === 'min' ? '≥' : '≤'} ${bound}× alone`,
    value: round(p.withUp, 2),
    baseline: round(p.alone, 2),
    ratio: p.ratio,
    met,
    unit,
  };
});
const lossless = rows.filter((r) => 'lost' in r);
goals.push({
  goal: 'uploads beside: every text message and broadcast delivered once',
  value: lossless.reduce((a, r) => a + r.lost + (r.duplicates ?? r.dups ?? 0), 0),
  baseline: null,
  ratio: null,
  met: lossless.every((r) => r.lost === 0 && (r.duplicates ?? r.dups) === 0 && !r.non2xx),
});

const f = (v) => (v === undefined || v === null ? '-' : String(v));
say('');
say(
  table(
    [
      'scenario',
      'mode',
      'msg|deliv /s',
      'p50 ms',
      'p99 ms',
      'srv CPU %',
      'lost',
      'jpeg up',
      'bin up',
      'up MB/s',
    ],
    rows
      .filter((r) => r.mode)
      .map((r) => [
        r.scenario,
        r.mode,
        f(r.msgs_per_s ?? r.deliveriesPerSec),
        f(r.p50_ms ?? r.p50Ms),
        f(r.p99_ms ?? r.p99Ms),
        f(r.server_cpu_pct ?? r.serverCpuPct),
        f(r.lost),
        f(r.uploads_jpeg),
        f(r.uploads_bin),
        f(r.upload_mb_per_s),
      ]),
  ),
);
say('');
say(
  table(
    ['figure', 'alone', 'with uploads', 'ratio', 'goal'],
    goals
      .filter((g) => g.ratio !== null)
      .map((g) => [
        g.goal.split(' with ')[0],
        f(g.baseline),
        f(g.value),
        `${f(g.ratio)}×`,
        g.met ? 'MET' : 'NOT MET',
      ]),
  ),
);
say('');
for (const r of rows.filter((x) => !x.mode)) {
  const { scenario, ...rest } = r;
  say(
    `${scenario}: ${Object.entries(rest)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
}
printResult({
  scenario: 'uploads',
  quick,
  params: {
    duration: DURATION,
    reps: REPS,
    uploaders: UPLOADERS,
    upload_pause_ms: UPLOAD_PAUSE_MS,
    subscribers: SUBSCRIBERS,
  },
  rows,
  goals,
});
process.exit(0);
