/**
 * The BlobStore of a cluster: blobs in PostgreSQL, so that every ssechat process reads what
 * another wrote. A blob is one row of `blobs` (size, putAt) and its bytes are rows of
 * `blob_chunks`, CHUNK_SIZE bytes each, so that a range read fetches only the chunks it
 * needs, a read streams one chunk per query, and no statement carries a whole large file.
 *
 * Consistency rests on the blobs row. A put inserts it first (ON CONFLICT DO NOTHING: a
 * concurrent put of the same new key waits for this one's commit, then renews), writes the
 * chunks and commits them together, so a reader sees no row or the row with every chunk. A
 * renewal is an UPDATE of the row and a delete a DELETE of it (its chunks go by the foreign
 * key's cascade, in the same statement); both lock the row, so a delete that waited for a
 * renewal sees its new put_at and keeps the blob, and a renewal that waited for a delete finds
 * no row and stores the blob again.
 *
 * The tables are created at open, idempotently, under the schema's migrate lock (LOCK.migrate
 * in store/postgres/schema.ts, which PostgresStore's migration takes too), not as a step of the
 * Store's migrations: a blob store may live in another database than the chat's log. A change
 * to these tables will need a version of its own.
 */
import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { inTransaction, MAINTENANCE_QUERY_TIMEOUT_MS, timed } from '../store/postgres/client.js';
import {
  checkSchemaName,
  effectiveSchema,
  LOCK,
  poolConfig,
  schemaKey,
} from '../store/postgres/schema.js';
import {
  type BlobInfo,
  type BlobRange,
  type BlobStore,
  checkKey,
  checkRange,
  checkSameSize,
} from './blob-store.js';

/**
 * Bytes per chunk row, and so the most a read or a put holds in memory per blob: 256 KiB is
 * few round trips for a large file and a small bytea to send. Each blob records the size it
 * was written with, so this may change without rewriting old blobs.
 */
export const CHUNK_SIZE = 256 * 1024;

/**
 * Connections per process by default. A put holds one for its transaction (the copy of the
 * whole file); a read takes one per chunk and none between chunks, so a slow download holds
 * none. Callers keep concurrent puts below the pool size: a put that waits longer than the
 * pool's connect timeout (5 s, schema.ts) for a connection fails.
 */
export const DEFAULT_BLOB_POOL_SIZE = 5;

/** Options of PostgresBlobStore.open: those of PostgresStoreOptions that concern connecting. */
export interface PostgresBlobStoreOptions {
  /** Connection string, e.g. `postgres://user@host:5432/db`. */
  readonly url: string;
  /**
   * Schema of the tables, created if missing (checkSchemaName's names); without it, the
   * connection's default search_path (usually `public`). The Store's schema does: the table
   * names (blobs, blob_chunks) are the blob store's own.
   */
  readonly schema?: string;
  /** Most connections this store opens; default DEFAULT_BLOB_POOL_SIZE. */
  readonly poolSize?: number;
  /** Where a connection that fails while idle in the pool is reported. */
  readonly logger?: Logger;
}

/** How many times a put's transaction tries to claim a key a delete keeps taking away. */
const CLAIM_ATTEMPTS = 3;

/** A BlobStore in PostgreSQL tables, shared by every process of a cluster (see above). */
export class PostgresBlobStore implements BlobStore {
  private closing: Promise<void> | undefined;

