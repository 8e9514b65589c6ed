// bench/lib/measure.mjs -- what a benchmark reads off the box and how it sums it up: CPU time
// of a process and busy time of a core (from /proc), write syscalls, memory, kernel TCP
// counters; percentiles, medians, rounding, and the goal rows bench/run.mjs tabulates.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { SERVER_CPU } from './process.mjs';

/** Clock ticks per second of /proc/PID/stat's times (getconf CLK_TCK; 100 if unknown). */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/**
 * utime+stime of a process from /proc/PID/stat, in ns (tick resolution); with `children`, also
 * the cutime+cstime of the children it has reaped. 0 when the process is gone.
 */
export function procStatNs(pid, { children = false } = {}) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
    return (ticks * 1e9) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU time (ns, all threads) of a process, from /proc/PID/task/*\/schedstat. */
export function cpuNs(pid) {
  let total = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {} // a thread that just ended
    }
  } catch {
    return procStatNs(pid); // no schedstat: tick resolution
  }
  return total;
}

/**
 * Busy time of one CPU so far, ns (from /proc/stat, USER_HZ = 100 assumed): with the server's
 * own CPU time over the same interval it tells how much else ran on the server's core.
 * NaN when the CPU does not exist.
 */
export function cpuBusyNs(cpu = SERVER_CPU) {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return NaN;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: all but idle and iowait
  return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) * 1e7;
}

/**
 * CPU of PostgreSQL so far, ns: every process of user postgres named postgres (postmaster,
 * backends, walwriter, checkpointer...), with the children's times each has reaped, so that a
 * backend that exited between two samples is still counted (in the postmaster's cutime).
 * Server-wide: other clients of the same PostgreSQL count too.
 */
export function pgCpuNs() {
  const r = spawnSync('pgrep', ['-u', 'postgres', '-x', 'postgres'], { encoding: 'utf8' });
  const pids = (r.stdout ?? '').split('\n').filter(Boolean);
  return {
    ns: pids.reduce((sum, pid) => sum + procStatNs(pid, { children: true }), 0),
    procs: pids.length,
  };
}

/**
 * Measures how much of `cpu` something other than `pid` used between this call and the call of
 * the stopper it returns: the noise indicator every timed figure carries (the box is shared).
 * The stopper gives `{ server_cpu_ns, wall_s, other_cpu_pct }` (other = busy time of the CPU
 * not spent by pid, as a percentage of the wall time).
 */
export function cpuWatch(pid, cpu = SERVER_CPU) {
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

/** Write syscalls (write, writev, send...) a process has made so far, from /proc/PID/io. */
export function writeSyscalls(pid) {
  return Number(/^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

/** VmRSS and VmHWM of a process, in KiB. */
export function memKB(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: get('VmRSS'), hwm: get('VmHWM') };
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
      lines = readFileSync(file, 'utf8').trim().split('\n');
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

/** The p-th percentile (0..100) of an ascending-sorted array, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

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

/**
 * A goal row as run.mjs expects it: `value` against `baseline`, met when the ratio is at least
 * `min`; with `atMost` (lower is better) met when `value` is at most `min`.
 */
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
