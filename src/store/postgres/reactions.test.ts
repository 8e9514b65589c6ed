import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { TEST_DATABASE_URL, testSchemas } from '../../../test/pg-schemas.js';
import { migrate, REACTIONS_VERSION } from './schema.js';
import { PostgresStore } from './store.js';

const url = TEST_DATABASE_URL;
const newSchema = testSchemas('ssechat_test_');

test('the reactions step widens the CHECK on kind of a schema with messages', async () => {
  const schema = newSchema();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migrate(client, schema, true, REACTIONS_VERSION - 1);
    await client.query(`SET search_path TO ${schema}`);
    await client.query(`
      INSERT INTO messages (id, ts, sender, recipient, text) VALUES
        (1, 1, 'ann', 'bob', 'hi'), (2, 2, 'bob', 'all', 'hello');
      SELECT setval('messages_id_seq', 2);`);
    await assert.rejects(
      client.query(
        "INSERT INTO messages (id, kind, ts, sender, recipient, text) VALUES (3, 'react', 1, 'a', 'b', '👍')",
      ),
      /messages_kind_check/,
    );
  } finally {
    await client.end();
  }
  const store = await PostgresStore.open({ url, schema, maxOfflinePerUser: 10, poolSize: 2 });
  try {
    const reaction = await store.appendReaction({
      target: 2,
      from: 'ann',
      to: 'all',
      emoji: '👍',
      on: true,
      ts: 3,
    });
    assert.equal(reaction?.id, 3);
    assert.deepEqual((await store.history('carl', 'all', 100, 10))[0]?.reactions, [
      { emoji: '👍', count: 1, users: ['ann'] },
    ]);
    assert.deepEqual(
      (await store.since('ann', 0, 10)).map((e) => e.kind),
      ['message', 'message', 'react'],
    );
  } finally {
    await store.close();
  }
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  try {
    await assert.rejects(
      check.query(
        `INSERT INTO ${schema}.messages (id, kind, ts, sender, recipient, text)
         VALUES (9, 'bogus', 1, 'a', 'b', '')`,
      ),
      /messages_kind_check/,
    );
  } finally {
    await check.end();
  }
});
