// PostgreSQL for the engine tests: the test database, and a schema per store under a prefix
// of this process, all dropped at the end. CI starts PostgreSQL (.ci/run); a run without one
// fails rather than skipping, so that a green run always means these tests ran.
import { after, before } from 'node:test';
import pg from 'pg';

/** The test database. */
export const TEST_DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs `sql` on a connection of its own, outside any store. */
export async function admin<R extends pg.QueryResultRow>(
  sql: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({
    connectionString: TEST_DATABASE_URL,
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Registers the file's hooks (PostgreSQL must answer first; every schema under `prefix` and
 * this process's id is dropped at the end) and returns a maker of fresh schema names.
 */
export function testSchemas(prefix: string): () => string {
  const own = `${prefix}${process.pid}_`;
  let n = 0;
  let reachable = false;
  before(async () => {
    try {
      await admin('SELECT 1');
      reachable = true;
    } catch (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${TEST_DATABASE_URL} (${(err as Error).message}): start it, or point ` +
          'SSECHAT_TEST_DATABASE_URL at one (CI starts it in .ci/run)',
      );
    }
  });
  after(async () => {
    if (!reachable) return;
    const schemas = await admin<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)',
      [own],
    );
    // The names are ours and match checkSchemaName: no quoting needed.
    for (const { nspname } of schemas) await admin(`DROP SCHEMA ${nspname} CASCADE`);
  });
  return () => `${own}${++n}`;
}
