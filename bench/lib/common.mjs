// bench/lib/common.mjs -- small helpers shared by the bench scripts: pinned server processes
// that always die with us, waiting for a port, /proc sampling, the bench lock, percentiles.
// Everything here is for loopback benchmarks on this box; nothing is exported for src/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** CPU the server runs on, and CPU of the load (this process and its children). */
export const SERVER_CPU = 0;
export const LOAD_CPU = Number(process.env.LOADCPU ?? 1);
/** The lock bench/seed.sh and every other timed run take, so two loads never overlap. */
export const BENCH_LOCK = '/tmp/bench.lock';
/** Longest wait for BENCH_LOCK (env LOCK_TIMEOUT, seconds; default 30 min). */
export const LOCK_TIMEOUT_MS = Number(process.env.LOCK_TIMEOUT ?? 1800) * 1000;

// Every process and temp dir we start, so that exit, an error or ctrl-c removes them all.
const children = new Set();
const tempDirs = new Set();
let hooked = false;

function killAll() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

// The global deadline (ms since epoch); time spent waiting for BENCH_LOCK moves it later.
let deadline = Infinity;
let deadlineName = 'bench';

/**
 * Installs the exit hooks (once): every child is SIGKILLed and every temp dir removed on exit,
 * on an uncaught error, on SIGINT/SIGTERM/SIGHUP, and when `timeoutMs` has passed (not counting
 * time spent waiting for BENCH_LOCK, which has its own bound, LOCK_TIMEOUT_MS).
 */
export function installCleanup(timeoutMs, name = 'bench') {
  deadlineName = name;
  if (!hooked) {
    hooked = true;
    process.on('exit', killAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.on(sig, () => {
        process.stderr.write(`\n${name}: ${sig}, stopping\n`);
        killAll();
        process.exit(130);
      });
    }
    process.on('uncaughtException', (err) => {
      process.stderr.write(`${name}: ${err?.stack ?? err}\n`);
      killAll();
      process.exit(1);
    });
    process.on('unhandledRejection', (err) => {
      process.stderr.write(`${name}: ${err?.stack ?? err}\n`);
      killAll();
      process.exit(1);
    });
  }
  if (timeoutMs) {
    deadline = Date.now() + timeoutMs;
    setInterval(() => {
      if (Date.now() < deadline) return;
      process.stderr.write(`${deadlineName}: global timeout of ${timeoutMs / 1000} s, stopping\n`);
      killAll();
      process.exit(124);
    }, 500).unref();
  }
}

/** Pins this process (and so every child it spawns later) to `cpu`. */
export function pinSelf(cpu = LOAD_CPU) {
  const r = spawnSync('taskset', ['-p', '-c', String(cpu), String(process.pid)], {
    stdio: 'ignore',
  });
  if (r.status !== 0) throw new Error(`taskset -p -c ${cpu} failed: need CPUs 0 and ${cpu}`);
}

/**
 * Spawns a tracked child (killed when we exit). `cpu` pins it with taskset, which execs the
 * command, so child.pid is the command's own pid.
 */
export function spawnTracked(cmd, args, { cpu, ...opts } = {}) {
  const [c, a] = cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
  const child = spawn(c, a, opts);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** A temp dir removed at exit (or by the returned function). */
export function tempDir(prefix = 'ssechat-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** A port nothing listens on now (the kernel's pick, in the ephemeral range). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** True if something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = connect({ port, host }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Resolves once something accepts TCP connections on host:port; rejects after timeoutMs. */
export async function waitForPort(port, host = '127.0.0.1', timeoutMs = 10_000, proc) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode})`);
    if (await portOpen(port, host)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port}`);
    await sleep(100);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits up to 60 s for dist/ (a concurrent `npm run build` removes it first), or builds it. */
export async function ensureBuild() {
  const main = join(ROOT, 'dist', 'src', 'main.js');
  for (let i = 0; i < 120 && !existsSync(main); i++) await sleep(500);
  if (existsSync(main)) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('npm run build failed');
}

/**
 * Starts a server pinned to SERVER_CPU and waits for its port. Returns
 * `{ pid, proc, port, stop(), log() }`; stop() SIGTERMs, then SIGKILLs after 3 s.
 */
