import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChatError } from '../domain/errors.js';

/** A file received whole into a temporary file, with what was learnt while it streamed. */
export interface Received {
  /** The temporary file; the caller removes it (discardTemp). */
  readonly path: string;
  readonly size: number;
  /** Lowercase hex sha256 of the bytes: their BlobStore key. */
  readonly sha256: string;
}

/** Temporary files older than this are a crash's leftovers (an upload takes far less). */
const STALE_TEMP_MS = 60 * 60_000;

/** Counts and hashes the bytes that pass; fails with UPLOAD_TOO_LARGE past `max`. */
class Meter extends Transform {
  size = 0;
  private readonly hash = createHash('sha256');

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.max) {
      done(new ChatError('UPLOAD_TOO_LARGE', `at most ${this.max} bytes`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Streams `body` into a new file of `dir`, counting and hashing as it goes: past `maxBytes`
 * it stops at once with UPLOAD_TOO_LARGE (nothing more is read or written, and the partial
 * file is removed), so a file is never buffered whole in memory nor kept on disk beyond the
 * cap. Rejects with UPLOAD_EMPTY for no bytes.
 */
export async function receiveFile(
  body: NodeJS.ReadableStream,
  dir: string,
  maxBytes: number,
): Promise<Received> {
  const path = join(dir, `${Date.now()}-${randomBytes(9).toString('base64url')}.part`);
  const meter = new Meter(maxBytes);
  // The body is piped, not part of the pipeline: a refusal must not destroy the request, whose
  // connection still carries the answer (413, then closed: the rest is never read).
  // 'wx': created new, never through a name someone put there first.
  const written = pipeline(meter, createWriteStream(path, { mode: 0o600, flags: 'wx' }));
  const cut = (): void => {
    meter.destroy(new ChatError('HTTP_BAD_REQUEST', 'the request body was cut short'));
  };
  // A body that closes before its end (the client left, or its deadline cut it) never ends.
  const closed = (): void => {
    if (!(body as { complete?: boolean }).complete) cut();
  };
  body.once('error', cut);
  body.once('aborted', cut);
  body.once('close', closed);
  body.pipe(meter);
  try {
    await written;
  } catch (err) {
    body.unpipe(meter);
    await discardTemp(path);
    throw err;
  } finally {
    body.off('error', cut);
    body.off('aborted', cut);
    body.off('close', closed);
  }
  if (meter.size === 0) {
    await discardTemp(path);
    throw new ChatError('UPLOAD_EMPTY');
  }
  return { path, size: meter.size, sha256: meter.digest() };
}

/** Removes a temporary file; one already gone is fine. */
export async function discardTemp(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}

/**
 * Makes `dir` (mode 0700) and removes the temporary files a crash left there, those older
 * than STALE_TEMP_MS (another process sharing the directory may be receiving a newer one).
 * Refuses a `dir` that is a link, not a directory, or another user's: files are received and
 * then read again by name there, so nobody else may be able to swap them.
 */
export async function prepareTempDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  const uid = process.getuid?.();
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) {
    throw new Error(`${dir} must be a directory of this user (it receives uploads)`);
  }
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
  const now = Date.now();
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.part')) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_TEMP_MS) await discardTemp(path);
  }
}
