// Uploads over the wire for the tests: a raw body, bytes back (helpers.ts's api() parses JSON).
import { request } from 'node:http';
import type { Readable } from 'node:stream';

/** An answer with its body as bytes. */
export interface BytesReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  /** The body parsed as JSON, when it is JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: test assertions check the shape themselves
  readonly json: any;
}

/** One request over a fresh connection; `body` a Buffer, or a stream sent chunked. */
export function exchange(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | Readable,
): Promise<BytesReply> {
  return new Promise((resolve, reject) => {
    const all: Record<string, string> = { ...headers };
    if (Buffer.isBuffer(body)) all['Content-Length'] ??= String(body.length);
    const req = request(`${base}${path}`, { method, headers: all, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const type = String(res.headers['content-type'] ?? '');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: bytes,
          json: type.startsWith('application/json') ? JSON.parse(bytes.toString()) : undefined,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body === undefined || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

/** `POST /api/v1/uploads?name=` with `bytes` as the body. */
export function upload(
  base: string,
  auth: Record<string, string>,
  name: string,
  bytes: Buffer,
  type = 'application/octet-stream',
): Promise<BytesReply> {
  const path = `/api/v1/uploads?name=${encodeURIComponent(name)}`;
  return exchange(base, 'POST', path, { ...auth, 'Content-Type': type }, bytes);
}

/** `GET /api/v1/uploads/<id>` (or its thumbnail), with extra headers such as Range. */
export function fetchFile(
  base: string,
  auth: Record<string, string>,
  id: string,
  thumb = false,
  headers: Record<string, string> = {},
): Promise<BytesReply> {
  const path = `/api/v1/uploads/${encodeURIComponent(id)}${thumb ? '/thumb' : ''}`;
  return exchange(base, 'GET', path, { ...auth, ...headers });
}