export async function startServer(name, cmd, args, port, { cpu = SERVER_CPU, env, cwd } = {}) {
  let log = '';
  // SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") go to node servers, for
  // profiling a benchmark as it runs.
  // Something already on the port would be measured in place of our server: refuse.
  if (await portOpen(port)) throw new Error(`${name}: port ${port} is already in use`);
  const flags = (process.env.SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  if (cmd === process.execPath) args = [...flags, ...args];
  const proc = spawnTracked(cmd, args, {
    cpu,
    cwd: cwd ?? ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d) => {
    log = (log + d).slice(-8000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  try {
    await waitForPort(port, '127.0.0.1', 15_000, proc);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${name} did not start: ${err.message}\n${log}`);
  }
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  };
  return { name, pid: proc.pid, proc, port, stop, log: () => log };
}

/**
 * Flags that turn off the flood guards (rate limits, streams per user, connections per address). A throughput benchmark
 * is one client flooding on purpose; with the defaults it would measure 429s. An operator
 * load-testing their own server passes the same flags.
 */
export const NO_RATE_LIMITS = [
  ...['--send-limit-user', '0', '--send-limit-ip', '0'],
  ...['--connect-limit-user', '0', '--connect-limit-ip', '0'],
  ...['--max-streams-per-user', '0'],
  ...['--max-connections-per-ip', '0'],
];

/**
 * Starts ssechat from the build with a fresh data dir (removed on stop). `extra` are more flags.
 * Persistence is on (`--store sqlite`) unless `extra` says otherwise.
 */
export async function startSsechat(port, extra = []) {
  await ensureBuild();
  const dir = tempDir('ssechat-bench-data-');
  // SSECHAT_BIN runs another build (a patched copy), to measure a change before making it.
  const args = [
    process.env.SSECHAT_BIN ?? join(ROOT, 'bin', 'ssechat.js'),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data-dir',
    dir,
    '--log-level',
    'warn',
    '--store',
    'sqlite',
    ...NO_RATE_LIMITS,
    ...extra,
  ];
  const s = await startServer('ssechat', process.execPath, args, port);
  const stop = s.stop;
  s.stop = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };
  return s;
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
    // No schedstat: utime + stime in clock ticks (assumed 100 Hz).
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    total = (Number(f[11]) + Number(f[12])) * 1e7;
  }
  return total;
}

/**
 * Busy time of one CPU so far, ns (from /proc/stat, 10 ms ticks): with the server's own CPU
 * time over the same interval it tells how much else ran on the server's core.
 */
export function cpuBusyNs(cpu = SERVER_CPU) {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3] - f[4]) * 1e7;
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
 * Runs `fn` while holding BENCH_LOCK (flock), so that timed loads never overlap. The lock is
 * held by a `flock … cat` child: if we die, its stdin closes, cat exits, and the lock goes.
 */
export async function withBenchLock(fn, { quiet = false } = {}) {
  const t0 = Date.now();
  const holder = spawnTracked(
    'flock',
    [BENCH_LOCK, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const paused = deadline;
  deadline = Infinity; // waiting for the lock is bounded by LOCK_TIMEOUT_MS instead
  try {
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        holder.kill('SIGKILL');
        reject(new Error(`${BENCH_LOCK} still busy after ${LOCK_TIMEOUT_MS / 1000} s`));
      }, LOCK_TIMEOUT_MS);
      holder.stdout.once('data', () => {
        clearTimeout(t);
        resolve();
      });
      holder.once('exit', (code, sig) => {
        clearTimeout(t);
        reject(new Error(`flock ${BENCH_LOCK} exited (${code ?? sig})`));
      });
    });
  } finally {
    deadline = paused + (Date.now() - t0);
  }
  if (!quiet && Date.now() - t0 > 1000) {
    process.stderr.write(`(waited ${((Date.now() - t0) / 1000).toFixed(0)} s for ${BENCH_LOCK})\n`);
  }
  try {
    return await fn();
  } finally {
    holder.stdin.end();
    holder.kill('SIGTERM');
  }
}

/** The p-th percentile (0..100) of an ascending-sorted array, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** The short commit, with ` (dirty)` when the tree has changes. */
export function gitCommit() {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['diff', '--quiet', 'HEAD'], { cwd: ROOT }).status !== 0;
  return (r.stdout || '?').trim() + (dirty ? '-dirty' : '');
}

/** Today as YYYY-MM-DD (local time). */
export function today() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A plain text table of `rows` (arrays of cells) under `head`, numbers right-aligned. */
export function table(head, rows) {
  const all = [head, ...rows].map((r) => r.map((c) => String(c)));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join(
    '\n',
  );
}

/** Parses `--flag`, `--key value` and `--key=value` into an object. */
export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq !== -1) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--'))
      out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}
