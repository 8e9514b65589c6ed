/**
 * PostgresStore's maintenance against a database that is slow but alive (issue 17 review):
 * the pool's 5 s query timeout is for silent connections, and must not fail a prune whose
 * statements legitimately take longer (a large --retention-count scans that many index
 * entries; a lock held by a long DDL or VACUUM FULL makes it wait).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import type { NewMessage } from '../core/events.js';
import { QUERY_TIMEOUT_MS } from './postgres-client.js';
import { PostgresStore } from './postgres-store.js';

const url = process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ssechat_maint_${process.pid}`;

after(async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
});

const msg = (text: string): NewMessage => ({ from: 'a', to: 'all', text, ts: 1, offline: false });

test('a prune whose statements wait longer than the query timeout still prunes', {
  timeout: 60_000,
}, async () => {
  const store = await PostgresStore.open({ url, schema, maxOfflinePerUser: 10, poolSize: 4 });
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  try {
    for (const text of ['1', '2', '3']) await store.append(msg(text));
    // Another session holds the messages table for longer than QUERY_TIMEOUT_MS, as a long
    // DDL or a VACUUM FULL would: the prune's reads wait behind it.
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${schema}.messages IN ACCESS EXCLUSIVE MODE`);
    const pruning = store.prune({ olderThan: 0, keep: 1 });
    const outcome = pruning.then(
      (n) => n,
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, QUERY_TIMEOUT_MS + 1_500));
    await holder.query('COMMIT');
    assert.equal(await outcome, 2);
  } finally {
    await holder.end().catch(() => {});
    await store.close();
  }
});