  /**
   * Opens a pool of its own (poolConfig: the Store's timeouts and search_path) and creates the
   * tables when missing; throws, with the pool closed, when that fails. A pool apart from the
   * Store's, so that puts of large files never make appends wait for a connection.
   */
  static async open(options: PostgresBlobStoreOptions): Promise<PostgresBlobStore> {
    if (options.schema !== undefined) checkSchemaName(options.schema);
    const config = poolConfig(
      options.url,
      options.schema,
      options.poolSize ?? DEFAULT_BLOB_POOL_SIZE,
    );
    const pool = new pg.Pool(config);
    // An idle connection the server drops would otherwise crash the process (see store.ts).
    pool.on('error', (err) => {
      options.logger?.warn('PostgreSQL blob connection lost while idle', { err });
    });
    try {
      await inTransaction(pool, (client) => createTables(client, options.schema));
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresBlobStore(pool);
  }

  private constructor(private readonly pool: pg.Pool) {}

  async put(key: string, source: Buffer | string): Promise<void> {
    this.live();
    checkKey(key);
    const size = typeof source === 'string' ? (await stat(source)).size : source.length;
    // A blob already stored costs one UPDATE, not a copy.
    if (await renew(this.pool, key, size)) return;
    await inTransaction(this.pool, async (client) => {
      for (let attempt = 1; ; attempt++) {
        // Claims the key: the row is invisible to others until the commit, and a concurrent
        // put of the same key waits here for that commit, then finds the row and renews it.
        const claimed = await client.query(
          `INSERT INTO blobs (key, size, chunk_size, put_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (key) DO NOTHING`,
          [key, size, CHUNK_SIZE, Date.now()],
        );
        if (claimed.rowCount === 1) break;
        // Stored by a put that committed meanwhile; unless a delete took it since.
        if (await renew(client, key, size)) return;
        if (attempt === CLAIM_ATTEMPTS) throw new Error(`blob ${key} could not be claimed`);
      }
      await writeChunks(client, key, source, size);
      // putAt is when the put ends (BlobStore.put), not when it began copying.
      await client.query('UPDATE blobs SET put_at = $2 WHERE key = $1', [key, Date.now()]);
    });
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    this.live();
    checkKey(key);
    const { rows } = await this.pool.query<{ size: number; put_at: number }>(
      'SELECT size, put_at FROM blobs WHERE key = $1',
      [key],
    );
    const row = rows[0];
    return row && { size: row.size, putAt: row.put_at };
  }

  /**
   * Streams chunk by chunk: each chunk (only the bytes of it the range covers, cut by the
   * server) is queried when the stream is pulled, so memory holds about one chunk and no
   * connection is held between chunks. A delete committed while the stream is read ends it
   * with an error at the next chunk.
   */
  async read(key: string, range?: BlobRange): Promise<Readable | undefined> {
    this.live();
    checkKey(key);
    const { rows } = await this.pool.query<{ size: number; chunk_size: number }>(
      'SELECT size, chunk_size FROM blobs WHERE key = $1',
      [key],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    if (range !== undefined) checkRange(range, row.size);
    const start = range?.start ?? 0;
    const end = range?.end ?? row.size - 1;
    // Not object mode: its high-water mark (16 KiB) is below one chunk, so a chunk is queried
    // only once the one before it has been consumed.
    return Readable.from(this.chunks(key, row.chunk_size, start, end), { objectMode: false });
  }

  async delete(key: string, notPutSince: number): Promise<boolean> {
    this.live();
    checkKey(key);
    // One statement: the DELETE locks the row (waiting for a renewal in flight, whose new
    // put_at it then checks), and `present` reads the statement's snapshot, from before the
    // delete: present and not deleted means kept. A large blob's chunks go with it, so the
    // statement may take longer than a read's timeout; it runs in the background (GC).
    const { rows } = await this.pool.query<{ deleted: boolean; present: boolean }>(
      timed(
        `WITH gone AS (DELETE FROM blobs WHERE key = $1 AND put_at < $2 RETURNING key)
         SELECT EXISTS (SELECT 1 FROM gone) AS deleted,
                EXISTS (SELECT 1 FROM blobs WHERE key = $1) AS present`,
        MAINTENANCE_QUERY_TIMEOUT_MS,
        [key, notPutSince],
      ),
    );
    const row = rows[0];
    return row === undefined || row.deleted || !row.present;
  }

  /** Ends the pool once its queries finish; later calls reject, open streams fail. */
  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  private live(): void {
    if (this.closing) throw new Error('the blob store is closed');
  }

  /** The bytes `start`..`end` (inclusive) of `key`, one chunk row per query. */
  private async *chunks(
    key: string,
    chunkSize: number,
    start: number,
    end: number,
  ): AsyncGenerator<Buffer> {
    for (let offset = start; offset <= end; ) {
      const n = Math.floor(offset / chunkSize);
      const from = offset - n * chunkSize;
      const length = Math.min(chunkSize - from, end - offset + 1);
      // substring() on bytea counts from 1; data is stored uncompressed (createTables), so
      // the server reads only the slice it returns.
      const { rows } = await this.pool.query<{ data: Buffer }>(
        'SELECT substring(data FROM $3 FOR $4) AS data FROM blob_chunks WHERE key = $1 AND n = $2',
        [key, n, from + 1, length],
      );
      const data = rows[0]?.data;
      if (data === undefined || data.length !== length) {
        throw new Error(`blob ${key} was deleted while it was read`);
      }
      yield data;
      offset += length;
    }
  }
}

/** What renew runs its UPDATE on: the pool, or a transaction's client. */
type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/**
 * Renews the putAt of `key` to now and answers true, or false when it is not stored. GREATEST:
 * a node whose clock lags never moves a putAt back.
 */
async function renew(db: Queryable, key: string, size: number): Promise<boolean> {
  const { rows } = await db.query<{ size: number }>(
    'UPDATE blobs SET put_at = GREATEST(put_at, $2) WHERE key = $1 RETURNING size',
    [key, Date.now()],
  );
  const row = rows[0];
  if (row === undefined) return false;
  checkSameSize(key, size, row.size);
  return true;
}

/**
 * Inserts the chunks of `source`, which must have `size` bytes. A file is read one chunk at a
 * time into one buffer, reused once its INSERT has been answered.
 */
async function writeChunks(
  client: pg.PoolClient,
  key: string,
  source: Buffer | string,
  size: number,
): Promise<void> {
  const insert = (n: number, data: Buffer) =>
    client.query('INSERT INTO blob_chunks (key, n, data) VALUES ($1, $2, $3)', [key, n, data]);
  if (typeof source !== 'string') {
    for (let n = 0; n * CHUNK_SIZE < size; n++) {
      await insert(n, source.subarray(n * CHUNK_SIZE, (n + 1) * CHUNK_SIZE));
    }
    return;
  }
  const file = await open(source, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(CHUNK_SIZE, size));
    let total = 0;
    for (let n = 0; ; n++) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > size) break;
      await insert(n, buffer.subarray(0, bytesRead));
    }
    if (total !== size) {
      throw new Error(`blob source changed while it was copied (${size} bytes, then ${total})`);
    }
  } finally {
    await file.close();
  }
}

