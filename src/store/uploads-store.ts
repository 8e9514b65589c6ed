import type { Attachment, EventId } from '../domain/events.js';

/** An upload as `add` takes it: the file's facts and where its bytes live (blobs/). */
export interface NewUpload {
  /** Random, unguessable (core/uploads.ts makes it): 22 characters of base64url. */
  readonly id: string;
  /** The user who uploaded it: only they may attach it to a message. */
  readonly owner: string;
  readonly name: string;
  /** Bytes of the served file (`blob`). */
  readonly size: number;
  /** Sniffed from the bytes (media/sniff.ts). */
  readonly type: string;
  readonly width?: number;
  readonly height?: number;
  /** The BlobStore key of the served bytes (their sha256, hex). */
  readonly blob: string;
  /** The BlobStore key of the thumbnail (images only). */
  readonly thumb?: string;
  /** ms since the epoch. */
  readonly created: number;
}

/** An upload as the Store keeps it. */
export interface UploadRecord extends NewUpload {
  /** The message that carries it; absent while it is not sent. */
  readonly message?: EventId;
}

/** The shape of an upload that a message carries (and the API answers). */
export function attachmentOf(upload: NewUpload): Attachment {
  const { id, name, size, type, width, height } = upload;
  return {
    id,
    name,
    size,
    type,
    ...(width !== undefined && { width }),
    ...(height !== undefined && { height }),
  };
}

/**
 * Uploaded files' records, kept by the same backend as the log (Store.uploads). The bytes are
 * in a BlobStore (blobs/), under content keys that several uploads may share.
 *
 * Contract (checked for every backend by uploads.contract.ts, with the attach, delete and
 * retention rules that belong to the log in store.ts's contract):
 *
 * - `add` stores an unsent upload, and refuses it with UPLOAD_QUOTA_EXCEEDED when the sizes of
 *   the owner's stored uploads (sent or not) plus its own would pass `quotaBytes`; the check
 *   and the insert are one transaction, so racing uploads cannot pass it together.
 * - `append` (EventLog) attaches the message's `attach` ids in its transaction: each must be
 *   an unsent upload of the sender, listed once, or the append stores nothing and rejects with
 *   UPLOAD_UNUSABLE. The stored message carries them as `attachments` in that order. A retry
 *   with the same clientId returns the first message, attachments and all, and checks nothing.
 * - `readable(viewer, id)` returns the upload when `viewer` may have its bytes: its owner while
 *   it is unsent, and whoever sees the message that carries it by the rule of `history`
 *   (everyone for `all`; a direct message's two parties, the recipient only above their
 *   registration point; for a room's message of the room's current life, its members now
 *   (not those who left) whose span covers it, or every member of a history-`all` room). A
 *   deleted message carries nothing. Otherwise undefined, for the owner too.
 * - `discard(owner, id)` removes an unsent upload of `owner`; false when there is none.
 * - Whenever an upload's record goes (discard, `expire`, the delete of its message, retention
 *   pruning its message, in the same transaction as that), its blob keys go to the garbage
 *   list. `garbage(limit)` lists keys of that list that no upload (nor avatar, profiles-store.ts)
 *   refers to, oldest first; it drops from the list the keys one refers to again. A key listed again while it is
 *   on the list takes the later date. `forget(keys, before)` drops keys whose date is before
 *   `before` once their bytes are deleted: a key that went to the list again since (the same
 *   bytes uploaded and dropped meanwhile) stays for the next collection. (uploads/uploads.ts's
 *   collector: note the time, list, delete each key unless it was put since (BlobStore.delete),
 *   then forget what went, as of the time noted.)
 * - `expire(before)` removes unsent uploads created before `before` and returns how many.
 * - `usage(owner)` is the sum of the sizes of the owner's stored uploads.
 */
export interface UploadStore {
  add(upload: NewUpload, quotaBytes: number): Promise<void>;
  readable(viewer: string, id: string): Promise<UploadRecord | undefined>;
  discard(owner: string, id: string): Promise<boolean>;
  expire(before: number): Promise<number>;
  garbage(limit: number): Promise<string[]>;
  forget(keys: readonly string[], before: number): Promise<void>;
  usage(owner: string): Promise<number>;
}

/** An uploads row as either engine reads it (int8 as number). */
export interface UploadRow {
  id: string;
  owner: string;
  name: string;
  size: number;
  type: string;
  width: number | null;
  height: number | null;
  blob: string;
  thumb: string | null;
  created: number;
  message_id: number | null;
}

/** The columns of an UploadRow, for SELECT lists. */
export const UPLOAD_COLUMNS =
  'id, owner, name, size, type, width, height, blob, thumb, created, message_id';

/** An uploads row as the UploadStore hands it out. */
export function toUpload(row: UploadRow): UploadRecord {
  return {
    id: row.id,
    owner: row.owner,
    name: row.name,
    size: row.size,
    type: row.type,
    ...(row.width !== null && { width: row.width }),
    ...(row.height !== null && { height: row.height }),
    blob: row.blob,
    ...(row.thumb !== null && { thumb: row.thumb }),
    created: row.created,
    ...(row.message_id !== null && { message: row.message_id }),
  };
}
