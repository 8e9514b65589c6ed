import type { IncomingMessage } from 'node:http';
import { RateLimiter } from '../auth/rate-limit.js';
import type { ChatService } from '../core/chat.js';
import { MAX_HISTORY_PAGE } from '../core/chat.js';
import { CURSOR_PATTERN, CURSOR_PREFIX } from '../core/search-cursor.js';
import { ChatError } from '../domain/errors.js';
import type { EventId } from '../domain/events.js';
import { DEFAULT_SEARCH_PAGE, MAX_SEARCH_PAGE } from '../domain/search.js';
import type { Admission } from './admission.js';
import { apiMessage } from './api-format.js';
import { intParam } from './api-paths.js';
import type { Auth } from './auth.js';
import { sendJson } from './reply.js';
import type { Handler } from './router.js';

/** What the reading routes need from the JSON API. */
export interface ApiReadingDeps {
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly admission: Admission;
}

/** Default page of `GET /api/v1/messages` (the largest is MAX_HISTORY_PAGE). */
export const DEFAULT_HISTORY_PAGE = 50;

/**
 * Searches each user may run per minute, on top of the send limits every search also takes
 * from (Admission.send): a search reads the index and the rows of a page, more than a
 * send writes, so a client that searches in a loop is stopped sooner. "Each user" is
 * Admission.userKey, as for read receipts.
 */
const SEARCHES = { limit: 60, windowMs: 60_000, maxKeys: 100_000 };

const LAST_ID = Number.MAX_SAFE_INTEGER;

/**
 * `GET /api/v1/messages` (history: older pages, newer pages, a page around a message) and
 * `GET /api/v1/search` (docs/api.md, History and Search).
 */
export class ApiReading {
  private readonly searches = new RateLimiter(SEARCHES);

  constructor(private readonly deps: ApiReadingDeps) {}

  /**
   * `GET /api/v1/messages?with=&before=|after=|around=&limit=`: a page of a conversation,
   * oldest first. `before` pages go back (the default, from the newest), `after` pages go
   * forward, `around` holds a message and what surrounds it; at most one of the three.
   */
  readonly history: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const peer = query.get('with') ?? 'all';
    const limit = intParam(query, 'limit', DEFAULT_HISTORY_PAGE, 1, MAX_HISTORY_PAGE);
    const given = ['before', 'after', 'around'].filter((name) => query.has(name));
    if (given.length > 1) {
      throw new ChatError('API_QUERY_INVALID', 'give at most one of before, after and around');
    }
    const id = (name: string) => intParam(query, name, LAST_ID, 1, LAST_ID);
    if (given[0] === 'around' || given[0] === 'after') {
      const search = this.deps.chat.search;
      const page =
        given[0] === 'around'
          ? await search.around(nick, peer, id('around'), limit)
          : await search.after(nick, peer, id('after'), limit);
      sendJson(res, 200, { ...page, messages: page.messages.map(apiMessage) });
      return;
    }
    const page = await this.deps.chat.history(nick, peer, id('before'), limit);
    const first = page[0];
    sendJson(res, 200, {
      messages: page.map(apiMessage),
      // Where the next (older) page starts; null when this page is the oldest there is.
      before: page.length === limit && first ? first.id : null,
    });
  };

  /** `GET /api/v1/search?q=&with=&from=&before=&limit=`: messages the caller may see. */
  readonly search: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    await this.limit(req, nick);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const text = (name: string): string | undefined => {
      const value = query.get(name);
      return value === null || value === '' ? undefined : value;
    };
    const page = await this.deps.chat.search.search(nick, {
      q: query.get('q') ?? '',
      ...optional('with', text('with')),
      ...optional('from', text('from')),
      before: cursorOrId(query),
      limit: intParam(query, 'limit', DEFAULT_SEARCH_PAGE, 1, MAX_SEARCH_PAGE),
    });
    sendJson(res, 200, {
      results: page.results.map((r) => ({ message: apiMessage(r.message), snippet: r.snippet })),
      next: page.next,
    });
  };

  private async limit(req: IncomingMessage, nick: string): Promise<void> {
    await this.deps.admission.send(req, nick);
    const wait = this.searches.hit(this.deps.admission.userKey(req, nick));
    if (wait > 0) throw new ChatError('CHAT_RATE_LIMITED', 'searches', wait);
  }
}

/** A search's `before`: a cursor a page gave as `next`, or a message id. */
function cursorOrId(query: URLSearchParams): EventId | string {
  const raw = query.get('before');
  if (raw?.startsWith(CURSOR_PREFIX)) {
    if (!CURSOR_PATTERN.test(raw)) throw new ChatError('API_QUERY_INVALID', 'before: not a cursor');
    return raw;
  }
  return intParam(query, 'before', LAST_ID, 1, LAST_ID);
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
