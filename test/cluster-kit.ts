/**
 * What the tests that run ssechat as real processes share (cluster.test.ts,
 * cluster-presence.test.ts, pg-faults.test.ts, the chaos run): a free port, a private
 * redis-server that a test may kill and restart empty, and an ssechat child process that is
 * ready once it logged "listening".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A free TCP port on 127.0.0.1 (free now; nothing holds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** True when something accepts connections on the loopback port. */
export function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

/** A redis-server of the test's own on a fixed port, with no persistence: a restart is empty. */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** Starts one on a free port. */
  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again) on its port and waits until it answers, at most 10 s. */
  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (!(await answers(this.port))) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await sleep(50);
    }
  }

  /** Kills it (SIGKILL: it keeps nothing anyway) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Kills it at once, without waiting (for exit handlers). */
  stopSync(): void {
    this.child?.kill('SIGKILL');
  }
}

/** An ssechat child process, listening. */
export interface Node {
  readonly child: ChildProcess;
  /** Its base URL, from its "listening" log line. */
  readonly url: string;
  /** The last 100,000 characters or more of what it wrote (stdout, and stderr unless inherited). */
  output(): string;
}

/**
 * Spawns `bin/ssechat.js` with `args` and resolves once it logged "listening" (at most 15 s),
 * or rejects with what it wrote if it exits first. Its stderr goes to the test's unless
 * `stderr` is 'pipe', when it is collected with stdout.
 */
export function spawnNode(
  args: readonly string[],
  stderr: 'inherit' | 'pipe' = 'inherit',
): Promise<Node> {
  const bin = new URL('../../bin/ssechat.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', stderr] });
  let out = '';
  const take = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line: ${out}`)), 15_000);
    const started = (): void => {
      const url = /"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(out)?.[1];
      if (!url) return;
      clearTimeout(timer);
      child.stdout?.off('data', started);
      child.off('exit', early);
      resolve({ child, url, output: () => out });
    };
    const early = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`ssechat exited early (${code}): ${out}`));
    };
    child.stdout?.on('data', started);
    child.once('exit', early);
  });
}

/** Sends `signal` to the node unless it has exited; resolves once it has. */
export function killNode(
  node: Node | undefined,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  return new Promise((resolve) => {
    if (!node || node.child.exitCode !== null || node.child.signalCode !== null) {
      resolve();
      return;
    }
    node.child.once('exit', () => resolve());
    node.child.kill(signal);
  });
}
