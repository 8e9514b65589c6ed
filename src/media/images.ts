import sharp, { type Sharp } from 'sharp';
import { ChatError } from '../domain/errors.js';
import { SerialQueue } from './serial-queue.js';
import { type InlineImageType, isInlineImage } from './sniff.js';

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
   * How long one image may take, header to thumbnail, in ms; then its caller gets
   * UPLOAD_IMAGE_INVALID ("took longer than …"). Default 20_000. sharp is told the same, rounded
   * up to whole seconds, so that libvips stops the work too.
   */
  readonly timeoutMs?: number;
  /** How many images may wait behind the one decoding; more get UPLOAD_BUSY. Default 16. */
  readonly maxQueue?: number;
  /** The thumbnail's bounding box, in pixels on each side. Default 400. */
  readonly thumbSize?: number;
}

/** The libvips loader each inline type must be decoded by, as metadata().format names it. */
const FORMAT: Record<InlineImageType, 'png' | 'jpeg' | 'gif' | 'webp'> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** How long a client told UPLOAD_BUSY should wait before trying again, in ms. */
const BUSY_RETRY_MS = 5_000;

let sharpConfigured = false;

/**
 * Sets sharp's process-wide knobs, once. concurrency(1): libvips otherwise uses a thread per core
 * for each image, and this machine's two cores are shared with the chat's event loop; with one
 * image at a time (the queue) and one thread per image, image work holds at most one core.
 * cache(false): libvips's operation cache (50 MB by default) keeps decoded images for reuse, but
 * no upload is decoded twice, so it would only hold memory.
 */
function configureSharp(): void {
  if (sharpConfigured) return;
  sharpConfigured = true;
  sharp.concurrency(1);
  sharp.cache(false);
}

/**
 * Decodes uploaded images, one at a time, into a metadata-free copy to serve and a WebP
 * thumbnail. Every failure is a ChatError: UPLOAD_IMAGE_TOO_LARGE (too many pixels),
 * UPLOAD_IMAGE_INVALID (not decodable as its type, truncated, or too slow), UPLOAD_BUSY (the
 * queue is full) or SERVER_UNAVAILABLE (after close()). sharp's work runs on libuv's threadpool,
 * so the event loop stays free while an image decodes.
 */
export class ImageProcessor {
  private readonly maxPixels: number;
  private readonly timeoutSeconds: number;
  private readonly thumbSize: number;
  private readonly queue: SerialQueue;

