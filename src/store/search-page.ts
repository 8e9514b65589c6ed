import { setImmediate as turn } from 'node:timers/promises';
import type { EventId, StoredMessage } from '../domain/events.js';
import { SEARCH_SCAN, type SearchPage } from './store.js';

/**
 * The windows of index matches a search examines in turn, newest first, adding up to
 * SEARCH_SCAN. A word the reader sees often fills its page from the first, small window; a
 * word they mostly may not see goes on to the larger ones. Between two windows the event
 * loop turns, so that a synchronous engine (SQLite) never holds it for a whole scan.
 */
export const SCAN_WINDOWS: readonly number[] = [100, 400, SEARCH_SCAN - 500];

/** What one window of a search found. */
export interface ScanWindow {
  /** How many index matches the window held (fewer than asked: the index has no more). */
  readonly matched: number;
  /** The lowest id among them, where the next window starts (below it). */
  readonly lowest: EventId;
  /** Those of them the reader sees, newest first, at most the number asked for. */
  readonly messages: StoredMessage[];
}

/**
 * Runs a search window by window (SCAN_WINDOWS) for every engine: `read(below, size, want)`
 * examines the newest `size` index matches with an id below `below` and returns at most
 * `want` of them that the reader sees. Stops when the page holds `limit` messages (next:
 * below the last), when the index has no more matches (next: null), or after SEARCH_SCAN
 * matches (next: below the last examined; older ones remain).
 */
export async function scanWindows(
  before: EventId,
  limit: number,
  read: (below: EventId, size: number, want: number) => ScanWindow | Promise<ScanWindow>,
): Promise<SearchPage> {
  const messages: StoredMessage[] = [];
  let below = before;
  for (const [i, size] of SCAN_WINDOWS.entries()) {
    if (i > 0) await turn();
    const window = await read(below, size, limit - messages.length);
    messages.push(...window.messages);
    const last = messages[messages.length - 1];
    if (messages.length >= limit && last) return { messages, next: last.id };
    if (window.matched < size) return { messages, next: null };
    below = window.lowest;
  }
  return { messages, next: below };
}
