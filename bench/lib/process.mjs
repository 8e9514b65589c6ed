// bench/lib/process.mjs -- the processes of a benchmark: where the repository is, which CPU
// runs what, children and temp dirs that always die with us (exit, error, ctrl-c, the global
// deadline), running a tool to completion, and the bench lock that keeps timed loads apart.
// Everything here is for loopback benchmarks on this box; nothing is exported for src/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The CPU the servers run on. */
export const SERVER_CPU = 0;
/** The CPU of the load: this process and its children (env LOADCPU, default 1). */
export const LOAD_CPU = Number(process.env.LOADCPU ?? 1);
/** The lock bench/seed.sh and every other timed run take, so two loads never overlap. */
export const BENCH_LOCK = '/tmp/bench.lock';
/** Longest wait for BENCH_LOCK (env LOCK_TIMEOUT, seconds; default 30 min). */
export const LOCK_TIMEOUT_MS = Number(process.env.LOCK_TIMEOUT ?? 1800) * 1000;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

/** Runs a tracked child to completion, SIGKILLed after `timeoutMs`; resolves `{ code, out }`. */
export function run(cmd, argv, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

/** A temp dir removed at exit (or earlier by `forgetTempDir`). */
export function tempDir(prefix = 'ssechat-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes a dir made by tempDir now rather than at exit. */
export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Waits up to 60 s for dist/ (a concurrent `npm run build` removes it first), or builds it. */
export async function ensureBuild() {
  const main = join(ROOT, 'dist', 'src', 'main.js');
  for (let i = 0; i < 120 && !existsSync(main); i++) await sleep(500);
  if (existsSync(main)) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error('npm run build failed');
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
