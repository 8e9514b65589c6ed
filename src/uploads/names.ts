import { ChatError } from '../domain/errors.js';

/** Longest file name, in Unicode code points. */
export const MAX_FILE_NAME = 255;

// Control and format characters (the bidirectional controls among them, which can make
// "gpj.exe" read as "exe.jpg", and the invisible ones), line and paragraph separators, and
// path separators.
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}/\\]/u;
/** A name must show something: a letter, digit, punctuation or symbol. */
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;

/**
 * The file name an upload keeps (shown to readers, and offered when they download): the
 * `?name=` as given, NFC-normalized, 1 to MAX_FILE_NAME code points, with something visible,
 * without control, format (bidirectional, invisible) or line-separator characters nor `/`
 * and `\`, and not `.` or `..`; UPLOAD_NAME_INVALID otherwise.
 */
export function parseFileName(raw: string | null): string {
  const name = (raw ?? '').normalize('NFC').trim();
  const length = [...name].length;
  if (
    length === 0 ||
    length > MAX_FILE_NAME ||
    FORBIDDEN.test(name) ||
    !VISIBLE.test(name) ||
    /^\.{1,2}$/.test(name)
  ) {
    throw new ChatError('UPLOAD_NAME_INVALID');
  }
  return name;
}
