import type { EventId } from '../domain/events.js';
import { SEARCH_SCAN } from './store.js';

/**
 * Where the next page of a search starts (SearchPage.next), for every engine: below the
 * last hit when the page is full; else below the last index match examined when the scan
 * stopped at SEARCH_SCAN (older matches remain unexamined); else nowhere.
 */
export function nextPage(
  hits: ReadonlyArray<{ id: EventId }>,
  candidates: ReadonlyArray<{ id: EventId }>,
  limit: number,
): EventId | null {
  const lastHit = hits[hits.length - 1];
  if (hits.length >= limit && lastHit) return lastHit.id;
  const lastCandidate = candidates[candidates.length - 1];
  if (candidates.length >= SEARCH_SCAN && lastCandidate) return lastCandidate.id;
  return null;
}
