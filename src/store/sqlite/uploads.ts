import type Database from 'better-sqlite3';
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

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/**
 * Moves the blob keys of the uploads `where` selects to blob_trash (dated `since`), then
 * deletes those uploads: the statements that every removal of uploads runs, in its transaction.
 */
function dropper(db: Database.Database, where: string) {
  // `WHERE true`: SQLite's parser needs it before ON CONFLICT in an INSERT … SELECT.
  const trash = db.prepare(
    `INSERT INTO blob_trash (key, since)
       SELECT blob, @since FROM uploads WHERE ${where}
       UNION SELECT thumb, @since FROM uploads WHERE ${where} AND thumb IS NOT NULL
     ON CONFLICT (key) DO UPDATE SET since = max(since, excluded.since)`,
  );
  const remove = db.prepare(`DELETE FROM uploads WHERE ${where}`);
  return (params: Record<string, unknown>): number => {
    trash.run(params);
    return remove.run(params).changes;
  };
}

/**
 * The uploads side of the log's writes (SqliteAppender, SqliteLog.prune), run inside their
 * transactions: checking and attaching a message's uploads, and dropping a deleted or pruned
 * message's.
 */
export class SqliteAttachments {
  private readonly selectUnsent: Statement<[string, string], UploadRow>;
  private readonly setMessage: Statement<[number, string]>;
  private readonly dropOf: (params: Record<string, unknown>) => number;
  private readonly dropThrough: (params: Record<string, unknown>) => number;
  private readonly dropRoom: (params: Record<string, unknown>) => number;

  constructor(db: Database.Database) {
    this.selectUnsent = db.prepare(
      `SELECT ${UPLOAD_COLUMNS} FROM uploads
        WHERE id = ? AND owner = ? AND message_id IS NULL`,
    );
    this.setMessage = db.prepare('UPDATE uploads SET message_id = ? WHERE id = ?');
    this.dropOf = dropper(db, 'message_id = @message');
    this.dropThrough = dropper(db, 'message_id <= @through');
    this.dropRoom = dropper(
      db,
      "message_id IN (SELECT id FROM messages WHERE recipient = @room AND kind = 'message')",
    );
  }

  /**
   * The attachments of `ids` when each is an unsent upload of `from`, listed once; undefined
   * when one is not. Reads only.
   */
  usable(from: string, ids: readonly string[]): Attachment[] | undefined {
    if (new Set(ids).size !== ids.length) return undefined;
    const files: Attachment[] = [];
    for (const id of ids) {
      const row = this.selectUnsent.get(id, from);
      if (!row) return undefined;
      files.push(attachmentOf(toUpload(row)));
    }
    return files;
  }

  /** Marks the uploads as carried by message `id`. */
  attach(files: readonly Attachment[], id: EventId): void {
    for (const file of files) this.setMessage.run(id, file.id);
  }

  /** Drops the uploads of a deleted message; their blobs go to the trash. */
  drop(message: EventId, since: number): void {
    this.dropOf({ message, since });
  }

  /**
   * Drops the files of a room that closed: nobody can see its messages any more (a later life
   * of the name never shows them), so they would only hold disk and their senders' quota.
   */
  dropRoomFiles(room: string, since: number): void {
    this.dropRoom({ room, since });
  }

  /** Drops the uploads of every message up to `through` (retention). */
  dropThroughId(through: EventId, since: number): void {
    this.dropThrough({ through, since });
  }
}

// Who may fetch an upload: uploads-store.ts, `readable`; the rule of history (store.ts), for
// the one message that carries it. A room's message: the viewer is a member of the room now,
// the message is of its current life, and a span of the viewer's covers it or the room's
// history mode is `all`.
const READABLE = `
  SELECT ${UPLOAD_COLUMNS} FROM uploads u
   WHERE u.id = @id AND (
     (u.message_id IS NULL AND u.owner = @viewer)
     OR EXISTS (SELECT 1 FROM messages m
       WHERE m.id = u.message_id AND m.kind = 'message' AND m.deleted = 0 AND (
         m.recipient = '${EVERYONE}'
         OR (substr(m.recipient, 1, 1) <> '#' AND (m.sender = @viewer
           OR (m.recipient = @viewer AND m.id > @registered)))
         OR EXISTS (SELECT 1 FROM rooms r
           WHERE r.name = m.recipient AND r.created_id <= m.id
             AND EXISTS (SELECT 1 FROM members WHERE room = r.name AND nick = @viewer)
             AND (r.history = 'all' OR EXISTS (SELECT 1 FROM spans s
               WHERE s.nick = @viewer AND s.room = r.name
                 AND s.from_id <= m.id AND (s.to_id IS NULL OR s.to_id >= m.id)))))))`;

