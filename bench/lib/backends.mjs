// bench/lib/backends.mjs -- the PostgreSQL schema and Redis keys a benchmark makes for
// itself (`schema`, keys under `prefix`), and dropping them again: between cases, after the
// run, and at exit whatever the cause.
import { spawnSync } from 'node:child_process';
import pg from 'pg';

/** Drops `schema` (waiting at most 10 s for its locks); fine when there is none. */
export async function dropSchema(dbUrl, schema) {
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  try {
    await db.query(`SET lock_timeout = '10s'`);
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await db.end();
  }
}

/** dropSchema for a process `exit` hook, where nothing asynchronous runs: psql, 15 s at most. */
export function dropSchemaSync(dbUrl, schema) {
  spawnSync(
    'psql',
    [dbUrl, '-qc', `SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS ${schema} CASCADE`],
    { timeout: 15_000, stdio: 'ignore' },
  );
}

/**
 * Drops `schema` (waiting at most 10 s for its locks) and deletes the Redis keys under
 * `prefix`; both are fine when there are none.
 */
export async function dropBackends({ dbUrl, schema, redisUrl, prefix }) {
  await dropSchema(dbUrl, schema);
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * dropBackends for a process `exit` hook, where nothing asynchronous runs: psql and
 * redis-cli, each bounded to 15 s.
 */
export function dropBackendsSync({ dbUrl, schema, redisUrl, prefix }) {
  dropSchemaSync(dbUrl, schema);
  spawnSync(
    'sh',
    [
      '-c',
      'redis-cli -u "$U" --scan --pattern "$P*" | xargs -r -n 500 redis-cli -u "$U" del >/dev/null',
    ],
    { env: { ...process.env, U: redisUrl, P: prefix }, timeout: 15_000, stdio: 'ignore' },
  );
}
