// bench/lib/runner-util.mjs -- helpers of bench/send.mjs, bench/storm.mjs and bench/run.mjs that
// bench/lib/common.mjs does not have: JSON API calls, a lean SSE frame reader, wrk output
// parsing, medians, and the one-line JSON result every scenario prints.
import { readFileSync as fsRead, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';

/** Median of numbers (mean of the middle two for an even count); NaN for none. */
export function median(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Rounds to `d` decimals (keeps NaN/null as null so JSON stays valid). */
export function round(v, d = 1) {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** d;
  return Math.round(v * f) / f;
}

/** A goal row as run.mjs expects it; `atMost` flips the comparison (lower is better). */
export function goal(name, value, baseline, min, { atMost = false } = {}) {
  const ratio =
    Number.isFinite(value) && Number.isFinite(baseline) && baseline > 0 ? value / baseline : NaN;
  const met = atMost
    ? Number.isFinite(value) && value <= min
    : Number.isFinite(ratio) && ratio >= min;
  return {
    goal: name,
    value: round(value, 2),
    baseline: round(baseline, 2),
    ratio: round(ratio, 2),
    met,
  };
}

/** Rejects when nothing is free on host:port within a short probe; resolves if it is free. */
export function assertPortFree(port, host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host }, () => {
      s.destroy();
      reject(new Error(`port ${port} is already in use: refusing to benchmark whatever is there`));
    });
    s.on('error', () => resolve());
  });
}

/**
 * One HTTP request with a JSON body; resolves `{ status, headers, body }` (body parsed when it
 * is JSON). `opts` may carry `cookie`, `agent`, `localAddress`, `timeoutMs`.
 */
export function api(port, method, path, json, opts = {}) {
  const body = json === undefined ? undefined : JSON.stringify(json);
  const headers = {};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  if (opts.cookie) headers.Cookie = opts.cookie;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers,
        agent: opts.agent,
        localAddress: opts.localAddress,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          let parsed = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () =>
      req.destroy(new Error(`${method} ${path}: timeout`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Logs `nick` in (open mode) and returns the `ssechat_session=…` cookie pair. */
export async function login(port, nick, opts = {}) {
  const r = await api(port, 'POST', '/api/v1/session', { nick }, opts);
  if (r.status !== 201)
    throw new Error(`POST /api/v1/session ${nick}: ${r.status} ${JSON.stringify(r.body)}`);
  const set = [].concat(r.headers['set-cookie'] ?? []);
  const pair = set.map((c) => c.split(';')[0]).find((c) => c.startsWith('ssechat_session='));
  if (!pair) throw new Error(`POST /api/v1/session ${nick}: no session cookie`);
  return pair;
}

/**
 * A lean reader of one SSE response: calls `onFrame(event, id, data)` per frame, where `id` is
 * the frame's `id:` as a number (undefined when absent) and `data` the joined data lines. Only
 * what the benchmarks need: no BOM or bare-CR handling (ssechat writes LF only). Keeps a scan
 * offset so that a large frame arriving in many chunks is not rescanned from its start.
 */
export class SseReader {
  constructor(onFrame, { wantData = true } = {}) {
    this.onFrame = onFrame;
    this.wantData = wantData;
    this.buf = '';
    this.scan = 0;
    /** The last `retry:` value seen, in ms. */
    this.retry = undefined;
  }

  push(chunk) {
    this.buf += chunk;
    for (;;) {
      const end = this.buf.indexOf('\n\n', this.scan);
      if (end === -1) {
        this.scan = Math.max(0, this.buf.length - 1);
        return;
      }
      const frame = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + 2);
      this.scan = 0;
      this.frame(frame);
    }
  }

  frame(text) {
    let event = 'message';
    let id;
    let data;
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl === -1) nl = text.length;
      const c = text.charCodeAt(pos);
      if (c === 58 /* ':' comment */) {
        // heartbeat
      } else if (text.startsWith('id: ', pos)) {
        id = Number(text.slice(pos + 4, nl));
      } else if (text.startsWith('event: ', pos)) {
        event = text.slice(pos + 7, nl);
      } else if (text.startsWith('retry: ', pos)) {
        this.retry = Number(text.slice(pos + 7, nl));
      } else if (this.wantData && text.startsWith('data: ', pos)) {
        const d = text.slice(pos + 6, nl);
        data = data === undefined ? d : `${data}\n${d}`;
      }
      pos = nl + 1;
    }
    if (id === undefined && event === 'message' && data === undefined) return; // comment only
    this.onFrame(event, id, data);
  }
}

const UNIT = { us: 1e-3, ms: 1, s: 1e3, m: 60e3 };

/** Parses a wrk duration such as `812.00us`, `1.20ms`, `2.00s` into milliseconds. */
export function wrkMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT[m[2]] : NaN;
}

/**
 * The figures of `wrk --latency` output: requests, seconds, req/s, non-2xx responses, socket
 * errors, and latency avg/p50/p75/p90/p99/max in ms.
 */
