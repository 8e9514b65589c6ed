/**
 * PostgresStore's maintenance against a database that is slow but alive (issue 17 review):
 * the pool's 5 s query timeout is for silent connections, and must not fail a prune whose
 * statements legitimately take longer (a large --retention-count scans that many index
 * entries; a lock held by a long DDL or VACUUM FULL makes it wait).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import type { NewMessage } from '../../domain/events.js';
import { QUERY_TIMEOUT_MS } from './client.js';
import { PostgresStore } from './store.js';

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

test('an append the client gave up on does not go on holding the append lock in the server', {
  timeout: 60_000,
}, async () => {
  const store = await PostgresStore.open({ url, schema, maxOfflinePerUser: 10, poolSize: 4 });
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  const advisoryHeld = async (): Promise<number> => {
    const { rows } = await holder.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted",
    );
    return Number(rows[0]?.n);
  };
  try {
    await store.append(msg('before'));
    // The append takes the append lock, then its INSERT waits behind the table lock past the
    // client's query timeout: the client drops the connection. The server must end that
    // session's statement too, or it would hold the append lock (every node's appends) until
    // the table lock goes.
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${schema}.messages IN ACCESS EXCLUSIVE MODE`);
    const outcome = store.append(msg('stuck')).then(
      () => 'stored',
      (err: unknown) => String(err),
    );
    assert.match(await outcome, /timeout/i);
    const gaveUp = Date.now();
    let held = await advisoryHeld();
    while (held > 0 && Date.now() - gaveUp < 3_000) {
      await new Promise((r) => setTimeout(r, 100));
      held = await advisoryHeld();
    }
    console.log(`# the append lock was held ${Date.now() - gaveUp} ms after the client gave up`);
    assert.equal(held, 0, 'the server still runs the abandoned append, holding its lock');
    await holder.query('COMMIT');
    assert.equal((await store.append(msg('after'))).created, true);
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    await holder.end().catch(() => {});
    await store.close();
  }
});
