import type pg from 'pg';
import { ChatError } from '../../domain/errors.js';
import { type Attachment, EVERYONE, type EventId } from '../../domain/events.js';
import {
  attachmentOf,
  type NewUpload,
  toUpload,
  UPLOAD_COLUMNS,
  type UploadRecord,
  type UploadRow,
  type UploadStore,
} from '../uploads-store.js';
import { registered } from './accounts.js';
import { inTransaction } from './client.js';

/**
 * Deletes the uploads `where` selects (its parameters from $2 on) and lists their blob keys in
 * blob_trash, dated $1, in one statement; yields how many uploads went.
 */
export function dropUploads(where: string): string {
  return `
  WITH gone AS (DELETE FROM uploads WHERE ${where} RETURNING blob, thumb),
  trashed AS (
    INSERT INTO blob_trash (key, since)
    SELECT DISTINCT k.key, $1::int8 FROM gone, LATERAL (VALUES (blob), (thumb)) AS k (key)
     WHERE k.key IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET since = greatest(blob_trash.since, excluded.since)
  )
  SELECT count(*)::int AS n FROM gone`;
}

/** Of a message being appended: its uploads, locked, when each is an unsent one of `from`. */
const USABLE = `SELECT ${UPLOAD_COLUMNS} FROM uploads
  WHERE id = ANY ($1::text[]) AND owner = $2 AND message_id IS NULL FOR UPDATE`;

/**
 * The attachments of `ids` when each is an unsent upload of `from`, listed once and not
 * already taken by an earlier message of the batch (`taken`, which learns these); undefined
 * when one is not. Runs in the append's transaction: the rows stay locked until it commits,
 * so a discard or an expiry waits and then finds them sent.
 */
export async function usableUploads(
  client: pg.ClientBase,
  from: string,
  ids: readonly string[],
  taken: Set<string>,
): Promise<Attachment[] | undefined> {
  if (new Set(ids).size !== ids.length || ids.some((id) => taken.has(id))) return undefined;
  const { rows } = await client.query<UploadRow>(USABLE, [ids, from]);
  if (rows.length !== ids.length) return undefined;
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const id of ids) taken.add(id);
  return ids.map((id) => attachmentOf(toUpload(byId.get(id) as UploadRow)));
}

/** Marks uploads as carried by messages: `pairs` of upload id and message id. */
export async function attachUploads(
  client: pg.ClientBase,
  pairs: ReadonlyArray<readonly [string, EventId]>,
): Promise<void> {
  if (pairs.length === 0) return;
  await client.query(
    `UPDATE uploads SET message_id = x.message
       FROM unnest($1::text[], $2::int8[]) AS x (upload, message) WHERE uploads.id = x.upload`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
}

// The rule of history for the one message that carries an upload; see sqlite/uploads.ts.
const READABLE = `
  SELECT ${UPLOAD_COLUMNS.replace(/(\w+)/g, 'u.$1')} FROM uploads u
   WHERE u.id = $1 AND (
     (u.message_id IS NULL AND u.owner = $2)
     OR EXISTS (SELECT 1 FROM messages m
       WHERE m.id = u.message_id AND m.kind = 'message' AND NOT m.deleted AND (
         m.recipient = '${EVERYONE}'
         OR (m.recipient NOT LIKE '#%' AND (m.sender = $2
           OR (m.recipient = $2 AND m.id > ${registered(2)})))
         OR EXISTS (SELECT 1 FROM rooms r
           WHERE r.name = m.recipient AND r.created_id <= m.id
             AND EXISTS (SELECT 1 FROM members WHERE room = r.name AND nick = $2)
             AND (r.history = 'all' OR EXISTS (SELECT 1 FROM spans s
               WHERE s.nick = $2 AND s.room = r.name
                 AND s.from_id <= m.id AND (s.to_id IS NULL OR s.to_id >= m.id)))))))`;

/** The UploadStore of PostgresStore: the uploads and blob_trash tables of its schema. */
export class PostgresUploads implements UploadStore {
  /**
   * Queries through `pool`; `flush` commits the store's queued appends first (a read must see
   * a message just sent).
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly flush: () => Promise<void>,
  ) {}

  async add(upload: NewUpload, quotaBytes: number): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      // One owner's uploads are added one at a time, so the sum and the insert agree.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`upload:${upload.owner}`]);
      const { rows } = await client.query<{ n: number }>(
        'SELECT coalesce(sum(size), 0)::int8 AS n FROM uploads WHERE owner = $1',
        [upload.owner],
      );
      if ((rows[0]?.n ?? 0) + upload.size > quotaBytes) {
        throw new ChatError('UPLOAD_QUOTA_EXCEEDED');
      }
      const u = upload;
      const values = [u.id, u.owner, u.name, u.size, u.type, u.width ?? null, u.height ?? null];
      values.push(u.blob, u.thumb ?? null, u.created);
      await client.query(
        `INSERT INTO uploads (id, owner, name, size, type, width, height, blob, thumb, created)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        values,
      );
    });
  }

  async readable(viewer: string, id: string): Promise<UploadRecord | undefined> {
    await this.flush();
    const { rows } = await this.pool.query<UploadRow>(READABLE, [id, viewer]);
    const row = rows[0];
    return row && toUpload(row);
  }

  async discard(owner: string, id: string): Promise<boolean> {
    await this.flush();
    const where = 'id = $2 AND owner = $3 AND message_id IS NULL';
    const { rows } = await this.pool.query<{ n: number }>(dropUploads(where), [
      Date.now(),
      id,
      owner,
    ]);
    return (rows[0]?.n ?? 0) > 0;
  }

  async expire(before: number): Promise<number> {
    await this.flush();
    const where = 'message_id IS NULL AND created < $2';
    const { rows } = await this.pool.query<{ n: number }>(dropUploads(where), [Date.now(), before]);
    return rows[0]?.n ?? 0;
  }

  async garbage(limit: number): Promise<string[]> {
    // Keys referred to again leave the list; the others are returned, oldest first.
    const { rows } = await this.pool.query<{ key: string; used: boolean }>(
      `SELECT key, EXISTS (SELECT 1 FROM uploads WHERE blob = t.key)
                OR EXISTS (SELECT 1 FROM uploads WHERE thumb = t.key)
                OR EXISTS (SELECT 1 FROM profiles WHERE avatar_key = t.key) AS used
         FROM blob_trash t ORDER BY since, key LIMIT $1`,
      [limit],
    );
    const used = rows.filter((r) => r.used).map((r) => r.key);
    if (used.length > 0) {
      await this.pool.query(
        `DELETE FROM blob_trash t WHERE key = ANY ($1::text[])
           AND (EXISTS (SELECT 1 FROM uploads WHERE blob = t.key)
             OR EXISTS (SELECT 1 FROM uploads WHERE thumb = t.key)
             OR EXISTS (SELECT 1 FROM profiles WHERE avatar_key = t.key))`,
        [used],
      );
    }
    return rows.filter((r) => !r.used).map((r) => r.key);
  }

  async forget(keys: readonly string[], before: number): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query('DELETE FROM blob_trash WHERE key = ANY ($1::text[]) AND since < $2', [
      keys,
      before,
    ]);
  }

  async usage(owner: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      'SELECT coalesce(sum(size), 0)::int8 AS n FROM uploads WHERE owner = $1',
      [owner],
    );
    return rows[0]?.n ?? 0;
  }
}
