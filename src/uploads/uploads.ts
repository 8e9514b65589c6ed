import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobRange, BlobStore } from '../blobs/blob-store.js';
import { ChatError } from '../domain/errors.js';
import type { Attachment } from '../domain/events.js';
import type { Logger } from '../logger.js';
import type { ImageProcessor } from '../media/images.js';
import { isInlineImage, sniff } from '../media/sniff.js';
import {
  attachmentOf,
  type NewUpload,
  type UploadRecord,
  type UploadStore,
} from '../store/uploads-store.js';
import { parseFileName } from './names.js';
import { discardTemp, receiveFile } from './receive.js';

/** An upload's id: 16 random bytes in base64url. */
const UPLOAD_ID = /^[A-Za-z0-9_-]{22}$/;

/** Declared types a browser would run: image bytes declared so are not shown as images. */
const ACTIVE = /html|xml|svg|script|ecmascript/i;

/** Uploads one user may have in flight at once (the page sends two at a time). */
export const MAX_IN_FLIGHT_PER_USER = 4;
/**
 * Uploads the server receives at once, all users together: bounds the temp disk they hold
 * (64 × --max-upload-bytes) and the files open. More get 503 UPLOAD_BUSY.
 */
export const MAX_IN_FLIGHT = 64;

/** Blob keys one collection deletes at most per batch (it goes on until none are left). */
const GARBAGE_BATCH = 100;

/**
 * How far before its look at the references the collector of a cluster dates its decision
 * (see sweep): more than the clocks of its processes may differ, so that a blob put by a
 * process whose clock lags is still seen as put after the decision.
 */
export const CLUSTER_CLOCK_SKEW_MS = 60_000;
/**
 * The same margin for the disk store of one process: a file's mtime may be coarser than the
 * clock (whole seconds on some filesystems) and the clock may step back a little.
 */
export const DISK_CLOCK_MARGIN_MS = 2_000;

/** What Uploads works with; the limits come from config (config-options.ts). */
export interface UploadsOptions {
  readonly store: UploadStore;
  readonly blobs: BlobStore;
  readonly images: ImageProcessor;
  readonly logger: Logger;
  /** Where files are received before they are stored (the caller made it: prepareTempDir). */
  readonly tempDir: string;
  /** `--max-upload-bytes`. */
  readonly maxBytes: number;
  /** `--upload-quota-bytes`; 0 for none. */
  readonly quotaBytes: number;
  /** `--upload-unsent-ttl`, in ms. */
  readonly unsentTtlMs: number;
  /** 0 for one process, CLUSTER_CLOCK_SKEW_MS when processes share the blob store. */
  readonly clockSkewMs: number;
}

/** Where a served file comes from: the bytes of an upload or of its thumbnail. */
export interface Served {
  readonly stream: Readable;
  readonly size: number;
}

/**
 * Uploaded files, from the request body to the blob store and back (issue 20): receives a file
 * within the size cap and the owner's quota, learns its type from its bytes, makes an image's
 * safe copy and thumbnail (media/), records it (Store.uploads) and stores its bytes
 * (BlobStore); serves it to whoever may read it; and collects what nothing refers to.
 *
 * The order that keeps collection safe: an upload's record is committed before its bytes are
 * put, so a put always ends after the reference exists. The collector decides a key is
 * unreferenced at T (less clockSkewMs), then deletes it only if it was not put since
 * (BlobStore.delete): a reference that appeared after its look was followed by a put after T.
 */
export class Uploads {
  /** Uploads being received, by owner: how many, and the bytes they may bring. */
  private readonly inFlight = new Map<string, { count: number; bytes: number }>();
  private inFlightCount = 0;

  constructor(private readonly options: UploadsOptions) {}

  /**
   * Receives the file `body` carries for `owner`, named `rawName`; returns its attachment. The
   * type is sniffed from the bytes. `declared` (the request's Content-Type) never makes a file
   * more trusted; it can make one less: image bytes declared as markup or script (a polyglot)
   * are kept as a file to download, never decoded into an image shown inline.
   */
  async receive(
    owner: string,
    rawName: string | null,
    body: Readable,
    declared = '',
    length?: number,
  ): Promise<Attachment> {
    const name = parseFileName(rawName);
    // Bytes in flight count against the quota before they are stored: a user's parallel
    // uploads cannot pass it together, nor hold temp disk beyond it.
    const reserved = Math.min(length ?? this.options.maxBytes, this.options.maxBytes);
    const mine = this.inFlight.get(owner) ?? { count: 0, bytes: 0 };
    if (mine.count >= MAX_IN_FLIGHT_PER_USER) {
      throw new ChatError(
        'CHAT_RATE_LIMITED',
        `at most ${MAX_IN_FLIGHT_PER_USER} uploads at once`,
        1000,
      );
    }
    if (this.inFlightCount >= MAX_IN_FLIGHT) {
      throw new ChatError('UPLOAD_BUSY', 'too many uploads at once', 1000);
    }
    const { quotaBytes } = this.options;
    // A cheap early no: the authoritative check is in add, with the insert.
    if (quotaBytes > 0 && (await this.options.store.usage(owner)) + mine.bytes >= quotaBytes) {
      throw new ChatError('UPLOAD_QUOTA_EXCEEDED');
    }
    mine.count++;
    mine.bytes += reserved;
    this.inFlight.set(owner, mine);
    this.inFlightCount++;
    try {
      return await this.take(owner, name, body, declared);
    } finally {
      this.inFlightCount--;
      mine.count--;
      mine.bytes -= reserved;
      if (mine.count === 0) this.inFlight.delete(owner);
    }
  }

