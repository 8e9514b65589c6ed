// The sharp pipelines of one uploaded image. Loaded by the decoder child (image-worker.ts) only:
// the server process never loads sharp, and so never runs libvips threads beside its event loop.
import sharp, { type Sharp } from 'sharp';
import type { DecodeFailure, DecodeLimits } from './image-protocol.js';
import type { ProcessedImage } from './images.js';
import { type InlineImageType, isInlineImage } from './sniff.js';

/** The libvips loader each inline type must be decoded by, as metadata().format names it. */
const FORMAT: Record<InlineImageType, 'png' | 'jpeg' | 'gif' | 'webp'> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/**
 * Sets sharp's process-wide knobs; call once, before the first image. concurrency(1): libvips
 * otherwise uses a thread per core for each image, and this machine's cores are shared with the
 * chat's event loop; with one image at a time and one thread per image, image work holds at
 * most one core (and that at a lower priority: see image-worker.ts). cache(false): libvips's
 * operation cache (50 MB by default) keeps decoded images for reuse, but no upload is decoded
 * twice, so it would only hold memory.
 */
export function configureSharp(): void {
  sharp.concurrency(1);
  sharp.cache(false);
}

/**
 * Makes the served copy and the thumbnail of the image at `path` (see ProcessedImage), decoded
 * by `type`'s decoder and no other, within `limits`. Throws its own refusals or whatever sharp
 * throws; decodeFailure() maps both to a DecodeFailure.
 */
export async function decodeImage(
  path: string,
  type: string,
  limits: DecodeLimits,
): Promise<ProcessedImage> {
  if (!isInlineImage(type)) throw refuse('UPLOAD_IMAGE_INVALID', `not decoded: ${type}`);
  const base = { failOn: 'error', limitInputPixels: limits.maxPixels } as const;
  // metadata() reads the header only: nothing is decoded before the size is known.
  const meta = await sharp(path, base).metadata();
  if (meta.format !== FORMAT[type]) {
    throw refuse('UPLOAD_IMAGE_INVALID', `the bytes are not ${type}`);
  }
  const pages = meta.pages ?? 1;
  const { width, height } = meta;
  if (!width || !height) throw refuse('UPLOAD_IMAGE_INVALID', 'no dimensions');
  if (width * height * pages > limits.maxPixels) {
    throw refuse('UPLOAD_IMAGE_TOO_LARGE', `${width}x${height}x${pages}`);
  }
  const animated = pages > 1;
  // libvips cannot rotate a multi-page image, so an animation keeps its stored orientation
  // (GIF has none; an animated WebP with an EXIF orientation is rare) and loses the tag.
  const input = { ...base, animated, autoOrient: !animated };
  const served = await encode(sharp(path, input), type)
    .timeout({ seconds: secondsLeft(limits.deadline) })
    .toBuffer({ resolveWithObject: true });
  // A few kilobytes of lossless WebP or PNG can declare a large flat image and re-encode to
  // tens of megabytes: the served copy is held to what the server accepts as an upload.
  if (limits.maxOutputBytes !== undefined && served.data.length > limits.maxOutputBytes) {
    throw refuse('UPLOAD_IMAGE_TOO_LARGE', `re-encoded to ${served.data.length} bytes`);
  }
  // A second pass from the file rather than from the served copy: JPEG and WebP then shrink
  // while decoding, which is most of the speed of a thumbnail. `animated` is off: first frame.
  const thumb = await sharp(path, { ...base, autoOrient: !animated })
    .resize(limits.thumbSize, limits.thumbSize, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .timeout({ seconds: secondsLeft(limits.deadline) })
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

/**
 * What is left of the job's time in sharp's unit, whole seconds from 1 to 3600 (0 would mean no
 * limit). Rounded up, so libvips's own timeout comes after the parent's kill, not before: it is
 * the second guard, for a child whose parent is gone.
 */
function secondsLeft(deadline: number): number {
  return Math.min(3600, Math.max(1, Math.ceil((deadline - Date.now()) / 1000)));
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

/** A refusal decided here rather than by sharp: it crosses to the parent as it is. */
class Refusal extends Error {
  readonly failure: DecodeFailure;
  constructor(failure: DecodeFailure) {
    super(failure.detail ?? failure.code);
    this.failure = failure;
  }
}

/** A Refusal of `code` with `detail`, to throw. */
function refuse(code: DecodeFailure['code'], detail: string): Refusal {
  return new Refusal({ code, detail });
}

/**
 * Every failure as a DecodeFailure: a refusal of decodeImage's own keeps its code and detail;
 * sharp's "exceeds pixel limit" (limitInputPixels, the second guard behind the header check) is
 * UPLOAD_IMAGE_TOO_LARGE, its timeout and any other error of sharp or libvips
 * UPLOAD_IMAGE_INVALID: bytes that do not decode are the uploader's problem, not a 500.
 */
export function decodeFailure(err: unknown): DecodeFailure {
  if (err instanceof Refusal) return err.failure;
  const message = err instanceof Error ? err.message : String(err);
  if (/exceeds pixel limit/i.test(message)) {
    return { code: 'UPLOAD_IMAGE_TOO_LARGE', detail: undefined };
  }
  if (/timeout/i.test(message)) return { code: 'UPLOAD_IMAGE_INVALID', detail: 'took too long' };
  return { code: 'UPLOAD_IMAGE_INVALID', detail: undefined };
}
