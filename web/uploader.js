// One file up to the server (POST /api/v1/uploads, docs/api.md): an XMLHttpRequest, because
// fetch reports no upload progress, and one that can be aborted. The answer is the upload's
// metadata, which a message then names by id.

import { ApiError, call } from './api.js';

/** @typedef {import('../src/domain/events.js').Attachment} Attachment */
/**
 * An upload under way: `done` settles once (the upload, or an ApiError), `abort` cancels.
 * @typedef {object} UploadHandle
 * @property {Promise<Attachment>} done rejects with an ApiError: the server's code, NETWORK
 *   (status 0) when no answer came, ABORTED (status 0) after abort()
 * @property {() => void} abort cancels the request; a no-op once `done` settled
 */

/**
 * With no byte going either way for this long, an upload counts as failed (a network that
 * dropped without a word). Reset by each progress event; it also bounds the server's
 * processing after the last byte (thumbnails), which the server bounds well below this.
 */
const STALL_MS = 60_000;
/** Longest file name the server accepts, in characters (code points). */
const MAX_NAME = 255;

/**
 * The smallest size the server has refused as UPLOAD_TOO_LARGE in this page. The server may
 * close the connection while a file over its cap is still being sent, so that the page sees
 * no answer; a file at least this big is then taken as too big, not as a network failure.
 */
let refusedAt = Number.POSITIVE_INFINITY;

/**
 * True when the server has already refused a file of this size (or smaller) as too large.
 * @param {number} size
 */
export function knownTooBig(size) {
  return size >= refusedAt;
}

/**
 * `name` as the server accepts it (1 to 255 characters, no control characters, / or \):
 * those become '_', a long name keeps its extension, and an empty one becomes 'file'.
 * @param {string} name
 */
export function safeName(name) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, '_').trim();
  const points = [...clean];
  if (points.length === 0) return 'file';
  if (points.length <= MAX_NAME) return clean;
  const dot = clean.lastIndexOf('.');
  const ext = dot > 0 ? [...clean.slice(dot)] : [];
  const keep = ext.length < 16 ? ext : [];
  return points.slice(0, MAX_NAME - keep.length).join('') + keep.join('');
}

/**
 * Sends `file` as upload `name` (safeName it first); `progress(sent, total)` follows the
 * bytes going up. The request carries the session cookie (same origin).
 * @param {Blob} file
 * @param {string} name
 * @param {(sent: number, total: number) => void} progress
 * @returns {UploadHandle}
 */
export function upload(file, name, progress) {
  const xhr = new XMLHttpRequest();
  let settled = false;
  let stall = 0;
  /** @type {(e: ApiError) => void} */
  let fail = () => {};
  /** @type {Promise<Attachment>} */
  const done = new Promise((resolve, reject) => {
    /** @param {ApiError} e */
    fail = (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(stall);
      reject(e);
    };
    const watch = () => {
      clearTimeout(stall);
      stall = window.setTimeout(() => {
        // Failed first: the abort's own event then finds the upload settled.
        fail(new ApiError(0, 'NETWORK', 'the upload stalled'));
        xhr.abort();
      }, STALL_MS);
    };
    xhr.upload.onprogress = (e) => {
      watch();
      progress(e.loaded, e.lengthComputable ? e.total : file.size);
    };
    xhr.onerror = () => {
      const tooBig = knownTooBig(file.size);
      fail(
        tooBig
          ? new ApiError(413, 'UPLOAD_TOO_LARGE', 'the file is larger than this server accepts')
          : new ApiError(0, 'NETWORK', 'cannot reach the server'),
      );
    };
    xhr.onabort = () => fail(new ApiError(0, 'ABORTED', 'cancelled'));
    xhr.onload = () => {
      if (settled) return;
      const body = parse(xhr.responseText);
      if (xhr.status === 201 && body?.upload) {
        settled = true;
        clearTimeout(stall);
        resolve(body.upload);
        return;
      }
      const code = body?.error?.code ?? `HTTP_${xhr.status}`;
      if (code === 'UPLOAD_TOO_LARGE') refusedAt = Math.min(refusedAt, file.size);
      fail(
        new ApiError(xhr.status, code, body?.error?.message ?? `the server answered ${xhr.status}`),
      );
    };
    xhr.open('POST', `/api/v1/uploads?name=${encodeURIComponent(name)}`);
    xhr.send(file);
    watch();
  });
  return {
    done,
    abort: () => {
      if (!settled) xhr.abort();
    },
  };
}

/**
 * Discards upload `id`, which no message carries yet (it would expire unsent anyway). Best
 * effort: a failure is left to that expiry.
 * @param {string} id
 */
export function discard(id) {
  call('DELETE', `uploads/${encodeURIComponent(id)}`).catch(() => {});
}

/**
 * An answer's JSON body, or null.
 * @param {string} text
 * @returns {{ upload?: Attachment, error?: { code?: string, message?: string } } | null}
 */
function parse(text) {
  try {
    const json = JSON.parse(text);
    return json && typeof json === 'object' ? json : null;
  } catch {
    return null;
  }
}