  constructor(options: ImageProcessorOptions = {}) {
    const { maxPixels = 40_000_000, timeoutMs = 20_000, maxQueue = 16, thumbSize = 400 } = options;
    for (const [name, value] of Object.entries({ maxPixels, timeoutMs, thumbSize })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be >= 1`);
    }
    configureSharp();
    this.maxPixels = maxPixels;
    // sharp takes whole seconds, from 1 to 3600 (0 would mean no limit).
    this.timeoutSeconds = Math.min(3600, Math.ceil(timeoutMs / 1000));
    this.thumbSize = thumbSize;
    this.queue = new SerialQueue({
      maxWaiting: maxQueue,
      timeoutMs,
      busy: () => new ChatError('UPLOAD_BUSY', undefined, BUSY_RETRY_MS),
      timedOut: () => new ChatError('UPLOAD_IMAGE_INVALID', `took longer than ${timeoutMs} ms`),
      closed: () => new ChatError('SERVER_UNAVAILABLE'),
    });
  }

  /**
   * Makes the served copy and the thumbnail of the image at `path`, whose `type` was sniffed
   * from its bytes and must be one of INLINE_IMAGE_TYPES. The file must be decodable by that
   * type's decoder and no other: an SVG or a PDF labelled image/png is refused, not rendered.
   * Waits its turn behind at most maxQueue others.
   */
  process(path: string, type: string): Promise<ProcessedImage> {
    return this.queue.run(() => this.decode(path, type).catch(asChatError));
  }

  /**
   * Refuses new images and rejects those waiting with SERVER_UNAVAILABLE; resolves when the
   * image decoding now (if any) is done.
   */
  close(): Promise<void> {
    return this.queue.close();
  }

  /** The work of one image, run when its turn comes; never two at once. */
  protected async decode(path: string, type: string): Promise<ProcessedImage> {
    if (!isInlineImage(type)) throw new ChatError('UPLOAD_IMAGE_INVALID', `not decoded: ${type}`);
    const base = { failOn: 'error', limitInputPixels: this.maxPixels } as const;
    // metadata() reads the header only: nothing is decoded before the size is known.
    const meta = await sharp(path, base).metadata();
    if (meta.format !== FORMAT[type]) {
      throw new ChatError('UPLOAD_IMAGE_INVALID', `the bytes are not ${type}`);
    }
    const pages = meta.pages ?? 1;
    const { width, height } = meta;
    if (!width || !height) throw new ChatError('UPLOAD_IMAGE_INVALID', 'no dimensions');
    if (width * height * pages > this.maxPixels) {
      throw new ChatError('UPLOAD_IMAGE_TOO_LARGE', `${width}x${height}x${pages}`);
    }
    const animated = pages > 1;
    // libvips cannot rotate a multi-page image, so an animation keeps its stored orientation
    // (GIF has none; an animated WebP with an EXIF orientation is rare) and loses the tag.
    const input = { ...base, animated, autoOrient: !animated };
    const served = await encode(sharp(path, input), type)
      .timeout({ seconds: this.timeoutSeconds })
      .toBuffer({ resolveWithObject: true });
    // A second pass from the file rather than from the served copy: JPEG and WebP then shrink
    // while decoding, which is most of the speed of a thumbnail. `animated` is off: first frame.
    const thumb = await sharp(path, { ...base, autoOrient: !animated })
      .resize(this.thumbSize, this.thumbSize, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .timeout({ seconds: this.timeoutSeconds })
      .toBuffer({ resolveWithObject: true });
    return {
      type,
      width: served.info.width,
      height: served.info.pageHeight ?? served.info.height,
      data: served.data,
      thumb: thumb.data,
      thumbType: 'image/webp',
      thumbWidth: thumb.info.width,
      thumbHeight: thumb.info.height,
    };
  }
}

/**
 * The encoder for the served copy, in the input's format. sharp writes no metadata unless told
 * to (keepExif, keepIccProfile, withMetadata…), and none of those is called here. Settings aim at
 * speed at a quality no one notices: JPEG 85 without mozjpeg's slower trellis search, PNG zlib
 * level 6 (the size/speed knee), WebP 85 at the default effort.
 */
function encode(image: Sharp, type: InlineImageType): Sharp {
  switch (type) {
    case 'image/jpeg':
      return image.jpeg({ quality: 85, mozjpeg: false });
    case 'image/png':
      return image.png({ compressionLevel: 6 });
    case 'image/gif':
      return image.gif();
    case 'image/webp':
      return image.webp({ quality: 85 });
  }
}

/**
 * Every failure as a ChatError: sharp's "exceeds pixel limit" (limitInputPixels, the second guard
 * behind the header check) is UPLOAD_IMAGE_TOO_LARGE, its timeout and any other error of sharp or
 * libvips UPLOAD_IMAGE_INVALID: bytes that do not decode are the uploader's problem, not a 500.
 */
function asChatError(err: unknown): never {
  if (err instanceof ChatError) throw err;
  const message = err instanceof Error ? err.message : String(err);
  if (/exceeds pixel limit/i.test(message)) throw new ChatError('UPLOAD_IMAGE_TOO_LARGE');
  if (/timeout/i.test(message)) throw new ChatError('UPLOAD_IMAGE_INVALID', 'took too long');
  throw new ChatError('UPLOAD_IMAGE_INVALID');
}
