/**
 * The chaos run's faults, on a schedule drawn from the seed: each fault hits one node (or the
 * shared PostgreSQL or Redis), lasts a drawn time, and is healed before the next one starts
 * (after a Redis fault, only once presence has been checked: run.ts), so that a finding can be
 * traced to the fault in progress. The schedule is printed before it
 * runs; `--seed` replays it (the faults, their order, nodes and durations; not the exact
 * interleaving of the processes).
 */
import type { ChaosNode } from './nodes.js';
import type { Prng } from './prng.js';
import { sleep } from './prng.js';
import type { Postgres, Redis } from './services.js';

/** Every kind of fault, in the order the issue lists them. */
export const KINDS = [
  'kill9',
  'sigterm',
  'sigstop',
  'partition-redis',
  'partition-pg',
  'reset-redis',
  'reset-pg',
  'halfopen-pg',
  'redis-restart',
  'pg-restart-fast',
  'pg-restart-immediate',
  'latency',
] as const;

/** One kind of fault. */
export type FaultKind = (typeof KINDS)[number];

/**
 * The faults after which presence is checked, once healed and settled: those that cut a node
 * from the Bus and presence (a partition, reset connections) or make Redis forget everything.
 */
export const PRESENCE_KINDS: ReadonlySet<FaultKind> = new Set([
  'partition-redis',
  'reset-redis',
  'redis-restart',
]);

/** One scheduled fault. */
export interface Fault {
  readonly kind: FaultKind;
  /** Index of the node it hits (ignored by the PostgreSQL and Redis restarts). */
  readonly node: number;
  /** How long it lasts (a partition, a stop, the time a process stays down, the latency). */
  readonly ms: number;
  /** Added latency per chunk, for `latency`. */
  readonly delayMs: number;
  /** Quiet time after it (and after its presence check), before the next fault. */
  readonly gapMs: number;
}

/**
 * Draws one fault of `kind`; `first` for the first round of a schedule (every kind once),
 * whose Redis partition outlasts the node TTL and a sweep (10 s + 1 s), so that the node is
 * surely reaped while its streams stay open: the case that matters.
 */
function draw(rng: Prng, kind: FaultKind, nodes: number, short: boolean, first: boolean): Fault {
  const ms = {
    kill9: rng.int(300, 3000),
    sigterm: rng.int(0, 2000),
    sigstop: 10_000,
    'partition-redis': first ? rng.int(12_500, 14_000) : rng.int(3000, 14_000),
    'partition-pg': rng.int(3000, 14_000),
    'reset-redis': 0,
    'reset-pg': 0,
    'halfopen-pg': 0,
    'redis-restart': rng.int(300, 3000),
    'pg-restart-fast': 0,
    'pg-restart-immediate': 0,
    latency: rng.int(3000, 10_000),
  }[kind];
  return {
    kind,
    node: rng.int(0, nodes - 1),
    ms,
    delayMs: rng.int(50, 800),
    gapMs: short ? rng.int(1000, 2500) : rng.int(1500, 6000),
  };
}

/**
 * The schedule: in short mode one fault of each kind in a drawn order; otherwise every kind
 * once (in a drawn order) and then drawn kinds, more than enough to fill the fault phase. A
 * run always injects the first round whole (run.ts), its long partition too.
 */
export function schedule(rng: Prng, nodes: number, short: boolean): Fault[] {
  const faults = rng.shuffle(KINDS).map((k) => draw(rng, k, nodes, short, true));
  if (!short) {
    for (let i = 0; i < 200; i++) faults.push(draw(rng, rng.pick(KINDS), nodes, short, false));
  }
  return faults;
}

/** A fault as one line of the schedule. */
export function describe(f: Fault, names: readonly string[]): string {
  const where =
    f.kind.startsWith('pg-restart') || f.kind === 'redis-restart' ? '' : ` node ${names[f.node]}`;
  const extra = f.kind === 'latency' ? ` +${f.delayMs} ms` : '';
  return `${f.kind}${where}${extra}${f.ms ? ` for ${(f.ms / 1000).toFixed(1)} s` : ''}`;
}

/** What the faults act on. */
export interface Targets {
  readonly nodes: readonly ChaosNode[];
  readonly pg: Postgres;
  readonly redis: Redis;
}

/** Runs faults and records what it injected and what went wrong while doing so. */
export class Injector {
  /** Faults injected, by kind. */
  readonly injected = new Map<FaultKind, number>();
  /** Problems seen while injecting (a SIGTERM that did not exit 0, a node that won't start). */
  readonly findings: string[] = [];

  constructor(
    private readonly t: Targets,
    private readonly say: (line: string) => void,
  ) {}

  /** Injects one fault and heals it (the caller waits out its gap). */
  async run(f: Fault): Promise<void> {
    const node = this.t.nodes[f.node] as ChaosNode;
    this.say(
      describe(
        f,
        this.t.nodes.map((n) => n.name),
      ),
    );
    this.injected.set(f.kind, (this.injected.get(f.kind) ?? 0) + 1);
    switch (f.kind) {
      case 'kill9':
        await node.stop('SIGKILL');
        await sleep(f.ms);
        await this.restart(node);
        break;
      case 'sigterm': {
        const { code, timedOut } = await node.stop('SIGTERM');
        if (timedOut) this.findings.push(`node ${node.name}: SIGTERM did not end it within 20 s`);
        else if (code !== 0) this.findings.push(`node ${node.name}: exit code ${code} on SIGTERM`);
        await sleep(f.ms);
        await this.restart(node);
        break;
      }
      case 'sigstop':
        node.signal('SIGSTOP');
        await sleep(f.ms);
        node.signal('SIGCONT');
        break;
      case 'partition-redis':
      case 'partition-pg': {
        const proxy = f.kind === 'partition-pg' ? node.pgProxy : node.redisProxy;
        proxy.pause();
        await sleep(f.ms);
        proxy.heal();
        break;
      }
      case 'reset-redis':
        node.redisProxy.reset();
        break;
      case 'reset-pg':
        node.pgProxy.reset();
        break;
      case 'halfopen-pg':
        node.pgProxy.silenceOpen();
        break;
      case 'redis-restart':
        await this.t.redis.stop();
        await sleep(f.ms);
        await this.t.redis.start();
        break;
      case 'pg-restart-fast':
      case 'pg-restart-immediate':
        await this.t.pg.restart(f.kind === 'pg-restart-fast' ? 'fast' : 'immediate');
        break;
      case 'latency':
        node.pgProxy.latency(f.delayMs);
        node.redisProxy.latency(f.delayMs);
        await sleep(f.ms);
        node.pgProxy.latency(0);
        node.redisProxy.latency(0);
        break;
    }
  }

  /** Ends every fault: proxies healed, stopped nodes continued, dead ones started. */
  async healAll(): Promise<void> {
    for (const node of this.t.nodes) {
      node.healProxies();
      if (node.stopped) node.signal('SIGCONT');
    }
    await Promise.all(this.t.nodes.filter((n) => !n.alive).map((n) => this.restart(n)));
  }

  /** Starts a node again; a node that cannot start is a finding. */
  async restart(node: ChaosNode): Promise<void> {
    try {
      await node.start();
    } catch (err) {
      this.findings.push(`node ${node.name} did not start again: ${(err as Error).message}`);
    }
  }
}
