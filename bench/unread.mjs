// bench/unread.mjs [--engines sqlite,postgres] [--peers 500] [--dms 30000] [--room 30000]
//                  [--reps 5] [--url postgres://postgres@127.0.0.1:5432/test]
//
// The cost of NotifyStore.unread and unreadTotal (GET /api/v1/unread and the push badge) for a
// user with many DM peers: against the Store directly (the built dist/), no server. Per engine,
// a fresh store (SQLite in a temp file; PostgreSQL in a schema of its own, dropped at the end)
// where bob asks for his counts first (his baseline), then PEERS peers send him DMS DMs
// "hi @bob" (round robin), a room he is in gets ROOM messages "@bob" and `all` gets ROOM
// broadcasts. Timed, median of REPS calls each (ms):
//   unread         bob's counts, everything unread
//   unreadTotal    bob's badge (absent on builds before it existed)
//   unread, read   bob's counts after marking every conversation read: the conversations are
//                  still looked at, and nothing counts
//   unreadTotal, read   the same for the badge: the worst case of a push (nothing to stop at)
// A PostgreSQL call that fails (the pool's 5 s query timeout) shows as `error`. Progress on
// stderr, a table and one JSON line {scenario: 'unread', rows, goals} on stdout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { median, round } from './lib/measure.mjs';
import { ROOT } from './lib/process.mjs';
import { parseArgs, printResult, say, table } from './lib/report.mjs';

const args = parseArgs(process.argv.slice(2));
const ENGINES = String(args.engines ?? 'sqlite,postgres').split(',');
const PEERS = Number(args.peers ?? 500);
const DMS = Number(args.dms ?? 30_000);
const ROOM = Number(args.room ?? 30_000);
const REPS = Number(args.reps ?? 5);
const URL = String(args.url ?? 'postgres://postgres@127.0.0.1:5432/test');

const { SqliteStore } = await import(join(ROOT, 'dist/src/store/sqlite/store.js'));
const { PostgresStore } = await import(join(ROOT, 'dist/src/store/postgres/store.js'));

/** Appends `count` messages made by `make(i)`, 500 at a time (the stores batch them). */
async function fill(store, count, make) {
  for (let i = 0; i < count; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 500); j++) batch.push(store.append(make(j)));
    await Promise.all(batch);
  }
}

/** Median ms of REPS calls of `call`, or 'error' (with the message on stderr). */
async function timed(call) {
  const ms = [];
  for (let i = 0; i < REPS; i++) {
    const t = performance.now();
    try {
      await call();
    } catch (err) {
      say(`  failed: ${err.message}`);
      return 'error';
    }
    ms.push(performance.now() - t);
  }
  return round(median(ms), 1);
}

async function measure(engine, store) {
  const ts = 1;
  await store.notify.unread('bob');
  say(`${engine}: seeding ${DMS} DMs from ${PEERS} peers, ${ROOM} room messages and broadcasts`);
  await store.appendMember({
    room: '#r',
    user: 'ann',
    by: 'ann',
    action: 'create',
    ts,
    bigRoom: 100,
    settings: { visibility: 'public', history: 'joined' },
  });
  await store.appendMember({
    room: '#r',
    user: 'bob',
    by: 'bob',
    action: 'join',
    ts,
    bigRoom: 100,
  });
  const msg = (from, to, text) => ({ from, to, text, ts, offline: false, claimed: true });
  await fill(store, DMS, (i) => msg(`p${i % PEERS}`, 'bob', 'hi @bob'));
  await fill(store, ROOM, () => msg('ann', '#r', '@bob'));
  await fill(store, ROOM, () => msg('ann', 'all', '@bob'));
  let conversations = 'error';
  const unread = await timed(async () => {
    conversations = (await store.notify.unread('bob')).length;
  });
  const total = store.notify.unreadTotal
    ? await timed(() => store.notify.unreadTotal('bob'))
    : 'n/a';
  const last = await store.append(msg('ann', 'carl', 'x'));
  const all = ['#r', 'all', ...Array.from({ length: PEERS }, (_, i) => `p${i}`)];
  for (const c of all) await store.notify.setMarker('bob', c, last.message.id);
  const read = await timed(() => store.notify.unread('bob'));
  const totalRead = store.notify.unreadTotal
    ? await timed(() => store.notify.unreadTotal('bob'))
    : 'n/a';
  return {
    engine,
    conversations,
    unread_ms: unread,
    total_ms: total,
    read_ms: read,
    total_read_ms: totalRead,
  };
}

const rows = [];
for (const engine of ENGINES) {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'ssechat-unread-'));
    const store = new SqliteStore({
      path: join(dir, 'db'),
      synchronous: 'normal',
      maxOfflinePerUser: 10,
    });
    try {
      rows.push(await measure(engine, store));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (engine === 'postgres') {
    const schema = `ssechat_bench_unread_${process.pid}`;
    const store = await PostgresStore.open({ url: URL, schema, maxOfflinePerUser: 10 });
    try {
      rows.push(await measure(engine, store));
    } finally {
      await store.close();
      const admin = new pg.Client({ connectionString: URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  } else throw new Error(`unknown engine ${engine}`);
}

const head = [
  'engine',
  'conversations',
  'unread ms',
  'unreadTotal ms',
  'unread (all read) ms',
  'unreadTotal (all read) ms',
];
process.stderr.write(
  `${table(
    head,
    rows.map((r) => [
      r.engine,
      r.conversations,
      r.unread_ms,
      r.total_ms,
      r.read_ms,
      r.total_read_ms,
    ]),
  )}\n`,
);
printResult({
  scenario: 'unread',
  peers: PEERS,
  dms: DMS,
  room: ROOM,
  reps: REPS,
  rows,
  goals: [],
});
