import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { admin, TEST_DATABASE_URL, testSchemas } from '../../test/pg-schemas.js';
import { PostgresStore } from '../store/postgres/store.js';
import { blobsContract, keyOf, readAll } from './blobs.contract.js';
import { CHUNK_SIZE, PostgresBlobStore } from './postgres-blobs.js';

const url = TEST_DATABASE_URL;
const newSchema = testSchemas('ssechat_blobs_test_');
const open = (schema: string): Promise<PostgresBlobStore> =>
  PostgresBlobStore.open({ url, schema, poolSize: 4 });

blobsContract('postgres', () => open(newSchema()));

/** The chunk rows of `key` in `schema`. */
const chunkRows = async (schema: string, key: string): Promise<number> =>
  (
    await admin<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${schema}.blob_chunks WHERE key = $1`,
      [key],
    )
  )[0]?.n ?? 0;

describe('PostgresBlobStore', () => {
  test('another node reads what one wrote, and sees its deletes', async () => {
    const schema = newSchema();
    const [a, b] = await Promise.all([open(schema), open(schema)]);
    const bytes = randomBytes(CHUNK_SIZE * 2 + 7);
    const key = keyOf(bytes);
    await a.put(key, bytes);
    assert.deepEqual(await b.stat(key), await a.stat(key));
    assert.ok((await readAll(await b.read(key))).equals(bytes));
    // Puts of one new key from both nodes at once: one copy.
    const other = randomBytes(CHUNK_SIZE + 1);
    await Promise.all([a.put(keyOf(other), other), b.put(keyOf(other), other)]);
    assert.equal(await chunkRows(schema, keyOf(other)), 2);
    assert.equal(await b.delete(key, Date.now() + 1000), true);
    assert.equal(await a.stat(key), undefined);
    await Promise.all([a.close(), b.close()]);
  });

  test('a blob is stored once in CHUNK_SIZE rows, and a delete takes its chunks', async () => {
    const schema = newSchema();
    const store = await open(schema);
    const bytes = randomBytes(CHUNK_SIZE * 3);
    const key = keyOf(bytes);
    await store.put(key, bytes);
    await store.put(key, bytes);
    assert.equal(await chunkRows(schema, key), 3);
    const sizes = await admin<{ size: number }>(
      `SELECT length(data) AS size FROM ${schema}.blob_chunks WHERE key = $1 ORDER BY n`,
      [key],
    );
    assert.deepEqual(
      sizes.map((r) => r.size),
      [CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE],
    );
    assert.equal(await store.delete(key, Date.now() + 1000), true);
    assert.equal(await chunkRows(schema, key), 0);
    await store.close();
  });

  test('a read queries its chunks as it is pulled: a delete meanwhile ends it with an error', async () => {
    const store = await open(newSchema());
    const bytes = randomBytes(CHUNK_SIZE * 4);
    const key = keyOf(bytes);
    await store.put(key, bytes);
    const stream = await store.read(key);
    assert.ok(stream);
    const pieces = stream[Symbol.asyncIterator]();
    const first = await pieces.next();
    assert.ok((first.value as Buffer).equals(bytes.subarray(0, CHUNK_SIZE)));
    assert.equal(await store.delete(key, Date.now() + 1000), true);
    await assert.rejects(
      (async () => {
        for (let next = await pieces.next(); !next.done; next = await pieces.next()) {}
      })(),
      /was deleted while it was read/,
    );
    await store.close();
  });

  test('nodes opening a new schema at once create its tables once, beside the Store', async () => {
    const schema = newSchema();
    const [chat, ...blobs] = await Promise.all([
      PostgresStore.open({ url, schema, maxOfflinePerUser: 1, poolSize: 2 }),
      ...Array.from({ length: 4 }, () => open(schema)),
    ]);
    const bytes = Buffer.from('beside the log');
    await blobs[0]?.put(keyOf(bytes), bytes);
    assert.deepEqual(await readAll(await blobs[3]?.read(keyOf(bytes))), bytes);
    await chat?.append({ from: 'a', to: 'b', text: 't', ts: 1, offline: false });
    await Promise.all([chat?.close(), ...blobs.map((s) => s.close())]);
    await (await open(schema)).close();
  });

  test('refuses a schema name that would need quoting', async () => {
    await assert.rejects(
      PostgresBlobStore.open({ url, schema: 'Bad-Name' }),
      /must be 1 to 63 characters/,
    );
  });

  test('open fails when the server cannot be reached', async () => {
    const closed = 'postgres://postgres@127.0.0.1:1/test';
    await assert.rejects(PostgresBlobStore.open({ url: closed }), /ECONNREFUSED/);
  });
});
