// What unread counts cost, checked on what their queries read rather than on a clock (a timed
// test flakes on a busy machine; bench/unread.mjs has the times). A user with 400 DM peers and
// 20,000 DMs, twice the window: before the windows (store/notify-store.ts, UNREAD_SCAN), each
// peer's count read every DM to the user and every mention row of theirs, 400 times over
// (SQLite took 4 to 7 s; PostgreSQL hit its query timeout). Now each engine must read its
// windows, by an index in order, and no more: SQLite's plans are checked (EXPLAIN QUERY PLAN:
// in-order index ranges, so the LIMIT stops the walk), PostgreSQL's rows are counted
// (EXPLAIN ANALYZE: every row a scan of messages or mention_rows read, filtered or not).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MAX_UNREAD_COUNT, UNREAD_SCAN } from '../src/store/notify-store.js';
import { PostgresStore } from '../src/store/postgres/store.js';
import { readWindows, UNREAD, UNREAD_TOTAL } from '../src/store/postgres/unread.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { UNREAD_SQL } from '../src/store/sqlite/unread.js';
import type { Store } from '../src/store/store.js';

const PEERS = 400;
const DMS = 2 * UNREAD_SCAN;

/** bob's baseline, then DMS DMs "hi @bob" to him from PEERS peers in turn. */
async function seed(store: Store): Promise<void> {
  await store.notify.unread('bob');
  for (let i = 0; i < DMS; i += 1000) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < i + 1000; j++)
      batch.push(
        store.append({ from: `p${j % PEERS}`, to: 'bob', text: 'hi @bob', ts: 1, offline: false }),
      );
    await Promise.all(batch);
  }
}

/** bob's counts: every peer, each with its share of the window. */
async function checkCounts(store: Store): Promise<void> {
  const counts = await store.notify.unread('bob');
  assert.equal(counts.length, PEERS);
  const share = UNREAD_SCAN / PEERS;
  for (const c of counts) assert.deepEqual([c.unread, c.mentions], [share, share], c.with);
  assert.equal(await store.notify.unreadTotal('bob'), MAX_UNREAD_COUNT);
}

describe('unread cost: SQLite', () => {
  test('every window is an in-order index range: no scan of a table, no sort before the LIMIT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssechat-unread-'));
    const store = new SqliteStore({
      path: join(dir, 'db'),
      synchronous: 'normal',
      maxOfflinePerUser: 10,
    });
    const db = new Database(join(dir, 'db'));
    try {
      await seed(store);
      const params = { me: 'bob', base: 0, floor: 0, conv: '#r', above: 0, cap: 1 };
      for (const [name, sql] of Object.entries(UNREAD_SQL)) {
        const plan = db
          .prepare<[typeof params], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
          .all(params)
          .map((r) => r.detail);
        const reads = plan.filter((d) => /\b(messages|mention_rows|t)\b/.test(d));
        assert.ok(reads.length > 0, `${name}: ${plan.join('; ')}`);
        for (const d of reads)
          assert.match(
            d,
            /^SEARCH (messages USING INDEX messages_recipient \(recipient=\? AND id>\?\)|mention_rows USING PRIMARY KEY \(nick=\? AND event_id>\?\)|t USING INTEGER PRIMARY KEY)/,
            `${name}: ${plan.join('; ')}`,
          );
        assert.ok(!plan.some((d) => d.includes('FOR ORDER BY')), `${name}: ${plan.join('; ')}`);
      }
      await checkCounts(store);
    } finally {
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const url = process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ssechat_test_unread_${process.pid}`;

/** One node of EXPLAIN (FORMAT JSON)'s plan. */
interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows read from each table by the scans of `node` and below: returned plus filtered out. */
function rowsRead(node: PlanNode, into = new Map<string, number>()): Map<string, number> {
  const table = node['Relation Name'];
  if (table !== undefined) {
    const perLoop =
      node['Actual Rows'] +
      (node['Rows Removed by Filter'] ?? 0) +
      (node['Rows Removed by Index Recheck'] ?? 0);
    into.set(table, (into.get(table) ?? 0) + perLoop * node['Actual Loops']);
  }
  for (const child of node.Plans ?? []) rowsRead(child, into);
  return into;
}

describe('unread cost: PostgreSQL', () => {
  const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 2 });
  after(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  test('unread reads one window of DMs and one of mentions; unreadTotal the DMs one', async () => {
    const store = await PostgresStore.open({ url, schema, maxOfflinePerUser: 10, poolSize: 4 });
    try {
      await seed(store);
      await checkCounts(store);
    } finally {
      await store.close();
    }
    const explain = async (query: pg.QueryConfig) => {
      const text = `EXPLAIN (ANALYZE, FORMAT JSON) ${query.text}`;
      const [row] = await readWindows<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        pool,
        { text },
        'bob',
      );
      return rowsRead(row?.['QUERY PLAN'][0].Plan as PlanNode);
    };
    const unread = await explain(UNREAD);
    // The DM window, then the mentions' window and their targets (by key); `all` is empty.
    assert.ok((unread.get('messages') ?? 0) <= 2 * UNREAD_SCAN + 10, `${[...unread]}`);
    assert.ok((unread.get('mention_rows') ?? 0) <= UNREAD_SCAN, `${[...unread]}`);
    // The DM window alone: it holds more than MAX_UNREAD_COUNT, so no room is read.
    const total = await explain(UNREAD_TOTAL);
    assert.ok((total.get('messages') ?? 0) <= UNREAD_SCAN, `${[...total]}`);
    assert.equal(total.get('mention_rows'), undefined, `${[...total]}`);
  });
});
