import { type EventId, eventId, type LoggedEvent } from '../domain/events.js';
import type { EventLog } from '../store/store.js';

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
 * First replay pages kept for other streams resuming from the same point. After a restart or a
 * network blip, every tab and device of a user comes back at once with the same Last-Event-ID:
 * with ten streams per user, nine of ten Store reads of a reconnect storm are answered from
 * here, and simultaneous ones share one read. Only a replay's first page is kept (the one the
 * other tabs share; a long replay's later pages serve one stream). Entries live
 * PAGE_CACHE_TTL_MS, and all of them together weigh at most PAGE_CACHE_WEIGHT: each event
 * counts its text's length plus EVENT_WEIGHT, so the cache holds at most a few tens of MB
 * however long messages are, and a flood of far-behind resumes only pushes entries out.
 */
const PAGE_CACHE_TTL_MS = 5_000;
const PAGE_CACHE_WEIGHT = 8_000_000;
const EVENT_WEIGHT = 200;

interface CachedPage {
  readonly page: Promise<readonly LoggedEvent[]>;
  readonly at: number;
  /** 0 until the read is done; see PAGE_CACHE_WEIGHT. */
  weight: number;
}

/** What one page weighs in the cache. */
function weigh(page: readonly LoggedEvent[]): number {
  let weight = 0;
  for (const event of page) {
    const text =
      event.kind === 'message' ? event.message.text : event.kind === 'edit' ? event.edit.text : '';
    weight += EVENT_WEIGHT + text.length;
  }
  return weight;
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
   * Retention is checked after every page, cached or not. An edit or delete changes a stored
   * message, but it is logged above the head of every page cached before it, so each stream
   * that may be handed such a page also gets the edit or delete itself, after it.
   */
  private readonly pages = new Map<string, CachedPage>();
  /** What the cached pages weigh in all (see PAGE_CACHE_WEIGHT). */
  private weight = 0;

  constructor(
    /** The reads of a replay: the viewer's events, and how far retention reached. */
    private readonly store: Pick<EventLog, 'since' | 'prunedThrough'>,
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
      const page =
        cursor === after
          ? await this.firstPage(viewer, cursor, head)
          : await this.store.since(viewer, cursor, REPLAY_PAGE);
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

  /** The first page of a replay up to `head`: from the cache, or read (once) and kept. */
  private firstPage(
    viewer: string,
    cursor: EventId,
    head: EventId,
  ): Promise<readonly LoggedEvent[]> {
    const key = `${viewer}\u0000${cursor}\u0000${head}`;
    const now = performance.now();
    this.expire(now);
    const hit = this.pages.get(key);
    if (hit) return hit.page;
    const entry: CachedPage = {
      page: this.store.since(viewer, cursor, REPLAY_PAGE),
      at: now,
      weight: 0,
    };
    this.pages.set(key, entry);
    entry.page.then(
      (page) => {
        if (this.pages.get(key) !== entry) return;
        entry.weight = weigh(page);
        this.weight += entry.weight;
        this.shed();
      },
      () => {
        // A failed read is not kept: the next stream tries again.
        if (this.pages.get(key) === entry) this.pages.delete(key);
      },
    );
    return entry.page;
  }

  /** Drops entries older than PAGE_CACHE_TTL_MS (the Map is oldest first). */
  private expire(now: number): void {
    for (const [key, entry] of this.pages) {
      if (now - entry.at < PAGE_CACHE_TTL_MS) return;
      this.drop(key, entry);
    }
  }

  /** Drops the oldest entries until the cache weighs at most PAGE_CACHE_WEIGHT. */
  private shed(): void {
    for (const [key, entry] of this.pages) {
      if (this.weight <= PAGE_CACHE_WEIGHT) return;
      this.drop(key, entry);
    }
  }

  private drop(key: string, entry: CachedPage): void {
    this.pages.delete(key);
    this.weight -= entry.weight;
  }
}
