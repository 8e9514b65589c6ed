/**
 * Where the bytes of uploaded files live (issue 20): a content-addressed blob store, with one
 * backend per deployment shape. DiskBlobStore (disk-blobs.ts) keeps files under the data
 * directory, for one process; PostgresBlobStore (postgres-blobs.ts) keeps them in chunked rows,
 * so that every process of a cluster reads what another wrote. blobs.contract.ts is the one
 * suite both pass.
 *
 * The store knows nothing of uploads, owners or quotas: it maps a key (the sha256 of the bytes)
 * to the bytes. Whoever records references to keys (the uploads table) also collects the keys
 * nothing refers to any more, with `delete(key, notPutSince)`; see BlobStore.delete for why
 * that is safe against an upload of the same bytes at the same moment.
 */
import type { Readable } from 'node:stream';

/** What stat() knows of a stored blob. */
export interface BlobInfo {
  /** Its length in bytes. */
  readonly size: number;
  /** Ms since the epoch (the storing process's clock) of its last put; see BlobStore.put. */
  readonly putAt: number;
}

/** Inclusive byte offsets of a part of a blob: integers, 0 <= start <= end < size. */
export interface BlobRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Keys are the lowercase hex sha256 of the bytes. Every method rejects (a plain Error) any
 * other key, so that a key can never name a path outside the store (`../x`) nor two spellings
 * of one blob.
 */
export const BLOB_KEY = /^[0-9a-f]{64}$/;

/**
 * A content-addressed store of immutable blobs.
 *
 * Atomicity: a reader sees a key absent or its whole blob, never a part, also after a crash
 * in the middle of a put. Once stat() says a key is present, read() of it streams all its
 * bytes, unless the key is deleted meanwhile (see read).
 *
 * The store trusts that a key is the sha256 of its bytes and does not hash them again (the
 * caller just did, while receiving them). It only checks that a second put of a key has the
 * size the first one stored, and rejects it otherwise.
 */
export interface BlobStore {
  /**
   * Stores `source` under `key` atomically. `source` is a Buffer, or the path of a complete
   * file that the caller keeps and removes afterwards (the store copies it, never moves it).
   * Putting a key that is already stored keeps the one copy and only renews its putAt.
   *
   * putAt is taken when the put ends, just before the blob (or its renewal) becomes visible,
   * so that a collector that decided "unreferenced" at T (see delete) and sees putAt >= T
   * knows that a put finished after its decision.
   */
  put(key: string, source: Buffer | string): Promise<void>;

  /** The size and putAt of `key`, or undefined when it is not stored. */
  stat(key: string): Promise<BlobInfo | undefined>;

  /**
   * The bytes of `key` (only those of `range` when given) as a stream, or undefined when the
   * key is not stored. It streams: memory stays bounded by one backend chunk, whatever the
   * blob's size. Rejects (RangeError) a range outside the blob: the caller checks a client's
   * Range header against stat().size first. A delete of the key while its stream is being
   * read may end that stream with an error on a backend that cannot keep the bytes for it
   * (PostgreSQL); the disk keeps an open file readable.
   */
  read(key: string, range?: BlobRange): Promise<Readable | undefined>;

  /**
   * Deletes `key` unless it was put at or after `notPutSince` (ms): true when the key is gone
   * (deleted now, or absent), false when it was kept because a put renewed it.
   *
   * This makes garbage collection safe against a concurrent upload of the same bytes: the
   * collector decides at time T that nothing refers to the key and calls delete(key, T); an
   * upload that adds a reference after T has put (renewed) the key after T, so it survives.
   * The put and the decision race only within one rule the collector must keep: T must be
   * earlier than the collector's look at the references by more than the longest time an
   * upload takes from its put returning to committing its reference (and, across processes,
   * the clocks' skew). Otherwise a put that ended just before T, whose reference committed
   * just after the look, would lose its blob.
   *
   * A put and a delete of the same key are atomic with respect to each other: after both,
   * the key is either stored whole or absent, never listed by stat() yet unreadable.
   */
  delete(key: string, notPutSince: number): Promise<boolean>;

  /** Releases the backend's resources; every call after it rejects. */
  close(): Promise<void>;
}

/** Throws a plain Error unless `key` matches BLOB_KEY. */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || !BLOB_KEY.test(key)) {
    throw new Error(`blob key must be 64 lowercase hex digits (a sha256), not "${printable(key)}"`);
  }
}

/** Throws a RangeError unless `range` is inclusive integer offsets within a blob of `size`. */
export function checkRange(range: BlobRange, size: number): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new RangeError(`blob range ${start}-${end} must be integers`);
  }
  if (start < 0 || start > end || end >= size) {
    throw new RangeError(`blob range ${start}-${end} is outside a blob of ${size} bytes`);
  }
}

/** Throws unless `size`, that of a put's source, is the `stored` size of its key. */
export function checkSameSize(key: string, size: number, stored: number): void {
  if (size !== stored) {
    throw new Error(
      `blob ${key} is stored with ${stored} bytes, not ${size}: a key must be the sha256 of its bytes`,
    );
  }
}

/** A key as an error message shows it: at most 80 characters, no control characters. */
function printable(key: unknown): string {
  return String(key)
    .slice(0, 80)
    .replace(/\p{Cc}/gu, '?');
}
