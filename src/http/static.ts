import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Finds the web/ folder of the package: from src/http when run with tsx, from dist/src/http
 * when built, and from an installed package alike.
 */
export function findWebDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'web', 'index.html'))) return join(dir, 'web');
    dir = dirname(dir);
  }
  throw new Error('cannot find the web/ folder beside the ssechat package');
}

/**
 * A page read once at startup and served from memory, with an ETag so that a reload costs a
 * 304. The page is small and fixed, so the hot path is two calls on a prepared buffer.
 */
export class StaticPage {
  private readonly body: Buffer;
  private readonly etag: string;
  private readonly headers: Record<string, string | number>;

  constructor(path: string, contentType: string, extraHeaders: Record<string, string> = {}) {
    this.body = readFileSync(path);
    this.etag = `"${createHash('sha256').update(this.body).digest('base64url').slice(0, 22)}"`;
    this.headers = {
      'Content-Type': contentType,
      'Content-Length': this.body.length,
      'Cache-Control': 'no-cache',
      ETag: this.etag,
      'X-Content-Type-Options': 'nosniff',
      ...extraHeaders,
    };
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers['if-none-match'] === this.etag) {
      res.writeHead(304, { ETag: this.etag, 'Cache-Control': 'no-cache' });
      res.end();
      return;
    }
    res.writeHead(200, this.headers);
    // node:http sends no body for HEAD by itself.
    res.end(this.body);
  }
}
