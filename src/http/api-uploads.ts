import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { RateLimiter } from '../auth/rate-limit.js';
import { ChatError } from '../domain/errors.js';
import type { UploadRecord } from '../store/uploads-store.js';
import { servedInline, type Uploads } from '../uploads/uploads.js';
import type { Admission } from './admission.js';
import { decodeSegment } from './api-paths.js';
import type { Auth } from './auth.js';
import { sendEmpty, sendJson } from './reply.js';
import type { Handler } from './router.js';

/** What the upload routes need from the JSON API. */
export interface ApiUploadsDeps {
  readonly uploads: Uploads;
  readonly auth: Auth;
  readonly admission: Admission;
  /** `--max-upload-bytes`: a declared Content-Length above it is refused before reading. */
  readonly maxBytes: number;
}

/**
 * Uploads each user may make per minute, on top of the send flood guards (Admission.send):
 * each costs a disk write and, for an image, a decode. "Each user" is Admission.userKey.
 */
const UPLOADS = { limit: 60, windowMs: 60_000, maxKeys: 100_000 };
/**
 * In open mode, uploads one client address may make per hour whatever nicks it claims: a nick
 * is only a claim there, so each new one would bring a new quota (`--upload-quota-bytes`).
 * With the default cap that is at most 3 GiB an hour from one address.
 */
const CLAIMED_UPLOADS = { limit: 120, windowMs: 3_600_000, maxKeys: 10_000 };

/**
 * Headers of every served file. nosniff and a sandboxing CSP: a file is never run as a page
 * of this origin, whatever its bytes, even when opened directly. Caching is private (the
 * answer depends on who asks) and revalidated (who may see it can change).
 */
export const SAFE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "sandbox; default-src 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin',
  // Asked again each time (a 304 while the ETag holds): a file whose message was deleted, or
  // of a room its reader left, is not served from the browser's cache afterwards.
  'Cache-Control': 'private, no-cache',
  'Accept-Ranges': 'bytes',
};

/**
 * `/api/v1/uploads` and below (docs/api.md, Files): receives a file, serves it (and its
 * thumbnail) to whoever may see a message that carries it, and discards one not yet sent.
 */
export class ApiUploads {
  private readonly rate = new RateLimiter(UPLOADS);
  private readonly claimed = new RateLimiter(CLAIMED_UPLOADS);

  constructor(private readonly deps: ApiUploadsDeps) {}

  /** `POST /api/v1/uploads?name=`: the raw body is the file. */
  readonly upload: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const wait = this.rate.hit(this.deps.admission.userKey(req, nick));
    if (wait > 0) throw refuse(res, new ChatError('CHAT_RATE_LIMITED', 'uploads', wait));
    const address = this.deps.admission.claimedKey(req);
    const waitAddress = address === undefined ? 0 : this.claimed.hit(address);
    if (waitAddress > 0) {
      throw refuse(
        res,
        new ChatError('CHAT_RATE_LIMITED', 'uploads from this address', waitAddress),
      );
    }
    const declaredLength = Number(req.headers['content-length'] ?? 0);
    if (declaredLength > this.deps.maxBytes) {
      throw refuse(res, new ChatError('UPLOAD_TOO_LARGE', `at most ${this.deps.maxBytes} bytes`));
    }
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name');
    try {
      const declared = req.headers['content-type'] ?? '';
      const length = req.headers['content-length'] === undefined ? undefined : declaredLength;
      const upload = await this.deps.uploads.receive(nick, name, req, declared, length);
      sendJson(res, 201, { upload });
    } catch (err) {
      // The rest of the body was not read: the connection cannot carry another request.
      throw refuse(res, err);
    }
  };

  /** `DELETE /api/v1/uploads/<id>`: discards the caller's upload that was not sent. */
  readonly discard: Handler = async (req, res, params) => {
    const { nick } = await this.deps.auth.require(req);
    const id = decodeSegment(params.id ?? '');
    if (!(await this.deps.uploads.discard(nick, id))) throw new ChatError('UPLOAD_NOT_FOUND');
    sendEmpty(res, 204);
  };

  /** `GET /api/v1/uploads/<id>`: the file. */
  readonly file: Handler = (req, res, params) => this.serve(req, res, params.id ?? '', false);

  /** `GET /api/v1/uploads/<id>/thumb`: an image's thumbnail (WebP). */
  readonly thumb: Handler = (req, res, params) => this.serve(req, res, params.id ?? '', true);

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    rawId: string,
    thumb: boolean,
  ): Promise<void> {
    const { nick } = await this.deps.auth.require(req);
    const upload = await this.deps.uploads.readable(nick, decodeSegment(rawId));
    if (!upload) throw new ChatError('UPLOAD_NOT_FOUND');
    const size = await this.deps.uploads.size(upload, thumb);
    if (size === undefined) throw new ChatError('UPLOAD_NOT_FOUND');
    const etag = `"${thumb ? upload.thumb : upload.blob}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag, ...SAFE_HEADERS });
      res.end();
      return;
    }
    const ifRange = req.headers['if-range'];
    const range = parseRange(
      req.headers.range,
      size,
      typeof ifRange === 'string' ? ifRange : undefined,
      etag,
    );
    if (range === 'unsatisfiable') {
      res.setHeader('Content-Range', `bytes */${size}`);
      throw new ChatError('HTTP_RANGE_NOT_SATISFIABLE');
    }
    const served = await this.deps.uploads.open(upload, thumb, range);
    if (!served) throw new ChatError('UPLOAD_NOT_FOUND');
    const headers: Record<string, string | number> = {
      ...SAFE_HEADERS,
      ETag: etag,
      ...describe(upload, thumb),
      'Content-Length': range ? range.end - range.start + 1 : size,
    };
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      served.stream.destroy();
      res.end();
      return;
    }
    // A reader who goes away ends the read; a read that fails cuts the answer short.
    await pipeline(served.stream, res).catch(() => res.destroy());
  }
}

/** Content-Type and Content-Disposition: inline only for the images the server decoded. */
function describe(upload: UploadRecord, thumb: boolean): Record<string, string> {
  if (thumb) return { 'Content-Type': 'image/webp', 'Content-Disposition': 'inline' };
  const name = encodeURIComponent(upload.name);
  // The ASCII fallback keeps only safe characters: no quote or backslash can end it early.
  const ascii = upload.name.replace(/[^\w.() -]/g, '_');
  const filename = `filename="${ascii}"; filename*=UTF-8''${name}`;
  if (servedInline(upload)) {
    return { 'Content-Type': upload.type, 'Content-Disposition': `inline; ${filename}` };
  }
  return { 'Content-Type': upload.type, 'Content-Disposition': `attachment; ${filename}` };
}

/**
 * The byte range a Range header asks for (one range of `bytes=`; several, or a unit we do not
 * know, get the whole file as RFC 9110 allows), undefined for the whole file, or
 * 'unsatisfiable' (416). An If-Range that is not the current ETag also means the whole file.
 */
export function parseRange(
  header: string | undefined,
  size: number,
  ifRange: string | undefined,
  etag: string,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined || (ifRange !== undefined && ifRange !== etag)) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    // The last n bytes.
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    // An invalid range (its end before its start) is ignored: the whole file (RFC 9110, 14.2).
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || start >= size) return 'unsatisfiable';
  return { start, end };
}

/** An error for a request whose body was not read whole: its connection closes after it. */
function refuse(res: ServerResponse, err: unknown): unknown {
  res.setHeader('Connection', 'close');
  return err;
}
