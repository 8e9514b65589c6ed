import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimiter } from '../auth/rate-limit.js';
import type { ChatService } from '../core/chat.js';
import { ChatError } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import { apiMessage } from './api-format.js';
import type { Auth } from './auth.js';
import type { JsonBody } from './body.js';
import { sendEmpty } from './reply.js';
import type { Handler } from './router.js';

/**
 * Exports each user may start per minute: an export reads every message the user sees, so
 * one client asking in a loop would read the whole log again and again. Per process, by nick.
 */
const EXPORTS = { limit: 1, windowMs: 60_000, maxKeys: 100_000 };
/**
 * Exports one process runs at once, whoever asks: each holds a Store reader busy page after
 * page, and the users of the chat share those. One more gets 503 ACCOUNT_EXPORT_BUSY.
 */
export const MAX_CONCURRENT_EXPORTS = 4;
/**
 * Longest an export may take, however slowly its client reads (a stalled reader would hold
 * one of MAX_CONCURRENT_EXPORTS forever): after it the connection is cut.
 */
const EXPORT_DEADLINE_MS = 10 * 60_000;
/**
 * Longest an export waits for its client to take what it wrote (a drain): a client that stops
 * reading is cut off after it, rather than holding one of MAX_CONCURRENT_EXPORTS, which every
 * user of the process shares, until EXPORT_DEADLINE_MS. A client that reads a trickle still
 * keeps its slot up to that deadline.
 */
const EXPORT_STALL_MS = 30_000;

/** What the account routes need from the JSON API. */
export interface ApiAccountDeps {
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly logger: Logger;
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
}

/** `DELETE /api/v1/account` and `GET /api/v1/account/export` (docs/api.md, Your account). */
export class ApiAccount {
  private readonly exportsPerUser = new RateLimiter(EXPORTS);
  private running = 0;

  constructor(private readonly deps: ApiAccountDeps) {}

  /**
   * `DELETE /api/v1/account` with `{"password"}`: deletes the caller's account (accounts mode)
   * after checking the password again. Every session, token, ticket and stream of theirs ends
   * on every process (core/account-deletion.ts); this browser's cookie is cleared.
   */
  readonly remove: Handler = async (req, res) => {
    const identity = await this.deps.auth.require(req);
    const body = await this.deps.body(req, res);
    await this.deps.auth.reauthenticate(req, identity, body.password);
    // Another request of theirs may have deleted it a moment ago: then they are gone anyway.
    if (!(await this.deps.chat.accounts.delete(identity.nick)))
      throw new ChatError('AUTH_REQUIRED');
    this.deps.auth.clearCookie(req, res);
    sendEmpty(res, 204);
  };

  /**
   * `GET /api/v1/account/export`: a JSON download of the caller's account, rooms and the
   * messages they see (core/account-export.ts), written page by page as the client reads it.
   */
  readonly export: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    if (this.running >= MAX_CONCURRENT_EXPORTS) throw new ChatError('ACCOUNT_EXPORT_BUSY');
    const wait = this.exportsPerUser.hit(nick);
    if (wait > 0) throw new ChatError('CHAT_RATE_LIMITED', 'one export a minute', wait);
    this.running++;
    const deadline = setTimeout(() => res.destroy(), EXPORT_DEADLINE_MS);
    try {
      await this.write(req, res, nick);
    } finally {
      clearTimeout(deadline);
      this.running--;
    }
  };

  private async write(req: IncomingMessage, res: ServerResponse, nick: string): Promise<void> {
    const { exports } = this.deps.chat;
    const now = Date.now();
    // Read before the headers go, so that a Store failure is still an ordinary error answer.
    const account = await exports.account(nick);
    const rooms = (await exports.rooms(nick)).map((r) => ({
      name: r.name,
      role: r.role,
      visibility: r.visibility,
      history: r.history,
      created: r.created,
    }));
    const date = new Date(now).toISOString().slice(0, 10);
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': attachment(`ssechat-${nick}-${date}.json`),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const head = JSON.stringify({
      format: 'ssechat-export',
      version: 1,
      exported: now,
      account,
      rooms,
    });
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    await send(res, `${head.slice(0, -1)},"messages":[`);
    const pages = exports.messages(nick);
    let first = true;
    let truncated = false;
    try {
      for (;;) {
        const next = await pages.next();
        if (next.done) {
          truncated = next.value.truncated;
          break;
        }
        if (gone) return;
        const chunk = next.value.map((m) => JSON.stringify(apiMessage(m))).join(',');
        await send(res, first ? chunk : `,${chunk}`);
        first = false;
      }
    } catch (err) {
      // The headers are gone: cut the download short rather than end it as if complete.
      this.deps.logger.warn('an export failed midway', { err });
      res.destroy();
      return;
    }
    res.end(`],"truncated":${truncated}}\n`);
  }
}

/**
 * Writes `chunk`, waiting for the socket to drain when its buffer is full (backpressure); cuts
 * the connection when it does not drain within EXPORT_STALL_MS.
 */
function send(res: ServerResponse, chunk: string): Promise<void> {
  if (res.write(chunk) || res.destroyed) return Promise.resolve();
  return new Promise((ok) => {
    const stalled = setTimeout(() => res.destroy(), EXPORT_STALL_MS);
    const done = () => {
      clearTimeout(stalled);
      res.off('drain', done);
      res.off('close', done);
      ok();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * A Content-Disposition for a download named `name`: an ASCII fallback (anything but
 * letters, digits, `.`, `_` and `-` becomes `_`, so no quote or CRLF from a nick reaches the
 * header), and the exact name percent-encoded (RFC 6266, RFC 5987).
 */
export function attachment(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
