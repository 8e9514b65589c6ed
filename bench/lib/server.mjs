// bench/lib/server.mjs -- the servers a benchmark measures: any command pinned to the server
// CPU and waited for, ssechat from the build (SQLite, or PostgreSQL + Redis for a cluster
// node), and the bare node:http baseline (bench/lib/baseline-sse.mjs).
import { join } from 'node:path';
import { portOpen, waitForPort } from './http.mjs';
import { ensureBuild, ROOT, removeTempDir, SERVER_CPU, spawnTracked, tempDir } from './process.mjs';

/**
 * Flags that turn off the flood guards (rate limits, streams per user, connections per
 * address). A throughput benchmark is one client flooding on purpose; with the defaults it
 * would measure 429s. An operator load-testing their own server passes the same flags.
 */
export const NO_RATE_LIMITS = [
  ...['--send-limit-user', '0', '--send-limit-ip', '0'],
  ...['--connect-limit-user', '0', '--connect-limit-ip', '0'],
  ...['--max-streams-per-user', '0'],
  ...['--max-connections-per-ip', '0'],
];

/**
 * The ssechat entry point every benchmark starts: SSECHAT_BIN runs another build (a patched
 * copy, or bench/compare.mjs's worktree at a base commit) with the same measuring code.
 */
export function ssechatBin() {
  return process.env.SSECHAT_BIN ?? join(ROOT, 'bin', 'ssechat.js');
}

/** Makes sure the build SSECHAT_BIN points at exists (ours is built when missing). */
async function ensureServerBuild() {
  if (!process.env.SSECHAT_BIN) await ensureBuild();
}

/**
 * Starts a server pinned to SERVER_CPU and waits for its port (at most `startTimeoutMs`,
 * default 15 s; a server that migrates a large database before it listens needs more).
 * Returns `{ name, pid, proc, port, spawnedAt, stop(), log() }`; spawnedAt is the
 * performance.now() of the spawn, stop() SIGTERMs, then SIGKILLs after 3 s.
 * SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") go to node servers, for
 * profiling a benchmark as it runs.
 */
export async function startServer(
  name,
  cmd,
  args,
  port,
  { cpu = SERVER_CPU, env, cwd, startTimeoutMs = 15_000 } = {},
) {
  let log = '';
  // Something already on the port would be measured in place of our server: refuse.
  if (await portOpen(port)) throw new Error(`${name}: port ${port} is already in use`);
  const flags = (process.env.SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  if (cmd === process.execPath) args = [...flags, ...args];
  const spawnedAt = performance.now();
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
    await waitForPort(port, '127.0.0.1', startTimeoutMs, proc);
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
  return { name, pid: proc.pid, proc, port, spawnedAt, stop, log: () => log };
}

/**
 * Starts ssechat from the build with a fresh data dir (removed on stop), persistence on
 * (`--store sqlite`) and the flood guards off, unless `extra` (more flags, which win over
 * these: `--store postgres …`) says otherwise. `nodeFlags` go to node before the script
 * (`--cpu-prof --cpu-prof-dir=DIR` profiles the server: the profile is written when it
 * stops). `dataDir` runs it on an existing data dir instead (kept on stop), `bin` runs
 * another build's bin/ssechat.js, and `startTimeoutMs` is startServer's.
 */
export async function startSsechat(
  port,
  extra = [],
  { nodeFlags = [], dataDir, bin, startTimeoutMs } = {},
) {
  if (!bin) await ensureServerBuild();
  const dir = dataDir ?? tempDir('ssechat-bench-data-');
  const args = [
    ...nodeFlags,
    bin ?? ssechatBin(),
    ...['--host', '127.0.0.1', '--port', String(port), '--data-dir', dir],
    ...['--log-level', 'warn', '--store', 'sqlite'],
    ...NO_RATE_LIMITS,
    ...extra,
  ];
  const s = await startServer('ssechat', process.execPath, args, port, { startTimeoutMs });
  if (dataDir) return s;
  const stop = s.stop;
  s.stop = async () => {
    await stop();
    removeTempDir(dir);
  };
  return s;
}

/** Starts ssechat for a scenario: profiled when `--server-node-flags "…"` was given. */
export function startScenarioServer(port, args) {
  const flags = args['server-node-flags'];
  return startSsechat(port, [], {
    nodeFlags: flags ? String(flags).split(/\s+/).filter(Boolean) : [],
  });
}

/** Starts the bare node:http SSE server the fan-out, idle and send scenarios compare against. */
export function startBaseline(port) {
  return startServer(
    'baseline',
    process.execPath,
    [join(ROOT, 'bench', 'lib', 'baseline-sse.mjs'), String(port)],
    port,
  );
}

/**
 * Starts one cluster node: ssechat on PostgreSQL (`dbUrl`, its own `schema`) and Redis
 * (`redisUrl`, keys under `prefix`), the flood guards off. Nodes of one cluster share schema
 * and prefix; start them one after another so that the first migrates the schema alone.
 */
export async function startClusterNode(port, { dbUrl, schema, redisUrl, prefix }) {
  await ensureServerBuild();
  return startServer(
    `ssechat:${port}`,
    process.execPath,
    [
      ssechatBin(),
      ...['--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'],
      ...['--store', 'postgres', '--database-url', dbUrl, '--database-schema', schema],
      ...['--bus', 'redis', '--redis-url', redisUrl, '--redis-prefix', prefix],
      ...NO_RATE_LIMITS,
    ],
    port,
  );
}
