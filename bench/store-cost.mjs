// bench/store-cost.mjs [--messages 30000] [--batches 1,2,10,50] [--reps 3]
//
// What the SQLite Store costs per message on the send path, apart from HTTP: against the Store
// directly (the built dist/), no server. For each batch size B (the group commit's batch: at
// wrk's c10 nearly every batch holds 10 appends, bench/README.md), a fresh SQLite file takes
// MESSAGES direct messages, B appends at a time awaited together, as the write queue commits
// them. Two texts: `hello from wrk` (what bench/send.mjs sends: three words for the search
// index) and `...` (nothing to index: no FTS5 row). The difference is the search index's
// share. Reported per message: the process's CPU time (user + system, from
// process.cpuUsage, so waits for the disk do not count) and the wall time; the median of REPS
// runs. Pinned to the server's CPU (taskset), one JSON line {scenario: 'store-cost', rows,
// goals} on stdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, round } from './lib/measure.mjs';
import { ROOT } from './lib/process.mjs';
import { parseArgs, printResult, say, table } from './lib/report.mjs';

const args = parseArgs(process.argv.slice(2));
const MESSAGES = Number(args.messages ?? 30_000);
const BATCHES = String(args.batches ?? '1,2,10,50')
  .split(',')
  .map(Number);
const REPS = Number(args.reps ?? 3);
const TEXTS = { indexed: 'hello from wrk', 'not indexed': '...' };

const { SqliteStore } = await import(join(ROOT, 'dist/src/store/sqlite/store.js'));

/** One run: MESSAGES appends, `batch` at a time, into a fresh file. µs per message. */
async function once(batch, text) {
  const dir = mkdtempSync(join(tmpdir(), 'ssechat-store-cost-'));
  const store = new SqliteStore({
    path: join(dir, 'ssechat.db'),
    synchronous: 'normal',
    maxOfflinePerUser: 1000,
  });
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i += batch) {
      const writes = [];
      for (let j = 0; j < batch; j++)
        writes.push(store.append({ from: 'tx', to: 'rx', text, ts: Date.now(), offline: false }));
      await Promise.all(writes);
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      cpu: (cpu.user + cpu.system) / MESSAGES,
      sys: cpu.system / MESSAGES,
      wall: (wall * 1000) / MESSAGES,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const batch of BATCHES) {
  for (const [name, text] of Object.entries(TEXTS)) {
    const runs = [];
    for (let r = 0; r < REPS; r++) runs.push(await once(batch, text));
    const row = {
      batch,
      text: name,
      cpu_us_per_msg: round(median(runs.map((x) => x.cpu)), 1),
      sys_us_per_msg: round(median(runs.map((x) => x.sys)), 1),
      wall_us_per_msg: round(median(runs.map((x) => x.wall)), 1),
    };
    say(`batch ${batch}, ${name}: ${row.cpu_us_per_msg} µs CPU/msg (${row.sys_us_per_msg} system)`);
    rows.push(row);
  }
}
say(
  table(
    ['batch', 'text', 'CPU µs/msg', 'system µs/msg', 'wall µs/msg'],
    rows.map((r) => [r.batch, r.text, r.cpu_us_per_msg, r.sys_us_per_msg, r.wall_us_per_msg]),
  ),
);
printResult({
  scenario: 'store-cost',
  params: { messages: MESSAGES, reps: REPS },
  rows,
  goals: [],
});
