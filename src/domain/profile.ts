import { ChatError } from './errors.js';

/** Longest display name, in code points (after NFC and trimming). */
export const MAX_DISPLAY_NAME = 64;

// Control, format (bidi overrides and isolates, zero-width joiners), surrogate, private-use
// and unassigned characters, line and paragraph separators, and other characters that show
// nothing (Default_Ignorable_Code_Point, the blank Braille pattern): a name could otherwise
// reorder the text around it or pass for empty. A display name is decoration only: the page
// always shows the nick beside it, so look-alike names cannot pass for another user.
const FORBIDDEN = /[\p{C}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u;

/**
 * A display name as the user gave it, checked and normalized: NFC, trimmed, 1 to
 * MAX_DISPLAY_NAME code points, none of them FORBIDDEN; or CHAT_PROFILE_INVALID.
 */
export function parseDisplayName(raw: unknown): string {
  if (typeof raw !== 'string') {
    throw new ChatError('CHAT_PROFILE_INVALID', 'displayName must be a string or null');
  }
  const name = raw.normalize('NFC').trim();
  const length = [...name].length;
  if (length === 0 || length > MAX_DISPLAY_NAME) {
    throw new ChatError(
      'CHAT_PROFILE_INVALID',
      `displayName must be 1 to ${MAX_DISPLAY_NAME} characters`,
    );
  }
  if (FORBIDDEN.test(name)) {
    throw new ChatError(
      'CHAT_PROFILE_INVALID',
      'displayName contains invisible or control characters',
    );
  }
  return name;
}

/** Where the JSON API serves a user's avatar; `version` (the avatar's id) busts caches. */
export function avatarPath(nick: string, version: string): string {
  return `/api/v1/users/${encodeURIComponent(nick)}/avatar?v=${encodeURIComponent(version)}`;
}

/** ASCII letters to lower case, nothing else: how nicks are compared (accounts.ts). */
export function foldAscii(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** The key a display name is searched by. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/**
 * Most nicks one RosterStore `details` or `seen` call takes (store/roster-store.ts): a
 * directory page, or a batch of core/last-seen.ts.
 */
export const MAX_ROSTER_BATCH = 1000;
