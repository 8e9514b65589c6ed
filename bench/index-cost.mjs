// bench/index-cost.mjs [--engines sqlite,postgres] [--before 509d522] [--prefill 50000]
//                      [--rounds 10] [--block 2000] [--concurrency 10]
//                      [--database-url postgres://postgres@127.0.0.1:5432/test]
//
// What the search index adds to an append (issue 21), against the Store alone, no server:
// the Store of the build at --before (the commit before the index; bench/lib/builds.mjs) and
// this build's, side by side in this one process, each on a database of its own (SQLite in a
// temp file; PostgreSQL in a schema of its own, dropped at the end). Both are first filled
// with --prefill messages (unmeasured; this build indexes them as it appends). Then, for
// --rounds rounds, each Store appends --block messages with --concurrency appends in flight
// (as a server under `wrk -c10` calls it: the writes of one turn share a transaction), in
// the order before-this, this-before, … (ABBA), and each block's CPU time is read: this
// process's (process.cpuUsage: SQLite runs in it) plus, for PostgreSQL, every postgres
// process's (measure.mjs pgCpuNs; the database is shared, so other clients' work
// lands there too). Blocks this short, alternated, meet the same state of this shared box,
// which a comparison of two server runs minutes apart (bench/compare.mjs) cannot promise.
// The texts are bench/lib/search-corpus.mjs's (Zipf words, about 64 characters, broadcasts and
// DMs), the same for both Stores. Prints a table and one JSON line {scenario: 'index-cost'}.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema } from './lib/backends.mjs';
import { commitOf, exportBuild } from './lib/builds.mjs';
import { median, pgCpuNs, round } from './lib/measure.mjs';
import { ensureBuild, installCleanup, ROOT } from './lib/process.mjs';
import { parseArgs, printResult, say, table } from './lib/report.mjs';
import { Corpus } from './lib/search-corpus.mjs';

const args = parseArgs(process.argv.slice(2));
const ENGINES = String(args.engines ?? 'sqlite,postgres').split(',');
const BEFORE = String(args.before ?? '509d522');
const PREFILL = Number(args.prefill ?? 50_000);
const ROUNDS = Number(args.rounds ?? 10);
const BLOCK = Number(args.block ?? 2000);
const CONCURRENCY = Number(args.concurrency ?? 10);
const DB_URL = String(args['database-url'] ?? 'postgres://postgres@127.0.0.1:5432/test');
installCleanup(Number(args.timeout ?? 1800) * 1000, 'bench/index-cost');

const baseDir = exportBuild(commitOf(BEFORE));
await ensureBuild();
const builds = { before: baseDir, this: ROOT };

/** The texts and addresses appended, the same for both Stores: PREFILL + all the blocks. */
const corpus = new Corpus({ messages: PREFILL + ROUNDS * BLOCK * 2, users: 1000, seed: 7 });
const texts = [];
for (const b of corpus.batches(10_000))
  for (let j = 0; j < b.ts.length; j++)
    texts.push({ from: b.from[j], to: b.to[j], text: b.text[j] });

/** Appends texts[from, to) with CONCURRENCY appends in flight. */
async function append(store, from, to) {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const r = texts[next++];
      await store.append({ ...r, ts: Date.now(), offline: false, claimed: true });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Opens `engine`'s Store of `build` on a database of its own; resolves `{ store, drop }`. */
async function open(engine, build, name) {
  if (engine === 'sqlite') {
    const { SqliteStore } = await import(join(build, 'dist/src/store/sqlite/store.js'));
    const dir = mkdtempSync(join(tmpdir(), 'ssechat-index-cost-'));
    const store = new SqliteStore({
      path: join(dir, 'ssechat.db'),
      synchronous: 'normal',
      maxOfflinePerUser: 1000,
    });
    return { store, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const { PostgresStore } = await import(join(build, 'dist/src/store/postgres/store.js'));
  const schema = `ssechat_bench_index_${name}_${process.pid}`;
  await dropSchema(DB_URL, schema);
  const store = await PostgresStore.open({ url: DB_URL, schema, maxOfflinePerUser: 1000 });
  return { store, drop: () => dropSchema(DB_URL, schema) };
}

const rows = [];
for (const engine of ENGINES) {
  const stores = {};
  for (const name of Object.keys(builds)) stores[name] = await open(engine, builds[name], name);
  try {
    say(`${engine}: prefilling both Stores with ${PREFILL} messages`);
    for (const name of Object.keys(builds)) await append(stores[name].store, 0, PREFILL);
    const us = { before: [], this: [] };
    const rate = { before: [], this: [] };
    let at = PREFILL;
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of r % 2 ? ['this', 'before'] : ['before', 'this']) {
        const cpu0 = process.cpuUsage();
        const pg0 = engine === 'postgres' ? pgCpuNs().ns : 0;
        const t0 = performance.now();
        await append(stores[name].store, at, at + BLOCK);
        const wall = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const pgNs = engine === 'postgres' ? pgCpuNs().ns - pg0 : 0;
        at += BLOCK;
        us[name].push((cpu.user + cpu.system + pgNs / 1000) / BLOCK);
        rate[name].push(BLOCK / (wall / 1000));
      }
      say(
        `${engine} round ${r + 1}: before ${round(us.before.at(-1))} µs/append, ` +
          `this ${round(us.this.at(-1))} µs/append`,
      );
    }
    const b = median(us.before);
    const h = median(us.this);
    rows.push({
      engine,
      before_us_per_append: round(b),
      this_us_per_append: round(h),
      added_us_per_append: round(h - b),
      cpu_ratio: round(h / b, 3),
      before_appends_per_s: round(median(rate.before), 0),
      this_appends_per_s: round(median(rate.this), 0),
      rate_ratio: round(median(rate.this) / median(rate.before), 3),
    });
  } finally {
    for (const s of Object.values(stores)) {
      await s.store.close();
      await s.drop();
    }
  }
}

process.stderr.write(
  `\n${table(
    ['engine', 'µs/append before', 'this', 'added', 'ratio', 'appends/s before', 'this', 'ratio'],
    rows.map((r) => [
      r.engine,
      r.before_us_per_append,
      r.this_us_per_append,
      r.added_us_per_append,
      r.cpu_ratio,
      r.before_appends_per_s,
      r.this_appends_per_s,
      r.rate_ratio,
    ]),
  )}\n`,
);
printResult({
  scenario: 'index-cost',
  params: {
    before: BEFORE,
    prefill: PREFILL,
    rounds: ROUNDS,
    block: BLOCK,
    concurrency: CONCURRENCY,
  },
  rows,
  goals: [],
});
process.exit(0);
