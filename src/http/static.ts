import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/** Content-Type by file extension: the only kinds of file of web/ served as assets. */
const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  // The installable app (web/manifest.webmanifest) and its icons (scripts/icons.mjs).
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
};

/**
 * The files of web/ served at `/assets/<name>`: every plain file directly in the folder whose
 * extension ASSET_TYPES knows, listed once at startup, so that a module added to web/ is
 * served without being named anywhere. No subfolder, no dotfile, nothing else (the HTML pages
 * have their own routes, and tsconfig.json is not for browsers); no part of a request path
 * ever reaches the file system, since a request only picks a name from this list.
 */
export function webAssets(webDir: string): string[] {
  return readdirSync(webDir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && ASSET_TYPES[extname(e.name)])
    .map((e) => e.name)
    .sort();
}

/**
 * The libraries the page imports (web/markdown.js), served at `/assets/<name>` beside web/'s
 * own files: each a self-contained ES module build of a dependency, found through the
 * package's exports as node resolves it from here, so that tsx, dist/ and an installed
 * ssechat serve the copy in their node_modules. web/<name without .js>.d.ts gives the page's
 * type check the same module's types.
 */
export const VENDOR_MODULES: Readonly<Record<string, string>> = {
  // markdown-it's browser build bundles its own dependencies (entities, linkify-it, mdurl,
  // punycode, uc.micro): it imports nothing.
  'markdown-it.js': 'markdown-it/browser',
  // DOMPurify's ES module build imports nothing either.
  'purify.js': 'dompurify',
};

/** The files of VENDOR_MODULES: asset name to path, resolved once at startup. */
export function vendorAssets(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, specifier] of Object.entries(VENDOR_MODULES)) {
    files.set(name, fileURLToPath(import.meta.resolve(specifier)));
  }
  return files;
}

/** The page's scripts, styles and icon (webAssets), and its libraries (vendorAssets). */
export class StaticAssets {
  private readonly files = new Map<string, StaticPage>();

  constructor(
    webDir: string,
    names: readonly string[] = webAssets(webDir),
    vendor: ReadonlyMap<string, string> = vendorAssets(),
  ) {
    for (const name of names) {
      const type = ASSET_TYPES[extname(name)];
      if (!type) throw new Error(`no Content-Type for web asset ${name}`);
      this.files.set(name, new StaticPage(join(webDir, name), type));
    }
    for (const [name, path] of vendor) {
      // A file of web/ by the same name would be shadowed without a word.
      if (this.files.has(name)) throw new Error(`web asset ${name} is also a library's name`);
      this.files.set(name, new StaticPage(path, ASSET_TYPES['.js'] ?? ''));
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

/** A `'sha256-…'` CSP source for inline code `text`, hashed as the browser hashes it (UTF-8). */
function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

// What inlineCodePolicy reads of a page: comments, <script> and <style> elements, start tags,
// and one tag's attributes (a quoted value may hold a '>', as classic.html's handlers do).
const COMMENT = /<!--[\s\S]*?-->/g;
const SCRIPT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
const STYLE = /<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi;
const START_TAG =
  /<[a-z][^\s/>]*((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/gi;
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/**
 * The Content-Security-Policy of a page whose code is all inline, as the seed's classic.html
 * is (it stays byte for byte the seed's, so it cannot move its code to files): its <script>
 * and <style> elements, and its event-handler (`on…`) and `style` attributes, are allowed by
 * their sha256 hashes ('unsafe-hashes' is what lets a hash allow an attribute), computed from
 * the page itself at startup, so nothing injected into it would run. It may talk to its own
 * origin only, and no other page may frame it (clickjacking). Throws when the page has code
 * it cannot hash: an external script, or a character reference in a handler (the browser
 * hashes the decoded value).
 */
export function inlineCodePolicy(html: string): string {
  // The HTML parser turns CR LF and CR into LF before any script or attribute sees them.
  let rest = html.replace(/\r\n?/g, '\n').replace(COMMENT, '');
  const scripts = new Set<string>();
  const handlers = new Set<string>();
  const styles = new Set<string>();
  rest = rest.replace(SCRIPT, (_all, attrs: string, code: string) => {
    if (/\ssrc\s*=/i.test(` ${attrs}`)) throw new Error('inlineCodePolicy: an external script');
    scripts.add(hashSource(code));
    return '';
  });
  rest = rest.replace(STYLE, (_all, css: string) => {
    styles.add(hashSource(css));
    return '';
  });
  for (const tag of rest.matchAll(START_TAG)) {
    for (const [, name = '', ...quoted] of (tag[1] ?? '').matchAll(ATTRIBUTE)) {
      const value = quoted.find((v) => v !== undefined) ?? '';
      const lower = name.toLowerCase();
      if (!lower.startsWith('on') && lower !== 'style') continue;
      if (value.includes('&')) throw new Error(`inlineCodePolicy: a reference in ${name}`);
      (lower === 'style' ? styles : handlers).add(hashSource(value));
    }
  }
  const script = [...scripts, ...(handlers.size > 0 ? ["'unsafe-hashes'", ...handlers] : [])];
  const style = styles.size > 0 ? ["'unsafe-hashes'", ...styles] : [];
  return [
    "default-src 'none'",
    `script-src ${script.length === 0 ? "'none'" : script.join(' ')}`,
    `style-src ${style.length === 0 ? "'none'" : style.join(' ')}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The headers of a page served with inlineCodePolicy: its CSP, and no framing for old browsers. */
export function inlineCodeHeaders(path: string): Record<string, string> {
  return {
    'Content-Security-Policy': inlineCodePolicy(readFileSync(path, 'utf8')),
    'X-Frame-Options': 'DENY',
  };
}
