/**
 * `npm run chaos [-- --seed N] [--minutes M] [--short]`: three ssechat nodes on a PostgreSQL
 * and a Redis of the run's own, behind fault proxies, under senders and readers, with faults
 * injected on a seeded schedule; after each Redis fault, once healed and settled, presence is
 * checked; at the end everything is healed and the checks of checks.ts run. Exit code 0 only
 * when every check passes. See README.md, "Fault injection (npm run chaos)".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  type CheckResult,
  checkNodes,
  checkPresence,
  checkReaders,
  checkSends,
  settledPresence,
} from './checks.js';
import { describe, type Fault, Injector, KINDS, PRESENCE_KINDS, schedule } from './faults.js';
import { ChaosNode, GRACE_MS, HEARTBEAT_MS, type UnexpectedExit } from './nodes.js';
import { Prng, sleep } from './prng.js';
import { Reader } from './readers.js';
import { login, Senders } from './senders.js';
import { Postgres, Redis } from './services.js';

const SENDERS = ['ann', 'bob', 'cat', 'dan'];
const READERS = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
/** Node TTL (10 s) + sweep (1 s) + grace + a margin: presence must be right after this. */
const QUIET_MS = 10_000 + 1000 + GRACE_MS + 6000;
/**
 * After a Redis fault's heal, presence must be right within node TTL (10 s) + sweep (1 s) +
 * grace + 3 s (a presence heartbeat, after which a node Redis forgot has counted its users
 * again): 15 s.
 */
const SETTLE_MS = 10_000 + 1000 + GRACE_MS + 3000;
/**
 * Readers keep moving this long after a Redis fault's heal (streams opened while the nodes
 * re-sync must be told the rest), then hold still until the check is done.
 */
const CHURN_MS = 2000;
/** How long a presence comparison is retried before it fails (a reader between streams). */
const RETRY_MS = 3000;
/** A wanderer's longer absences: past the grace window, so a real leave and join. */
const BREAK_MS: [number, number] = [GRACE_MS + 500, GRACE_MS + 3000];

/** One presence check after a Redis fault. */
interface FaultCheck {
  readonly label: string;
  readonly at: number;
  readonly breaches: string[];
  readonly attempts: number;
  /** Readers whose stream (on the fault's node, or anywhere for a restart) outlived it. */
  readonly witnesses: string[];
}

function args(argv: string[]): { seed: number; minutes: number; short: boolean } {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const seed = Number(value('--seed') ?? Math.floor(Date.now() % 1_000_000_007));
  const minutes = Number(value('--minutes') ?? 3);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error('--seed: a non-negative integer');
  if (!(minutes > 0 && minutes <= 60)) throw new Error('--minutes: more than 0, at most 60');
  return { seed, minutes, short: argv.includes('--short') };
}

