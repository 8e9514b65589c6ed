// Reactions (issue 22): one emoji per reaction, checked here before anything reads or writes
// the Store. A reaction is a log entry like an edit (events.ts, NewReaction); these are the
// bounds that keep one message's reactions small whatever its readers do.
import { ChatError } from './errors.js';

/**
 * Most distinct emoji on one message: a new emoji past them is refused (CHAT_REACTIONS_FULL),
 * one already there may still be added. Bounds a message's summary to this many entries.
 */
export const MAX_REACTION_EMOJI = 20;

/** Most nicks a history summary names per emoji (the count says how many reacted in all). */
export const MAX_REACTION_USERS = 20;

/**
 * Longest emoji, in UTF-16 code units after NFC: a flag of a subdivision (🏴 and 6 tags, 14
 * units) or a family of four with skin tones (about 30) fit; a string of many emoji does not.
 */
export const MAX_EMOJI_UNITS = 32;

// Every code point an emoji may be made of: pictographs, the components (skin tones, hair,
// regional indicators, keycap bases 0-9 # *, tag characters U+E0020 to U+E007F), the joiner,
// the emoji variation selector and the keycap mark. Anything else (letters, controls, markup,
// spaces) is refused, so a reaction cannot carry text into another user's page.
const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\u200D|\uFE0F|\u20E3)+$/u;
// ... and at least one of these, so that a bare digit, `#` or joiner is not an emoji.
const PICTURE = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u;

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * The emoji of a reaction in NFC, or CHAT_REACTION_INVALID: exactly one grapheme cluster of at
 * most MAX_EMOJI_UNITS UTF-16 units, made only of emoji code points and holding a pictograph,
 * a regional indicator or a keycap.
 */
export function parseEmoji(raw: string): string {
  // Bounded before any work on it: the path segment may be as long as the URL limit.
  if (raw.length === 0 || raw.length > 2 * MAX_EMOJI_UNITS) throw invalid();
  const emoji = raw.normalize('NFC');
  if (emoji.length > MAX_EMOJI_UNITS || !EMOJI_ONLY.test(emoji) || !PICTURE.test(emoji)) {
    throw invalid();
  }
  let clusters = 0;
  for (const _ of graphemes.segment(emoji)) if (++clusters > 1) throw invalid();
  return emoji;
}

function invalid(): ChatError {
  return new ChatError('CHAT_REACTION_INVALID');
}
