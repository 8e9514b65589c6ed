import { ChatError } from '../domain/errors.js';

/** Longest file name, in Unicode code points. */
export const MAX_FILE_NAME = 255;

// Control characters, path separators, and the bidirectional controls that can make
// "gpj.exe" read as "exe.jpg" (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C).
const FORBIDDEN = /[\p{Cc}/\\\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

/**
 * The file name an upload keeps (shown to readers, and offered when they download): the
 * `?name=` as given, NFC-normalized, 1 to MAX_FILE_NAME code points, without control or
 * bidirectional characters nor `/` and `\`, and not `.` or `..`; UPLOAD_NAME_INVALID
 * otherwise.
 */
export function parseFileName(raw: string | null): string {
  const name = (raw ?? '').normalize('NFC').trim();
  const length = [...name].length;
  if (length === 0 || length > MAX_FILE_NAME || FORBIDDEN.test(name) || /^\.{1,2}$/.test(name)) {
    throw new ChatError('UPLOAD_NAME_INVALID');
  }
  return name;
}