const opts = args(process.argv.slice(2));
const t0 = Date.now();
const say = (line: string): void => {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`);
};

const pgDir = mkdtempSync(join(tmpdir(), 'ssechat-chaos-pg-'));
const logDir = mkdtempSync(join(tmpdir(), 'ssechat-chaos-logs-'));
let postgres: Postgres | undefined;
let redis: Redis | undefined;
const nodes: ChaosNode[] = [];

/** Removes every process and directory the run made (synchronously: also from exit handlers). */
function cleanup(keepLogs: boolean): void {
  for (const n of nodes) n.killSync();
  redis?.stopSync();
  postgres?.stopSync();
  rmSync(pgDir, { recursive: true, force: true });
  if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
}

function abort(why: string, code: number): never {
  console.log(
    `\nchaos: ${why}; seed ${opts.seed} (replay: npm run chaos -- --seed ${opts.seed}${opts.short ? ' --short' : ` --minutes ${opts.minutes}`})`,
  );
  cleanup(true);
  console.log(`node logs kept in ${logDir}`);
  process.exit(code);
}

process.on('SIGINT', () => abort('interrupted', 130));
process.on('SIGTERM', () => abort('terminated', 143));
process.on('uncaughtException', (err) => abort(`harness error: ${err.stack ?? err}`, 2));
process.on('unhandledRejection', (err) => abort(`harness error: ${String(err)}`, 2));

/** Stayers away from home go back before a Redis fault, so each node holds one through it. */
async function homeStayers(readers: readonly Reader[]): Promise<void> {
  for (const r of readers) r.goHome();
  const home = (r: Reader): boolean => r.wanders || (r.live && r.url === r.homeUrl);
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && !readers.every(home)) await sleep(100);
}

/**
 * Presence after a Redis fault `f` that started at `start` and healed at `healed`: readers
 * keep moving for CHURN_MS, then hold still; at SETTLE_MS after the heal, every view must be
 * right (retried for RETRY_MS); then they move again.
 */
async function presenceAfter(
  f: Fault,
  start: number,
  healed: number,
  readers: readonly Reader[],
  probes: readonly string[],
): Promise<FaultCheck> {
  const names = nodes.map((n) => n.name);
  const label = describe(f, names);
  const node = nodes[f.node] as ChaosNode;
  await sleep(CHURN_MS);
  for (const r of readers) r.pause();
  await sleep(Math.max(0, healed + SETTLE_MS - Date.now()));
  const views = await settledPresence(nodes, readers, probes, RETRY_MS);
  const witnesses = readers
    .filter(
      (r) =>
        r.live &&
        r.liveSince < start &&
        (f.kind === 'redis-restart' || (r.url !== undefined && r.url === node.url)),
    )
    .map((r) => `${r.nick} on ${nodes.find((n) => n.url === r.url)?.name ?? '?'}`);
  for (const r of readers) r.resume();
  const breaches = [...views.nodes, ...views.readers];
  const after = ((Date.now() - healed) / 1000).toFixed(1);
  say(
    breaches.length === 0
      ? `presence right ${after} s after the heal (comparison ${views.attempts}); streams that outlived it: ${witnesses.join(', ') || 'none'}`
      : `FINDING: presence still wrong ${after} s after the heal: ${breaches.join('; ')}`,
  );
  return { label, at: (start - t0) / 1000, breaches, attempts: views.attempts, witnesses };
}

async function main(): Promise<boolean> {
  const rng = new Prng(opts.seed);
  const traffic = rng.fork();
  const faultMs = opts.short ? 0 : opts.minutes * 60_000;
  // Bounded whatever happens: the fault phase, the heal, the quiet wait and the checks.
  const hard = setTimeout(
    () => abort('took too long', 3),
    (opts.short ? 8 : opts.minutes + 6) * 60_000,
  );
  hard.unref();
  say(
    `seed ${opts.seed}, ${opts.short ? 'short (one fault of each kind)' : `${opts.minutes} min of faults`}`,
  );

  postgres = await Postgres.start(pgDir);
  redis = await Redis.start();
  say(`PostgreSQL on ${postgres.port} (${pgDir}), Redis on ${redis.port}, node logs in ${logDir}`);
  const exits: UnexpectedExit[] = [];
  const names = ['A', 'B', 'C'];
  for (const name of names) {
    nodes.push(
      await ChaosNode.create(name, postgres.port, redis.port, logDir, (exit) => {
        exits.push(exit);
        say(
          `FINDING: node ${exit.node} died (code ${exit.code}, signal ${exit.signal}); restarting it`,
        );
        void injector.restart(nodes.find((n) => n.name === exit.node) as ChaosNode);
      }),
    );
  }
  const injector = new Injector({ nodes, pg: postgres, redis }, (l) => say(`fault: ${l}`));
  // The first node migrates the schema; the others find it done.
  await (nodes[0] as ChaosNode).start();
  await Promise.all(nodes.slice(1).map((n) => n.start()));
  const urls = (): string[] => nodes.map((n) => n.url);
  const url0 = (nodes[0] as ChaosNode).url;

  const senderUsers = await Promise.all(
    SENDERS.map(async (nick) => ({ nick, cookie: await login(url0, nick) })),
  );
  const probes = await Promise.all(names.map((n) => login(url0, `probe${n.toLowerCase()}`)));
  // r1, r3, r5 wander; r2, r4, r6 stay put, one at home on each node.
  const readers = await Promise.all(
    READERS.map(
      async (nick, i) =>
        new Reader(nick, await login(url0, nick), urls, traffic.fork(), {
          home: i % 2 === 1 ? ((i - 1) / 2) % names.length : undefined,
          silenceMs: HEARTBEAT_MS * 3.5,
          breakMs: BREAK_MS,
        }),
    ),
  );
  for (const r of readers) r.start();
  const senders = new Senders(senderUsers, READERS, urls, traffic.fork());
  senders.start();
  say(`${nodes.length} nodes up; ${SENDERS.length} senders and ${READERS.length} readers running`);
  await sleep(3000);

  const plan = schedule(rng, nodes.length, opts.short);
  const shown = opts.short ? plan : plan.slice(0, 12);
  say(`schedule: ${shown.map((f) => describe(f, names)).join('; ')}${opts.short ? '' : '; …'}`);
  const faultEnd = Date.now() + faultMs;
  let injected = 0;
  const checks: FaultCheck[] = [];
  for (const [i, f] of (plan as Fault[]).entries()) {
    // The first round (every kind once) always runs whole, its long Redis partition too.
    if (!opts.short && i >= KINDS.length && Date.now() >= faultEnd) break;
    const presence = PRESENCE_KINDS.has(f.kind);
    if (presence) await homeStayers(readers);
    const start = Date.now();
    let healed = true;
    try {
      await injector.run(f);
    } catch (err) {
      healed = false;
      injector.findings.push(`fault ${f.kind} failed: ${(err as Error).message}`);
    }
    injected++;
    if (presence && healed) checks.push(await presenceAfter(f, start, Date.now(), readers, probes));
    await sleep(f.gapMs);
  }

  say(`healing everything after ${injected} faults`);
  await injector.healAll();
  for (const r of readers) r.pause();
  await sleep(5000);
  await senders.stop();
  await senders.drain(Date.now() + 60_000);
  say(
    `senders stopped (${senders.pending().length} sends still unacknowledged); waiting ${QUIET_MS / 1000} s for quiet`,
  );
  await sleep(QUIET_MS);
  const end = await senders.marker(Date.now() + 30_000);
  if (end === undefined) injector.findings.push('the end marker got no 201 in 30 s');
  const target = end ?? 0;
  const reach = Date.now() + 30_000;
  while (Date.now() < reach && readers.some((r) => (r.lastEventId ?? -1) < target))
    await sleep(200);

  say('checking');
  const presence = await checkPresence(nodes, readers, probes, RETRY_MS);
  const nodesCheck = await checkNodes(
    nodes,
    exits,
    injector.findings,
    presence.hellos,
    (n) => senders.record('ann', 'all', `final${n.name}`),
    (senderUsers[0] as { cookie: string }).cookie,
  );
  for (const r of readers) await r.stop();
  const db = new pg.Client({ connectionString: postgres.url() });
  db.on('error', () => {});
  await db.connect();
  const sends = await checkSends(db, senders.sends);
  const readersCheck = await checkReaders(db, readers, target);
  await db.end();

  const afterFaults: CheckResult = {
    name: `presence: right within ${SETTLE_MS / 1000} s of each Redis fault's heal (${checks.length} checked)`,
    breaches: checks.flatMap((c) => c.breaches.map((b) => `${c.label}: ${b}`)),
  };
  const results: CheckResult[] = [
    sends.result,
    readersCheck,
    afterFaults,
    presence.nodes,
    presence.readers,
    nodesCheck,
  ];
  const c = sends.counts;
  const kinds = [...injector.injected].map(([k, n]) => `${k} ${n}`).join(', ');
  console.log('\n==== chaos summary ====');
  console.log(`seed ${opts.seed}; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`faults injected: ${injected} (${kinds}); nodes died unexpectedly: ${exits.length}`);
  console.log(
    `sends: ${senders.sends.length} (${c.attempts} attempts), acknowledged ${c.acked}, rows stored ${c.rows}, unacknowledged ${c.unackedStored + c.unackedAbsent} (${c.unackedStored} stored, ${c.unackedAbsent} not)`,
  );
  const sum = (f: (r: Reader) => number): number => readers.reduce((a, r) => a + f(r), 0);
  console.log(
    `readers: ${readers.length}, streams opened ${sum((r) => r.streams)}, stored events read ${sum((r) => r.received)}, resets ${sum((r) => r.resets)}, mailbox messages ${sum((r) => r.offline)}, presence snapshots ${sum((r) => r.snapshots)}; end id ${target}`,
  );
  for (const c of checks) {
    const outcome =
      c.breaches.length > 0
        ? `FAIL (${c.breaches.length} breaches)`
        : `right${c.attempts > 1 ? ` at comparison ${c.attempts}` : ''}`;
    const outlived = c.witnesses.length > 0 ? c.witnesses.join(', ') : 'none';
    console.log(
      `presence after ${c.label} (at ${c.at.toFixed(0)} s): ${outcome}; streams that outlived it: ${outlived}`,
    );
  }
  for (const r of results) {
    console.log(`${r.breaches.length === 0 ? 'PASS' : 'FAIL'}  ${r.name}`);
    for (const b of r.breaches) console.log(`      ${b}`);
  }
  return results.every((r) => r.breaches.length === 0);
}

const ok = await main();
if (!ok) abort('FAILED', 1);
console.log(`chaos: passed; seed ${opts.seed}`);
await Promise.all(nodes.map((n) => n.destroy()));
cleanup(false);
process.exit(0);
