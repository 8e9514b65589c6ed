import { ChatError } from '../domain/errors.js';
import { DecoderProcess } from './decoder-process.js';
import { FairQueue } from './fair-queue.js';

/** What ImageProcessor makes of one image: the copy to serve and its thumbnail. */
export interface ProcessedImage {
  /** The served copy's type: the input type, as the copy keeps its format. */
  readonly type: string;
  /** Width of the served copy (of one frame), after EXIF orientation was applied. */
  readonly width: number;
  /** Height of the served copy (of one frame), after EXIF orientation was applied. */
  readonly height: number;
  /**
   * The served copy: re-encoded in the input's format with orientation applied and no metadata
   * at all (no EXIF, GPS, XMP, IPTC, ICC or comments); an animated GIF or WebP stays animated.
   */
  readonly data: Buffer;
  /** The first frame, oriented, fitted in thumbSize x thumbSize, never enlarged, no metadata. */
  readonly thumb: Buffer;
  /** The thumbnail's type: always WebP. */
  readonly thumbType: 'image/webp';
  /** The thumbnail's width. */
  readonly thumbWidth: number;
  /** The thumbnail's height. */
  readonly thumbHeight: number;
}

/** ImageProcessor's bounds; each default is stated next to its option. */
export interface ImageProcessorOptions {
  /**
   * The most pixels (width x height x frames) an image may declare; more is refused with
   * UPLOAD_IMAGE_TOO_LARGE after reading the header only. Default 40_000_000: a 12 MP photo
   * (4000x3000) passes, and so does a 6000x6000 scan; a decompression bomb (a few kilobytes
   * declaring 50000x50000, 7.5 GB of RGB) does not. A decode holds about 4 bytes per pixel, so
   * this also bounds the memory one job takes (about 160 MB at the default).
   */
  readonly maxPixels?: number;
  /**
   * How long one image may take, header to thumbnail (one deadline for both pipelines), in ms;
   * then its caller gets UPLOAD_IMAGE_INVALID ("took longer than …") and the decoder child is
   * killed. Default 10_000: a 12 MP JPEG takes about 0.3 s, and a small file that takes longer
   * than this (a lossless WebP declaring 6300x6300 takes about 17 s) is an attack, not a photo.
   */
  readonly timeoutMs?: number;
  /** How many images may wait, all owners together, behind the one decoding. Default 16. */
  readonly maxQueue?: number;
  /**
   * How many images one owner may have waiting (besides one decoding); more get UPLOAD_BUSY.
   * Default 2: enough for a person pasting a few screenshots, and one owner cannot fill the
   * queue.
   */
  readonly maxQueuePerOwner?: number;
  /**
   * How long an image may wait for its turn, in ms; then its caller gets UPLOAD_BUSY. Default
   * 30_000: behind 16 others at 10 s each an upload could otherwise wait minutes.
   */
  readonly maxWaitMs?: number;
  /**
   * The most bytes the served copy may have; a larger one is refused with
   * UPLOAD_IMAGE_TOO_LARGE. Default: no bound. The server passes --max-upload-bytes: a tiny
   * lossless image of a large flat area can otherwise re-encode to tens of megabytes.
   */
  readonly maxOutputBytes?: number;
  /** The thumbnail's bounding box, in pixels on each side. Default 400. */
  readonly thumbSize?: number;
}

/** How long a client told UPLOAD_BUSY should wait before trying again, in ms. */
const BUSY_RETRY_MS = 5_000;

/**
 * Decodes uploaded images, one at a time, into a metadata-free copy to serve and a WebP
 * thumbnail. Every failure is a ChatError: UPLOAD_IMAGE_TOO_LARGE (too many pixels, or a served
 * copy over maxOutputBytes), UPLOAD_IMAGE_INVALID (not decodable as its type, truncated, too
 * slow, or the decoder died), UPLOAD_BUSY (a queue bound reached, or waited too long) or
 * SERVER_UNAVAILABLE (after close()).
 *
 * The decoding runs in one child process (image-worker.ts, started on the first image, again
 * after it died or was killed) at nice 10, so that libvips's threads neither share the server's
 * event loop's process nor win its core from it, and a decoder crash or OOM kill costs one
 * image. This process does not load sharp. Waiting images are served round-robin by owner.
 */
export class ImageProcessor {
  private readonly maxPixels: number;
  private readonly timeoutMs: number;
  private readonly thumbSize: number;
  private readonly maxOutputBytes: number | undefined;
  private readonly queue: FairQueue;
  private readonly decoder = new DecoderProcess();

  constructor(options: ImageProcessorOptions = {}) {
    const {
      maxPixels = 40_000_000,
      timeoutMs = 10_000,
      maxQueue = 16,
      maxQueuePerOwner = 2,
      maxWaitMs = 30_000,
      maxOutputBytes,
      thumbSize = 400,
    } = options;
    const bounds = {
      maxPixels,
      timeoutMs,
      maxWaitMs,
      thumbSize,
      maxOutputBytes: maxOutputBytes ?? 1,
    };
    for (const [name, value] of Object.entries(bounds)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be >= 1`);
    }
    this.maxPixels = maxPixels;
    this.timeoutMs = timeoutMs;
    this.thumbSize = thumbSize;
    this.maxOutputBytes = maxOutputBytes;
    this.queue = new FairQueue({
      maxWaiting: maxQueue,
      maxWaitingPerOwner: maxQueuePerOwner,
      maxWaitMs,
      timeoutMs,
      busy: () => new ChatError('UPLOAD_BUSY', undefined, BUSY_RETRY_MS),
      timedOut: () => new ChatError('UPLOAD_IMAGE_INVALID', `took longer than ${timeoutMs} ms`),
      closed: () => new ChatError('SERVER_UNAVAILABLE'),
    });
  }

  /** The decoder child's pid while one runs (it starts on the first image); for tests. */
  get decoderPid(): number | undefined {
    return this.decoder.pid;
  }

  /**
   * Makes the served copy and the thumbnail of the image at `path`, whose `type` was sniffed
   * from its bytes and must be one of INLINE_IMAGE_TYPES, for `owner` (whose waiting images
   * take turns with other owners'). The file must be decodable by that type's decoder and no
   * other: an SVG or a PDF labelled image/png is refused, not rendered. `owner` defaults to
   * one shared name, which puts all such callers in one turn.
   */
  process(path: string, type: string, owner = ''): Promise<ProcessedImage> {
    return this.queue.run(owner, (signal) => this.decode(path, type, signal));
  }

  /**
   * Refuses new images and rejects those waiting with SERVER_UNAVAILABLE; resolves when the
   * image decoding now (if any) is done and the decoder child has exited.
   */
  async close(): Promise<void> {
    await this.queue.close();
    await this.decoder.close();
  }

  /**
   * The work of one image, run when its turn comes; never two at once. Its deadline starts now
   * and covers both pipelines; `signal` aborts when the caller was answered with a timeout, and
   * the decoder child is then killed.
   */
  protected decode(path: string, type: string, signal: AbortSignal): Promise<ProcessedImage> {
    const limits = {
      maxPixels: this.maxPixels,
      maxOutputBytes: this.maxOutputBytes,
      thumbSize: this.thumbSize,
      deadline: Date.now() + this.timeoutMs,
    };
    return this.decoder.decode(path, type, limits, signal);
  }
}
