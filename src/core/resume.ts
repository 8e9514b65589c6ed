import type { Store } from '../store/store.js';
import { type EventId, eventId, type LoggedEvent } from './events.js';

/**
 * Why a resume cannot be exact, sent to the client in an `event: reset`:
 * - `invalid`: the Last-Event-ID is not an id this server writes;
 * - `unknown`: it is ahead of every stored id (another server's, or a wiped database);
 * - `expired`: retention removed events after it;
 * - `too-far-behind`: more than maxReplay events were missed.
 */
export type ResetReason = 'invalid' | 'unknown' | 'expired' | 'too-far-behind';

/** How a new stream starts. */
export type ResumeStart =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'replay'; readonly after: EventId }
  | { readonly kind: 'reset'; readonly reason: ResetReason };

/** Events read from the Store per query during a replay; bounds one query's memory. */
export const REPLAY_PAGE = 256;

/**
 * Replay pages kept for other streams resuming from the same point (PAGE_CACHE_TTL_MS, at
 * most PAGE_CACHE_SIZE pages of up to REPLAY_PAGE events). After a restart or a network blip,
 * every tab and device of a user comes back at once with the same Last-Event-ID: with ten
 * streams per user, nine of ten Store reads of a reconnect storm are then answered from here.
 */
const PAGE_CACHE_SIZE = 512;
const PAGE_CACHE_TTL_MS = 5_000;

interface CachedPage {
  readonly page: readonly LoggedEvent[];
  readonly at: number;
}

/**
 * Exact resume from a Last-Event-ID. The stream joins the Hub before `head` is read (see
 * ChatService.connect), so replaying what the viewer sees in (after, head] and then going live
 * with everything above `head` leaves no gap and repeats nothing.
 */
export class Resume {
  /**
   * Pages by `viewer, cursor, head`. A page is the Store's answer to since(viewer, cursor)
   * read after `head` was visible. Logged events never change once written, and the Store
   * makes ids visible in order (store.ts), so the events up to `head` of such a page are the
   * same whenever it is read: any stream with the same viewer, cursor and head may use it.
   * Retention is checked after every page, cached or not. (Edits and deletes of stored
   * events, should they come, must clear this cache.)
   */
  private readonly pages = new Map<string, CachedPage>();

  constructor(
    private readonly store: Store,
    /** Most events one replay sends; see config maxReplay. */
    private readonly maxReplay: number,
  ) {}

  /** Decides how a stream that presented `lastEventId` (or none) starts, given `head`. */
  async plan(lastEventId: string | undefined, head: EventId): Promise<ResumeStart> {
    if (lastEventId === undefined || lastEventId === '') return { kind: 'fresh' };
    if (!/^(0|[1-9]\d{0,15})$/.test(lastEventId)) return { kind: 'reset', reason: 'invalid' };
    const after = Number(lastEventId);
    if (!Number.isSafeInteger(after)) return { kind: 'reset', reason: 'invalid' };
    if (after > head) return { kind: 'reset', reason: 'unknown' };
    if (after < (await this.store.prunedThrough())) return { kind: 'reset', reason: 'expired' };
    return { kind: 'replay', after };
  }

  /**
   * Yields, page by page and oldest first, the events `viewer` sees in (after, head]. Returns
   * 'too-far-behind' instead of yielding more than maxReplay events in all.
   */
  async *replay(
    viewer: string,
    after: EventId,
    head: EventId,
  ): AsyncGenerator<LoggedEvent[], ResetReason | undefined> {
    let cursor = after;
    let sent = 0;
    while (cursor < head) {
      const page = await this.page(viewer, cursor, head);
      // Retention may have run since the plan (a replay goes at the client's pace): a page
      // read after events above the cursor were pruned would hide a gap.
      if ((await this.store.prunedThrough()) > cursor) return 'expired';
      // Events above head were appended after the stream joined the Hub: they come live.
      const upToHead = page.filter((event) => eventId(event) <= head);
      if (upToHead.length === 0) return undefined;
      sent += upToHead.length;
      if (sent > this.maxReplay) return 'too-far-behind';
      yield upToHead;
      if (upToHead.length < page.length || page.length < REPLAY_PAGE) return undefined;
      cursor = eventId(upToHead[upToHead.length - 1] as LoggedEvent);
    }
    return undefined;
  }

  /** since(viewer, cursor) for a replay up to `head`: from the cache, or read and kept. */
  private async page(
    viewer: string,
    cursor: EventId,
    head: EventId,
  ): Promise<readonly LoggedEvent[]> {
    const key = `${viewer}\u0000${cursor}\u0000${head}`;
    const now = performance.now();
    const hit = this.pages.get(key);
    if (hit && now - hit.at < PAGE_CACHE_TTL_MS) return hit.page;
    const page = await this.store.since(viewer, cursor, REPLAY_PAGE);
    this.pages.delete(key);
    if (this.pages.size >= PAGE_CACHE_SIZE) {
      // The oldest entry first (Map order is insertion order).
      const oldest = this.pages.keys().next();
      if (!oldest.done) this.pages.delete(oldest.value);
    }
    this.pages.set(key, { page, at: performance.now() });
    return page;
  }
}
