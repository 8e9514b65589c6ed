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
 * Exact resume from a Last-Event-ID. The stream joins the Hub before `head` is read (see
 * ChatService.connect), so replaying what the viewer sees in (after, head] and then going live
 * with everything above `head` leaves no gap and repeats nothing.
 */
export class Resume {
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
      const page = await this.store.since(viewer, cursor, REPLAY_PAGE);
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
}
