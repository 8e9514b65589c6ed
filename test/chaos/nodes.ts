/**
 * The chaos run's ssechat nodes: real processes (bin/ssechat.js) on fixed ports, so that a
 * restarted node comes back at the same address, each reaching PostgreSQL and Redis through
 * FaultProxy instances of its own, so that one node can be cut off alone. A node that exits
 * when the run did not stop it is a finding: it is recorded (with the end of its log) and
 * restarted, so that the run goes on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { FaultProxy } from '../fault-proxy.js';
import { NO_LIMIT_FLAGS } from '../helpers.js';
import { sleep } from './prng.js';
import { freePort } from './services.js';

/** Short, so that presence settles fast once the run is quiet. */
export const GRACE_MS = 1000;
/** The nodes' --heartbeat-ms: an idle stream gets a ping this often. */
export const HEARTBEAT_MS = 1000;
/** Shared by every node: a schema and a key prefix of the run's own. */
const SCHEMA = 'chaos';

/** A node that exited although the run did not stop it. */
export interface UnexpectedExit {
  readonly node: string;
  readonly at: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly tail: string;
}

/** One ssechat node of the chaos cluster. */
export class ChaosNode {
  child: ChildProcess | undefined;
  /** True while the run has it stopped (SIGSTOP) or down on purpose. */
  stopped = false;
  private expectExit = false;
  private tail: string[] = [];
  private log: WriteStream;
  private starting: Promise<void> | undefined;

  private constructor(
    readonly name: string,
    readonly port: number,
    readonly pgProxy: FaultProxy,
    readonly redisProxy: FaultProxy,
    logDir: string,
    private readonly onUnexpectedExit: (exit: UnexpectedExit) => void,
  ) {
    this.log = createWriteStream(join(logDir, `node-${name}.log`), { flags: 'a' });
  }

  /** Creates a node (not started) with its own proxies to PostgreSQL and Redis. */
  static async create(
    name: string,
    pgPort: number,
    redisPort: number,
    logDir: string,
    onUnexpectedExit: (exit: UnexpectedExit) => void,
  ): Promise<ChaosNode> {
    const [port, pgProxy, redisProxy] = await Promise.all([
      freePort(),
      FaultProxy.start(pgPort),
      FaultProxy.start(redisPort),
    ]);
    return new ChaosNode(name, port, pgProxy, redisProxy, logDir, onUnexpectedExit);
  }

  /** http://127.0.0.1:port */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** True while its process runs (stopped or not). */
  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && !this.child.signalCode;
  }

  /** Starts the process and resolves once it listens (retrying while its port is taken). */
  start(): Promise<void> {
    this.starting ??= this.startOnce().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnOnce();
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(1000);
      }
    }
  }

  private spawnOnce(): Promise<void> {
    const bin = new URL('../../../bin/ssechat.js', import.meta.url).pathname;
    const args = [
      bin,
      ...['--port', String(this.port), '--store', 'postgres'],
      ...['--database-url', `postgres://postgres@127.0.0.1:${this.pgProxy.port}/postgres`],
      ...['--database-schema', SCHEMA, '--bus', 'redis'],
      ...['--redis-url', `redis://127.0.0.1:${this.redisProxy.port}`],
      ...['--redis-prefix', `${SCHEMA}:`, '--presence-grace-ms', String(GRACE_MS)],
      ...['--heartbeat-ms', String(HEARTBEAT_MS), '--log-level', 'info'],
      ...NO_LIMIT_FLAGS,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.expectExit = false;
    this.stopped = false;
    let listening = false;
    let buffered = '';
    const take = (d: Buffer): void => {
      const text = d.toString();
      this.log.write(text);
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        this.tail.push(line);
        if (!listening && line.includes('"msg":"listening"')) listening = true;
      }
      if (this.tail.length > 40) this.tail = this.tail.slice(-40);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`node ${this.name}: no "listening" line in 30 s`));
      }, 30_000);
      const poll = setInterval(() => {
        if (!listening) return;
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }, 20);
      child.once('exit', (code, signal) => {
        clearInterval(poll);
        clearTimeout(timer);
        this.log.write(`\n--- exited: code ${code} signal ${signal}\n`);
        if (!listening) {
          reject(new Error(`node ${this.name} exited while starting (${code}, ${signal})`));
          return;
        }
        if (this.expectExit || this.child !== child) return;
        this.onUnexpectedExit({
          node: this.name,
          at: Date.now(),
          code,
          signal,
          tail: errorLines(this.tail),
        });
      });
    });
  }

  /**
   * Sends `signal` and resolves with the exit once the process is gone; `graceMs` bounds the
   * wait, after which it is killed (and `timedOut` set).
   */
  async stop(
    signal: 'SIGKILL' | 'SIGTERM',
    graceMs = 20_000,
  ): Promise<{ code: number | null; timedOut: boolean }> {
    const child = this.child;
    if (!child || !this.alive) return { code: child?.exitCode ?? null, timedOut: false };
    this.expectExit = true;
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    child.kill('SIGCONT');
    child.kill(signal);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, graceMs);
    const code = await exited;
    clearTimeout(timer);
    return { code, timedOut };
  }

  /** SIGSTOP or SIGCONT. */
  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.stopped = sig === 'SIGSTOP';
    this.child?.kill(sig);
  }

  /** Ends every fault on its proxies. */
  healProxies(): void {
    for (const proxy of [this.pgProxy, this.redisProxy]) {
      proxy.heal();
      proxy.latency(0);
    }
  }

  /** The last lines it logged. */
  lastLines(n: number): string {
    return this.tail.slice(-n).join('\n');
  }

  /** Kills the process and closes the proxies (end of the run, or an exit handler). */
  async destroy(): Promise<void> {
    this.killSync();
    await Promise.all([this.pgProxy.close(), this.redisProxy.close()]);
    this.log.end();
  }

  /** kill -9 at once, without waiting (exit handlers). */
  killSync(): void {
    this.expectExit = true;
    if (this.child && this.alive) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
    }
  }
}

/** The lines of a log tail that name an error (a crash's message), else its last lines. */
function errorLines(tail: readonly string[]): string {
  const errors = tail.filter((l) => /Error\b|error:|ECONN|terminated|FATAL/.test(l));
  // An uncaught error's own lines (not JSON log lines) say best why the process ended.
  const raw = errors.filter((l) => !l.startsWith('{'));
  const lines = raw.length > 0 ? raw : errors.length > 0 ? errors : tail;
  return lines
    .slice(-4)
    .map((l) => l.slice(0, 240))
    .join('\n');
}

/** GET `path` on a node with a timeout; resolves with the status, 0 on an error or timeout. */
export function probeStatus(url: string, path: string, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}
