import { ChatError } from '../domain/errors.js';

/** A message id from a path, or CHAT_MESSAGE_NOT_FOUND. */
export function messageId(raw: string): number {
  const id = /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
  return id;
}

/** A whole-number query parameter within bounds, or its default when absent. */
export function intParam(
  query: URLSearchParams,
  name: string,
  def: number,
  min: number,
  max: number,
): number {
  const raw = query.get(name);
  if (raw === null) return def;
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ChatError(
      'API_QUERY_INVALID',
      `${name} must be a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

/**
 * A segment that still reads as `%2E`s once decoded: a name made of dots, escaped twice. URL
 * parsers (browsers', fetch's) remove a path segment `.` or `..` even when it is written
 * `%2E`, so a client names the user `..` as `%252E%252E` (docs/api.md). Nicks, room names
 * and ids never hold a `%`, so decoding such a segment again cannot misread another name.
 */
const ESCAPED_DOTS = /^(?:%2e)+$/i;

/**
 * A percent-decoded path segment (twice for escaped dots, ESCAPED_DOTS); a malformed encoding
 * names nothing here (404).
 */
export function decodeSegment(raw: string): string {
  try {
    const once = decodeURIComponent(raw);
    return ESCAPED_DOTS.test(once) ? decodeURIComponent(once) : once;
  } catch {
    throw new ChatError('HTTP_NOT_FOUND');
  }
}