/** The UploadStore of SqliteStore: the uploads and blob_trash tables. */
export class SqliteUploads implements UploadStore {
  private readonly addTx: (upload: NewUpload, quotaBytes: number) => void;
  private readonly selectReadable: Statement<
    [{ id: string; viewer: string; registered: number }],
    UploadRow
  >;
  private readonly dropUnsent: (params: Record<string, unknown>) => number;
  private readonly dropExpired: (params: Record<string, unknown>) => number;
  private readonly selectUsage: Statement<[string], { n: number }>;
  private readonly selectGarbage: Statement<[number], { key: string; used: number }>;
  private readonly deleteTrash: Statement<[string]>;
  private readonly forgetTrash: Statement<[string, number]>;
  private readonly discardTx: (owner: string, id: string) => boolean;
  private readonly expireTx: (before: number) => number;

  /**
   * Prepares its statements on `db`, which must already have the current schema. `flush`
   * commits the queued appends (a read must see a message just sent); `registeredAt` is the
   * viewer's registration point (store.ts).
   */
  constructor(
    db: Database.Database,
    private readonly flush: () => void,
    private readonly registeredAt: (nick: string) => number,
  ) {
    this.selectUsage = db.prepare(
      'SELECT coalesce(sum(size), 0) AS n FROM uploads WHERE owner = ?',
    );
    const insert = db.prepare(
      `INSERT INTO uploads (id, owner, name, size, type, width, height, blob, thumb, created)
       VALUES (@id, @owner, @name, @size, @type, @width, @height, @blob, @thumb, @created)`,
    );
    // IMMEDIATE: the sum and the insert see the same uploads, also against another process.
    const add = db.transaction((upload: NewUpload, quotaBytes: number) => {
      const used = this.selectUsage.get(upload.owner)?.n ?? 0;
      if (used + upload.size > quotaBytes) throw new ChatError('UPLOAD_QUOTA_EXCEEDED');
      const { width = null, height = null, thumb = null } = upload;
      insert.run({ ...upload, width, height, thumb });
    });
    this.addTx = (upload, quotaBytes) => add.immediate(upload, quotaBytes);
    this.selectReadable = db.prepare(READABLE);
    this.dropUnsent = dropper(db, 'id = @id AND owner = @owner AND message_id IS NULL');
    this.dropExpired = dropper(db, 'message_id IS NULL AND created < @before');
    const discard = db.transaction(
      (owner: string, id: string) => this.dropUnsent({ owner, id, since: Date.now() }) > 0,
    );
    this.discardTx = (owner, id) => discard.immediate(owner, id);
    const expire = db.transaction((before: number) =>
      this.dropExpired({ before, since: Date.now() }),
    );
    this.expireTx = (before) => expire.immediate(before);
    this.selectGarbage = db.prepare(
      `SELECT key, EXISTS (SELECT 1 FROM uploads WHERE blob = t.key)
                OR EXISTS (SELECT 1 FROM uploads WHERE thumb = t.key)
                OR EXISTS (SELECT 1 FROM profiles WHERE avatar_key = t.key) AS used
         FROM blob_trash t ORDER BY since, key LIMIT ?`,
    );
    this.deleteTrash = db.prepare('DELETE FROM blob_trash WHERE key = ?');
    this.forgetTrash = db.prepare('DELETE FROM blob_trash WHERE key = ? AND since < ?');
  }

  async add(upload: NewUpload, quotaBytes: number): Promise<void> {
    this.addTx(upload, quotaBytes);
  }

  async readable(viewer: string, id: string): Promise<UploadRecord | undefined> {
    this.flush();
    const row = this.selectReadable.get({ id, viewer, registered: this.registeredAt(viewer) });
    return row && toUpload(row);
  }

  async discard(owner: string, id: string): Promise<boolean> {
    // An append queued before this that attaches it goes first: it is then sent, not discarded.
    this.flush();
    return this.discardTx(owner, id);
  }

  async expire(before: number): Promise<number> {
    this.flush();
    return this.expireTx(before);
  }

  async garbage(limit: number): Promise<string[]> {
    const keys: string[] = [];
    for (const { key, used } of this.selectGarbage.all(limit)) {
      // Referred to again (the same bytes were uploaded since): not garbage any more.
      if (used) this.deleteTrash.run(key);
      else keys.push(key);
    }
    return keys;
  }

  async forget(keys: readonly string[], before: number): Promise<void> {
    for (const key of keys) this.forgetTrash.run(key, before);
  }

  async usage(owner: string): Promise<number> {
    return this.selectUsage.get(owner)?.n ?? 0;
  }
}
