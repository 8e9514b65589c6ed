import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
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

/**
 * The files of web/ served at `/assets/<name>`. A fixed list, read once at startup: no part of
 * a request path ever reaches the file system, and a file added to web/ is not served until
 * it is named here. The page's modules import each other relatively, so they all live here.
 */
export const WEB_ASSETS = [
  'style.css',
  'rooms.css',
  'icon.svg',
  'app.js',
  'api.js',
  'stream.js',
  'watchdog.js',
  'model.js',
  'conversation.js',
  'view.js',
  'outbox.js',
  'login.js',
  'composer.js',
  'history.js',
  'sidebar.js',
  'status.js',
  'events.js',
  'reading.js',
  'rooms.js',
  'members.js',
  'typing.js',
  'message-tools.js',
] as const;

/** Content-Type by file extension, for the kinds of file WEB_ASSETS holds. */
const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page's scripts, styles and icon (WEB_ASSETS), each a StaticPage. */
export class StaticAssets {
  private readonly files = new Map<string, StaticPage>();

  constructor(webDir: string, names: readonly string[] = WEB_ASSETS) {
    for (const name of names) {
      const type = ASSET_TYPES[extname(name)];
      if (!type) throw new Error(`no Content-Type for web asset ${name}`);
      this.files.set(name, new StaticPage(join(webDir, name), type));
    }
  }

  /** Serves the asset called `name`; false when there is none (the caller answers 404). */
  serve(req: IncomingMessage, res: ServerResponse, name: string): boolean {
    const file = this.files.get(name);
    if (!file) return false;
    file.serve(req, res);
    return true;
  }
}