/**
 * Creates the schema (when named and missing) and the tables (when missing), inside the
 * caller's transaction, under the schema's migrate lock: nodes starting at once create them
 * once. The lock may be held by a long Store migration, hence its long timeout.
 */
async function createTables(client: pg.PoolClient, named: string | undefined): Promise<void> {
  const schema = await effectiveSchema(client, named);
  await client.query(
    timed('SELECT pg_advisory_xact_lock($1, $2)', MAINTENANCE_QUERY_TIMEOUT_MS, [
      LOCK.migrate,
      schemaKey(schema),
    ]),
  );
  if (named !== undefined) {
    // As migrate (schema.ts) does: looked up first, since CREATE SCHEMA IF NOT EXISTS needs a
    // privilege a role given only an existing schema lacks. The name needs no quoting.
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
      schema,
    ]);
    if (rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
  }
  const { rows } = await client.query<{ found: boolean }>(
    "SELECT to_regclass('blob_chunks') IS NOT NULL AS found",
  );
  if (rows[0]?.found) return;
  await client.query(`
    CREATE TABLE IF NOT EXISTS blobs (
      key        TEXT    PRIMARY KEY,
      size       BIGINT  NOT NULL CHECK (size >= 0),
      -- The chunk size it was written with (CHUNK_SIZE then): reads cut by it.
      chunk_size INTEGER NOT NULL CHECK (chunk_size > 0),
      put_at     BIGINT  NOT NULL
    );
    CREATE TABLE IF NOT EXISTS blob_chunks (
      key  TEXT    NOT NULL REFERENCES blobs (key) ON DELETE CASCADE,
      n    INTEGER NOT NULL,
      data BYTEA   NOT NULL,
      PRIMARY KEY (key, n)
    );
    -- Uploads are mostly compressed already (images, archives): compressing them again wastes
    -- CPU, and uncompressed out-of-line values let substring() read only the slice it returns.
    ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;`);
}
