/**
 * The BlobStore of a single ssechat process: one file per blob under a directory
 * (`<dataDir>/blobs`), at `<dir>/<k0k1>/<k2k3>/<key>` so that no directory holds more than a
 * few hundred entries per million blobs. A blob's putAt is its file's mtime.
 *
 * Atomicity comes from rename(2): a put writes a temp file in `<dir>/tmp/` (same filesystem),
 * fsyncs it, renames it into place and fsyncs the directory, so a reader finds no file or a
 * whole one, also after a power cut. A crash leaves at most a temp file, which no key can
 * name; open() removes those older than STALE_TEMP_MS.
 *
 * One process per directory: a put and a delete of one key are made atomic with respect to
 * each other by a lock in this process (DiskBlobStore.exclusive), not by the filesystem. A
 * cluster shares PostgresBlobStore instead.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import {
  copyFile,
  type FileHandle,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  utimes,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type BlobInfo,
  type BlobRange,
  type BlobStore,
  checkKey,
  checkRange,
  checkSameSize,
} from './blob-store.js';

/**
 * Age after which open() takes a temp file for a crash's leftover and removes it. A put's temp
 * file lives as long as the copy of one upload takes; an hour is far beyond that, so a store
 * opened on a directory that another process still writes (by mistake) does not pull a temp
 * file from under a put in progress.
 */
export const STALE_TEMP_MS = 60 * 60_000;

/** Directories are the server's own: nobody else on the machine lists or reads blobs. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Node's error code of a failed filesystem call, if any. */
const codeOf = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;
/** Whether `err` says the path does not exist (ENOTDIR: a shard is not even a directory). */
const missing = (err: unknown): boolean => codeOf(err) === 'ENOENT' || codeOf(err) === 'ENOTDIR';

/** A file's mtime as the ms putAt it was set to (utimes stores seconds as a float). */
const putAtOf = (stats: Stats): number => Math.round(stats.mtimeMs);

/** A BlobStore in a directory of the local filesystem, for one process (see the file's doc). */
export class DiskBlobStore implements BlobStore {
  /**
   * Per-key chains of the put and delete critical sections in flight: one entry per key with
   * an operation running or waiting, removed when its chain drains, so it is bounded by the
   * calls in flight.
   */
  private readonly locks = new Map<string, Promise<void>>();
  private closed = false;

