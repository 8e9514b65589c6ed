import { setImmediate as turn } from 'node:timers/promises';
import { ChatError } from '../domain/errors.js';
import { EVERYONE, type EventId, isRoom, type StoredMessage } from '../domain/events.js';
import { type InputLimits, parseNick, parseTarget } from '../domain/input.js';
import {
  MAX_SEARCH_PAGE,
  type ParsedSearch,
  parseSearch,
  rankText,
  score,
} from '../domain/search.js';
import type { Store } from '../store/store.js';
import { newCursorSecret, SearchCursors } from './search-cursor.js';

/**
 * Results ranked between two turns of the event loop (see search): a text made to be slow to
 * rank (thousands of CJK characters against 12 phrases) takes about 4 ms on this box.
 */
const RANK_BATCH = 4;

/** The name of the secret search cursors are sealed with (PushStore.secret). */
const CURSOR_SECRET = 'search-cursor';

/** What search and the pages around a message need. */
export interface ChatSearchDeps {
  readonly store: Pick<Store, 'search' | 'history' | 'historyAfter'> & {
    readonly push: Pick<Store['push'], 'secret'>;
  };
  readonly limits: InputLimits;
  /** Throws unless `user` is a member of `room` (ChatRooms.requireMember). */
  readonly requireMember: (room: string, user: string) => Promise<unknown>;
  readonly now: () => number;
}

/** A search as the API asks it: the query as typed, and the filters given beside it. */
export interface SearchAsk {
  readonly q: string;
  /** A conversation: `all`, a nick or a `#room` (the `in:` / `with:` of the query). */
  readonly with?: string;
  /** A sender's nick (the `from:` of the query). */
  readonly from?: string;
  /** A message id, or a cursor a previous page gave as `next` (search-cursor.ts). */
  readonly before: EventId | string;
  readonly limit: number;
}

/** One search result: the message and its text around the match, escaped, matches marked. */
export interface SearchResult {
  readonly message: StoredMessage;
  readonly snippet: string;
}

/** A page of a conversation with where to go on each way (null: nothing more that way). */
export interface ConversationPage {
  readonly messages: StoredMessage[];
  readonly before: EventId | null;
  readonly after: EventId | null;
}

/**
 * Search, and the pages of a conversation around a message and after it (where a search
 * result, a reply or a notification opens). Who sees what is the Store's query (store.ts,
 * Search); this service parses, checks the filters and orders a page's hits.
 */
export class ChatSearch {
  private readonly cursors: SearchCursors;

  constructor(private readonly deps: ChatSearchDeps) {
    this.cursors = new SearchCursors(() => deps.store.push.secret(CURSOR_SECRET, newCursorSecret));
  }

  /**
   * The messages `viewer` sees that match, most relevant first within the page (relevance
   * weighed by age: domain/search.ts score), and where the next page starts.
   */
  async search(
    viewer: string,
    ask: SearchAsk,
  ): Promise<{ results: SearchResult[]; next: string | null }> {
    const parsed = this.filters(parseSearch(ask.q), ask);
    const binding = JSON.stringify([viewer, parsed.terms, parsed.from ?? '', parsed.with ?? '']);
    const before =
      typeof ask.before === 'string' ? await this.cursors.open(binding, ask.before) : ask.before;
    const page = await this.deps.store.search(viewer, {
      ...parsed,
      before,
      limit: Math.min(ask.limit, MAX_SEARCH_PAGE),
    });
    const now = this.deps.now();
    const ranked: Array<SearchResult & { score: number }> = [];
    for (const [i, message] of page.messages.entries()) {
      // Ranking reads every text of the page: the event loop turns between a few of them.
      if (i > 0 && i % RANK_BATCH === 0) await turn();
      const { relevance, snippet } = rankText(message.text, parsed.terms);
      ranked.push({ message, snippet, score: score(relevance, message.ts, now) });
    }
    ranked.sort((a, b) => b.score - a.score || b.message.id - a.message.id);
    return {
      results: ranked.map(({ message, snippet }) => ({ message, snippet })),
      next: page.next === null ? null : await this.cursors.seal(binding, page.next),
    };
  }

  /**
   * The page of `peer`'s conversation around message `id`: up to `limit` messages, about
   * half of them older and half newer, the message itself included. CHAT_MESSAGE_NOT_FOUND
   * when it is not a message of this conversation that `viewer` may see.
   */
  async around(
    viewer: string,
    peerRaw: string,
    id: EventId,
    limit: number,
  ): Promise<ConversationPage> {
    const peer = await this.conversation(viewer, peerRaw);
    const newer = Math.floor((limit - 1) / 2);
    const older = await this.deps.store.history(viewer, peer, id + 1, limit - newer);
    if (older[older.length - 1]?.id !== id) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
    const after = await this.deps.store.historyAfter(viewer, peer, id, newer);
    return {
      messages: [...older, ...after],
      before: older.length === limit - newer ? (older[0]?.id ?? null) : null,
      after: after.length === newer && newer > 0 ? (after[after.length - 1]?.id ?? null) : null,
    };
  }

  /** The `limit` oldest messages of `peer`'s conversation above `after`, oldest first. */
  async after(
    viewer: string,
    peerRaw: string,
    after: EventId,
    limit: number,
  ): Promise<ConversationPage> {
    const peer = await this.conversation(viewer, peerRaw);
    const messages = await this.deps.store.historyAfter(viewer, peer, after, limit);
    return {
      messages,
      before: null,
      after: messages.length === limit ? (messages[messages.length - 1]?.id ?? null) : null,
    };
  }

  /** A conversation's name checked, and, for a room, that `viewer` is a member (as history). */
  private async conversation(viewer: string, raw: string): Promise<string> {
    const peer = parseTarget(raw, this.deps.limits);
    if (isRoom(peer)) await this.deps.requireMember(peer, viewer);
    return peer;
  }

  /** The query's filters and the request's, which must agree; each checked as a name. */
  private filters(parsed: ParsedSearch, ask: SearchAsk): ParsedSearch {
    const pick = (name: string, inQuery?: string, given?: string): string | undefined => {
      if (inQuery !== undefined && given !== undefined && inQuery !== given) {
        throw new ChatError('CHAT_SEARCH_INVALID', `${name} is given twice, differently`);
      }
      return inQuery ?? given;
    };
    const conversation = pick('with', parsed.with, ask.with);
    const from = pick('from', parsed.from, ask.from);
    return {
      terms: parsed.terms,
      ...(conversation !== undefined && {
        with: conversation === EVERYONE ? EVERYONE : parseTarget(conversation, this.deps.limits),
      }),
      ...(from !== undefined && { from: parseNick(from, this.deps.limits) }),
    };
  }
}
