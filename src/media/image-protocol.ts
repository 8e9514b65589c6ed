// The messages between ImageProcessor (the server) and its decoder child (image-worker.ts),
// sent over the IPC channel with `serialization: 'advanced'` (the structured clone algorithm),
// so that the served copy and the thumbnail cross as byte arrays, not as JSON.
import type { ProcessedImage } from './images.js';

/**
 * The niceness the decoder child runs at: the scheduler then favours the server's event loop
 * (nice 0) whenever both want the same core, and the decoder gets what is left.
 */
export const DECODER_NICENESS = 10;

/** The bounds one job is decoded under; the child trusts them, the parent checked them. */
export interface DecodeLimits {
  /** The most pixels (width x height x frames) the image may declare. */
  readonly maxPixels: number;
  /** The most bytes the served copy may have; undefined for no bound. */
  readonly maxOutputBytes: number | undefined;
  /** The thumbnail's bounding box, in pixels on each side. */
  readonly thumbSize: number;
  /** When the job's deadline passes, as a Date.now() value: both pipelines share it. */
  readonly deadline: number;
}

/** One image to decode: the parent sends it once the child is idle (one job at a time). */
export interface DecodeRequest {
  /** Matches the reply to its request, so that a late reply is never taken for another's. */
  readonly id: number;
  readonly path: string;
  readonly type: string;
  readonly limits: DecodeLimits;
}

/** The error codes a decode may end with; anything else from the child is a broken child. */
export const DECODE_ERRORS = ['UPLOAD_IMAGE_INVALID', 'UPLOAD_IMAGE_TOO_LARGE'] as const;

/** How a decode failed: a code of DECODE_ERRORS and a detail safe to show the uploader. */
export interface DecodeFailure {
  readonly code: (typeof DECODE_ERRORS)[number];
  readonly detail: string | undefined;
}

/** The child's answer to one request. */
export type DecodeReply =
  | { readonly id: number; readonly ok: true; readonly image: ProcessedImage }
  | { readonly id: number; readonly ok: false; readonly failure: DecodeFailure };