  /**
   * Opens the store in `dir`, creating it and `dir/tmp` (mode 0o700) when missing, and removes
   * temp files older than STALE_TEMP_MS (a crash's leftovers).
   */
  static async open(dir: string): Promise<DiskBlobStore> {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp, { recursive: true, mode: DIR_MODE });
    await removeStaleTemps(tmp, Date.now() - STALE_TEMP_MS);
    return new DiskBlobStore(dir, tmp);
  }

  private constructor(
    private readonly dir: string,
    private readonly tmp: string,
  ) {}

  async put(key: string, source: Buffer | string): Promise<void> {
    this.live();
    checkKey(key);
    const size = typeof source === 'string' ? (await stat(source)).size : source.length;
    const path = this.pathOf(key);
    // A blob already stored costs a stat and a utimes, not a copy.
    if (await this.exclusive(key, () => renew(key, path, size))) return;
    const shard = dirname(path);
    // mkdir answers the first directory it created: new entries in the shards above it must
    // reach the disk too, or a power cut could lose the path to a durable file.
    const created = await mkdir(shard, { recursive: true, mode: DIR_MODE });
    if (created !== undefined) {
      await syncDir(this.dir);
      await syncDir(dirname(shard));
    }
    const tmp = await this.writeTemp(source, size);
    try {
      await this.exclusive(key, async () => {
        // Another put of the same bytes may have finished while this one copied.
        if (await renew(key, path, size)) return;
        const now = Date.now() / 1000;
        await utimes(tmp, now, now);
        await rename(tmp, path);
        await syncDir(shard);
      });
    } finally {
      // Gone after the rename; still there when the key was renewed instead, or on a failure.
      await rm(tmp, { force: true });
    }
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    this.live();
    checkKey(key);
    try {
      const stats = await stat(this.pathOf(key));
      return { size: stats.size, putAt: putAtOf(stats) };
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  /**
   * Opens the file before answering, so that a key answered is a key readable: a delete after
   * the open unlinks the name, and the open file stays readable to the end. The stream reads
   * 64 KiB at a time (Node's default) and closes the file when it ends or is destroyed; a
   * caller that stops reading early must destroy it.
   */
  async read(key: string, range?: BlobRange): Promise<Readable | undefined> {
    this.live();
    checkKey(key);
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
    try {
      if (range !== undefined) checkRange(range, (await handle.stat()).size);
      return handle.createReadStream(range ?? {});
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async delete(key: string, notPutSince: number): Promise<boolean> {
    this.live();
    checkKey(key);
    const path = this.pathOf(key);
    // Under the key's lock, a put cannot renew the file between the look at its mtime and
    // the unlink. The unlink is not fsynced: a power cut may bring the file back, which only
    // leaves garbage for the next collection.
    return this.exclusive(key, async () => {
      try {
        if (putAtOf(await stat(path)) >= notPutSince) return false;
        await rm(path);
        return true;
      } catch (err) {
        if (missing(err)) return true;
        throw err;
      }
    });
  }

  /** Later calls reject; operations in flight finish, and open streams stay readable. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private live(): void {
    if (this.closed) throw new Error('the blob store is closed');
  }

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), key.slice(2, 4), key);
  }

  /**
   * Copies `source` into a new temp file (mode 0o600) and fsyncs it; throws, leaving no temp
   * file, when that fails or the copy does not have the `size` the source had before.
   */
  private async writeTemp(source: Buffer | string, size: number): Promise<string> {
    const tmp = join(this.tmp, `${randomBytes(16).toString('hex')}.part`);
    try {
      if (typeof source === 'string') {
        // COPYFILE_EXCL: a random name that exists is a bug, not a file to overwrite.
        await copyFile(source, tmp, constants.COPYFILE_EXCL);
      }
      const handle = await open(tmp, typeof source === 'string' ? 'r+' : 'wx', FILE_MODE);
      try {
        if (typeof source === 'string') await handle.chmod(FILE_MODE);
        else await handle.writeFile(source);
        await handle.sync();
        const copied = (await handle.stat()).size;
        if (copied !== size) {
          throw new Error(
            `blob source changed while it was copied (${size} bytes, then ${copied})`,
          );
        }
      } finally {
        await handle.close();
      }
      return tmp;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Runs `work` after every earlier exclusive `work` of `key` in this store has settled. */
  private async exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key);
    let release = (): void => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Chains never reject: each link is a promise that only resolves.
    const chain = before === undefined ? mine : before.then(() => mine);
    this.locks.set(key, chain);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.locks.get(key) === chain) this.locks.delete(key);
    }
  }
}

/**
 * Renews the putAt of the blob at `path` to now and answers true, or answers false when it is
 * not stored. The new mtime is not fsynced: after a power cut the blob is there with an older
 * putAt, and whatever referenced it then is in the database the collector reads.
 */
async function renew(key: string, path: string, size: number): Promise<boolean> {
  try {
    checkSameSize(key, size, (await stat(path)).size);
    const now = Date.now() / 1000;
    await utimes(path, now, now);
    return true;
  } catch (err) {
    if (missing(err)) return false;
    throw err;
  }
}

/** fsyncs the directory `dir`, so that the entries just made or renamed in it are durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes the entries of `tmp` last modified before `before` (ms). */
async function removeStaleTemps(tmp: string, before: number): Promise<void> {
  for (const name of await readdir(tmp)) {
    const path = join(tmp, name);
    try {
      if ((await stat(path)).mtimeMs < before) await rm(path, { force: true, recursive: true });
    } catch (err) {
      if (!missing(err)) throw err;
    }
  }
}
