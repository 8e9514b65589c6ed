import { looksLikeEveryone } from './confusables.js';
import { ChatError } from './errors.js';
import { EVERYONE, isRoom, ROOM_NAME } from './events.js';

// Validation of what clients send: nicks, recipients, room names and texts.

/** Limits on user input, each from config (see config.ts for defaults and bounds). */
export interface InputLimits {
  /** Longest nick, in Unicode code points. */
  readonly maxNickLength: number;
  /** Longest message text, in Unicode code points. */
  readonly maxMessageLength: number;
  /**
   * The server's auth mode (see parseNick); absent means open, where every nick is checked as
   * one being taken.
   */
  readonly auth?: 'open' | 'accounts';
}

// Whitespace, control and format characters, separators, and the characters that carry
// structure in our URLs (`/ ? # % +`), in the classic text lines (`:` and `,` in
// "now online: a, b") or in HTML (`< > " ' & \``). Everything else, in any script, is allowed.
const NICK_FORBIDDEN = /[\s\p{C}\p{Z}/?#%+:,<>"'&`\\]/u;

// Characters that show nothing, which \p{C} and \p{Z} above do not all cover: every
// Default_Ignorable_Code_Point (the combining grapheme joiner U+034F, the variation selectors
// U+FE00-FE0F and U+E0100-E01EF, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, the
// Mongolian free variation selectors, the Khmer inherent vowels U+17B4-17B5, …; the ones
// that are format characters, such as ZWJ, ZWNJ and the soft hyphen, are already in \p{C}),
// and blanks that Unicode does not call ignorable: the braille pattern blank U+2800, and the
// Egyptian hieroglyph full and half blanks U+13441-13442. "alice" with one of them appended
// looks exactly like "alice".
const NICK_INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800\u{13441}\u{13442}]/u;

// A combining mark (\p{M}) first has no base character to sit on: "\u0332" alone shows as
// almost nothing. Marks after a base are ordinary (decomposed é, Devanagari vowel signs).
const NICK_LEADING_MARK = /^\p{M}/u;

/**
 * Validates and normalizes (NFC) a nick, or throws CHAT_NICK_INVALID / CHAT_NICK_RESERVED with
 * a reason a client can show.
 *
 * In open mode every use of a nick takes it, so every nick must pass checkNewNick. In accounts
 * mode a nick in a request names an account (to log in as, to write to, to stream as), and
 * accounts registered before checkNewNick existed may break its rules: they must keep
 * working, so there parseNick checks only the form, and registration (auth/users.ts) applies
 * checkNewNick.
 */
export function parseNick(raw: string, limits: InputLimits): string {
  if (!raw.isWellFormed()) throw new ChatError('CHAT_NICK_INVALID', 'not valid Unicode');
  const nick = raw.normalize('NFC');
  if (nick.length === 0) throw new ChatError('CHAT_NICK_INVALID', 'empty');
  if (exceeds(nick, limits.maxNickLength)) {
    throw new ChatError('CHAT_NICK_INVALID', `longer than ${limits.maxNickLength} characters`);
  }
  const bad = NICK_FORBIDDEN.exec(nick);
  if (bad) {
    throw new ChatError('CHAT_NICK_INVALID', `character ${describe(bad[0])} is not allowed`);
  }
  // Reserved in any letter case, so that "All" cannot pose as the broadcast address.
  if (nick.toLowerCase() === EVERYONE) {
    throw new ChatError('CHAT_NICK_RESERVED', `"${EVERYONE}" addresses everyone`);
  }
  if (limits.auth !== 'accounts') checkNewNick(nick);
  return nick;
}

/**
 * The rules for a nick someone takes (registers, or uses in open mode), beyond its form
 * (parseNick): no invisible character and no combining mark first (CHAT_NICK_INVALID), and
 * no look-alike of `all` (CHAT_NICK_RESERVED), which could pose as the broadcast address.
 * `nick` is NFC. Here rather than in parseNick so that accounts registered before a rule
 * keep working.
 */
export function checkNewNick(nick: string): void {
  const invisible = NICK_INVISIBLE.exec(nick);
  if (invisible) {
    throw new ChatError('CHAT_NICK_INVALID', `invisible character ${hex(invisible[0])}`);
  }
  const mark = NICK_LEADING_MARK.exec(nick);
  if (mark) {
    throw new ChatError('CHAT_NICK_INVALID', `starts with combining mark ${hex(mark[0])}`);
  }
  if (looksLikeEveryone(nick)) {
    throw new ChatError('CHAT_NICK_RESERVED', `looks like "${EVERYONE}", which addresses everyone`);
  }
}

/** Validates a recipient: `all`, or a nick. */
export function parseRecipient(raw: string, limits: InputLimits): string {
  return raw === EVERYONE ? EVERYONE : parseNick(raw, limits);
}

/** Validates a room name (with its `#`), or throws CHAT_ROOM_INVALID. */
export function parseRoom(raw: string): string {
  if (!ROOM_NAME.test(raw)) {
    throw new ChatError(
      'CHAT_ROOM_INVALID',
      '# and 1 to 48 of a-z 0-9 - _, starting with a letter or digit',
    );
  }
  return raw;
}

/** Validates a recipient of the JSON API: `all`, a nick or a room. */
export function parseTarget(raw: string, limits: InputLimits): string {
  return isRoom(raw) ? parseRoom(raw) : parseRecipient(raw, limits);
}

// C0 controls other than TAB, LF and CR, DEL and the C1 controls. NUL is among them: some
// clients treat it as end of string. LF and CR are allowed and framed as several `data:` lines.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const TEXT_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

/**
 * Validates message text. Line breaks are kept, normalized to LF (an SSE frame splits them
 * into several `data:` lines, which EventSource joins back with LF). Empty text is allowed,
 * as in the seed.
 */
export function parseText(raw: string, limits: InputLimits): string {
  if (!raw.isWellFormed()) throw new ChatError('CHAT_TEXT_INVALID', 'not valid Unicode');
  const bad = TEXT_FORBIDDEN.exec(raw);
  if (bad) throw new ChatError('CHAT_TEXT_INVALID', `control character ${describe(bad[0])}`);
  const text = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
  if (exceeds(text, limits.maxMessageLength)) {
    throw new ChatError('CHAT_TEXT_TOO_LONG', `longer than ${limits.maxMessageLength} characters`);
  }
  return text;
}

/** True when `s` has more than `max` code points; cheap when its UTF-16 length is within. */
function exceeds(s: string, max: number): boolean {
  if (s.length <= max) return false;
  let n = 0;
  for (const _ of s) if (++n > max) return true;
  return false;
}

function describe(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return cp > 0x20 && cp !== 0x7f ? `"${ch}" (${hex(ch)})` : hex(ch);
}

/** `U+XXXX`: the only useful way to name a character that shows nothing. */
function hex(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}