export function parseWrk(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const lat = {};
  for (const p of ['50', '75', '90', '99']) {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    lat[`p${p}`] = m ? wrkMs(m[1]) : NaN;
  }
  const stats = /^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)/m.exec(out);
  const err = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: num(/^\s*(\d+) requests in/m),
    seconds: wrkMs(/requests in ([\d.]+\w+),/.exec(out)?.[1] ?? '') / 1000,
    rps: num(/^Requests\/sec:\s+([\d.]+)/m),
    non2xx: Number.isFinite(num(/Non-2xx or 3xx responses: (\d+)/))
      ? num(/Non-2xx or 3xx responses: (\d+)/)
      : 0,
    socketErrors: err ? err.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    latencyMs: {
      avg: stats ? wrkMs(stats[1]) : NaN,
      max: stats ? wrkMs(stats[3]) : NaN,
      ...lat,
    },
  };
}

/** Prints the scenario's one-line JSON result on stdout (what run.mjs reads). */
export function printResult(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Progress to stderr, so that stdout keeps only the result line. */
export function say(...parts) {
  process.stderr.write(`${parts.join(' ')}\n`);
}

/**
 * Like common.mjs's startSsechat, with node flags before the script (`--cpu-prof
 * --cpu-prof-dir=DIR` to profile the server: the profile is written when it stops).
 */
export async function startSsechatProfiled(port, nodeFlags) {
  const { ensureBuild, startServer, tempDir, ROOT, NO_RATE_LIMITS } = await import('./common.mjs');
  const { join } = await import('node:path');
  const { rmSync } = await import('node:fs');
  await ensureBuild();
  const dir = tempDir('ssechat-bench-data-');
  const args = [
    ...nodeFlags,
    join(ROOT, 'bin', 'ssechat.js'),
    ...['--host', '127.0.0.1', '--port', String(port), '--data-dir', dir, '--log-level', 'warn'],
    ...NO_RATE_LIMITS,
  ];
  const s = await startServer('ssechat', process.execPath, args, port);
  const stop = s.stop;
  s.stop = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return s;
}

/** Starts ssechat for a scenario: profiled when `--server-node-flags "…"` was given. */
export async function startScenarioServer(port, args) {
  const flags = args['server-node-flags'];
  if (flags) return startSsechatProfiled(port, String(flags).split(/\s+/).filter(Boolean));
  const { startSsechat } = await import('./common.mjs');
  return startSsechat(port);
}

/** Busy time of one CPU so far, in ns (from /proc/stat, USER_HZ = 100 assumed). */
export function cpuBusyNs(cpu) {
  const text = fsRead('/proc/stat', 'utf8');
  const line = text.split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return NaN;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) * 1e7;
}

/**
 * Measures how much of `cpu` something other than `pid` used between start() and stop():
 * the noise indicator every timed figure carries (the box is shared). Returns a stopper that
 * gives `{ server_cpu_s, other_cpu_pct }` (other = busy time of the CPU not spent by pid,
 * as a percentage of the wall time).
 */
export function cpuWatch(pid, cpu, cpuNs) {
  const t0 = performance.now();
  const b0 = cpuBusyNs(cpu);
  const s0 = cpuNs(pid);
  return () => {
    const wallNs = (performance.now() - t0) * 1e6;
    const server = cpuNs(pid) - s0;
    const other = Math.max(0, cpuBusyNs(cpu) - b0 - server);
    return {
      server_cpu_ns: server,
      wall_s: wallNs / 1e9,
      other_cpu_pct: round((other / wallNs) * 100, 0),
    };
  };
}

/**
 * Kernel TCP counters (system-wide, so other processes add to them): listen queue overflows,
 * SYN cookies sent, resets. A reconnect storm that overflows the listen backlog shows here.
 */
export function tcpCounters() {
  const out = {};
  for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
    let lines;
    try {
      lines = fsRead(file, 'utf8').trim().split('\n');
    } catch {
      continue;
    }
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i].split(/\s+/);
      const values = lines[i + 1].split(/\s+/);
      for (let j = 1; j < names.length; j++)
        out[`${names[0].replace(':', '')}.${names[j]}`] = Number(values[j]);
    }
  }
  return out;
}

/** The change of the storm-relevant counters between two tcpCounters() snapshots. */
export function tcpDelta(a, b) {
  const keys = {
    listen_overflows: 'TcpExt.ListenOverflows',
    listen_drops: 'TcpExt.ListenDrops',
    syncookies_sent: 'TcpExt.SyncookiesSent',
    estab_resets: 'Tcp.EstabResets',
    attempt_fails: 'Tcp.AttemptFails',
  };
  const out = {};
  for (const [k, v] of Object.entries(keys)) out[k] = (b[v] ?? 0) - (a[v] ?? 0);
  return out;
}

/**
 * A loopback port nothing listens on now (the kernel picks it). Other benchmarks run on this
 * box at the same time, so fixed ports collide; a tiny race remains until the server binds.
 */
export async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Writes a wrk Lua script to `file` that POSTs `body` (an object, sent as JSON) with the
 * session `cookie`, and returns `file`: how the send benchmarks load POST /api/v1/messages.
 */
export function wrkPostScript(file, body, cookie) {
  // JSON.stringify never writes a single quote, so it fits in a Lua '...' string as is.
  writeFileSync(
    file,
    [
      'wrk.method = "POST"',
      `wrk.body = '${JSON.stringify(body)}'`,
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.headers["Cookie"] = "${cookie}"`,
      '',
    ].join('\n'),
  );
  return file;
}