  /** receive's work, once the upload is admitted. */
  private async take(
    owner: string,
    name: string,
    body: Readable,
    declared: string,
  ): Promise<Attachment> {
    const { store, images, tempDir, maxBytes, quotaBytes } = this.options;
    const file = await receiveFile(body, tempDir, maxBytes);
    try {
      const type = await sniff(file.path);
      const base = { id: randomBytes(16).toString('base64url'), owner, name, type };
      const created = Date.now();
      let upload: NewUpload;
      let puts: Array<[string, Buffer | string]>;
      if (isInlineImage(type) && !ACTIVE.test(declared)) {
        const image = await images.process(file.path, type, owner);
        const blob = sha256(image.data);
        const thumb = sha256(image.thumb);
        const { width, height } = image;
        upload = { ...base, size: image.data.length, width, height, blob, thumb, created };
        puts = [
          [blob, image.data],
          [thumb, image.thumb],
        ];
      } else {
        upload = { ...base, size: file.size, blob: file.sha256, created };
        puts = [[file.sha256, file.path]];
      }
      await store.add(upload, quotaBytes === 0 ? Number.MAX_SAFE_INTEGER : quotaBytes);
      try {
        for (const [key, source] of puts) await this.options.blobs.put(key, source);
      } catch (err) {
        await store.discard(owner, upload.id).catch(() => {});
        throw err;
      }
      return attachmentOf(upload);
    } finally {
      await discardTemp(file.path);
    }
  }

  /** The upload `id` if `viewer` may have its bytes (UploadStore.readable), else undefined. */
  async readable(viewer: string, id: string): Promise<UploadRecord | undefined> {
    if (!UPLOAD_ID.test(id)) return undefined;
    return this.options.store.readable(viewer, id);
  }

  /** Discards an upload of `owner` that was not sent; false when there is none. */
  async discard(owner: string, id: string): Promise<boolean> {
    if (!UPLOAD_ID.test(id)) return false;
    return this.options.store.discard(owner, id);
  }

  /**
   * The bytes of `upload` (its thumbnail when `thumb`), or of `range` of them; undefined when
   * there is no such thumbnail or the bytes are gone.
   */
  async open(upload: UploadRecord, thumb: boolean, range?: BlobRange): Promise<Served | undefined> {
    const key = thumb ? upload.thumb : upload.blob;
    if (key === undefined) return undefined;
    const info = await this.options.blobs.stat(key);
    if (!info) return undefined;
    const stream = await this.options.blobs.read(key, range);
    return stream && { stream, size: info.size };
  }

  /**
   * The bytes kept under a blob key that the caller found in a record it may serve (an
   * avatar's, store/profiles-store.ts); undefined when they are gone.
   */
  async openKey(key: string): Promise<Served | undefined> {
    const info = await this.options.blobs.stat(key);
    if (!info) return undefined;
    const stream = await this.options.blobs.read(key);
    return stream && { stream, size: info.size };
  }

  /** The size of the bytes `open` would serve, for a Range check before opening. */
  async size(upload: UploadRecord, thumb: boolean): Promise<number | undefined> {
    const key = thumb ? upload.thumb : upload.blob;
    return key === undefined ? undefined : (await this.options.blobs.stat(key))?.size;
  }

  /**
   * Deletes unsent uploads past their time, then the bytes nothing refers to any more; returns
   * how many of each went.
   */
  async sweep(): Promise<{ expired: number; deleted: number }> {
    const { store, blobs, unsentTtlMs } = this.options;
    const expired = await store.expire(Date.now() - unsentTtlMs);
    let deleted = 0;
    for (;;) {
      const looked = Date.now();
      const decided = looked - this.options.clockSkewMs;
      const keys = await store.garbage(GARBAGE_BATCH);
      const gone: string[] = [];
      for (const key of keys) if (await blobs.delete(key, decided)) gone.push(key);
      await store.forget(gone, looked);
      deleted += gone.length;
      // Keys put since the decision stay listed for the next sweep; stop rather than spin.
      if (keys.length < GARBAGE_BATCH || gone.length === 0) break;
    }
    return { expired, deleted };
  }

  /**
   * Sweeps now and then every `intervalMs` (a quarter of the unsent time, at most a minute);
   * returns a stop function. A failed sweep is logged and tried again at the next turn.
   */
  startSweeper(): () => void {
    const { logger, unsentTtlMs } = this.options;
    const intervalMs = Math.max(1_000, Math.min(60_000, Math.floor(unsentTtlMs / 4)));
    let running = false;
    const run = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        const { expired, deleted } = await this.sweep();
        if (expired > 0 || deleted > 0) logger.info('uploads swept', { expired, deleted });
      } catch (err) {
        logger.error('uploads sweep failed', { err });
      } finally {
        running = false;
      }
    };
    const timer = setInterval(run, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/**
 * Whether a browser may be shown `upload` inline: only an image the server decoded and
 * re-encoded (PNG, JPEG, GIF, WebP, with its dimensions known). Everything else, SVG and HTML
 * included, is served as an attachment to download.
 */
export function servedInline(upload: NewUpload): boolean {
  return isInlineImage(upload.type) && upload.width !== undefined;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
