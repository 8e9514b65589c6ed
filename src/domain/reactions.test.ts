import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError } from './errors.js';
import { MAX_EMOJI_UNITS, parseEmoji } from './reactions.js';

const invalid = (err: unknown) => err instanceof ChatError && err.code === 'CHAT_REACTION_INVALID';

test('parseEmoji accepts single emoji: plain, toned, joined, flags, keycaps, tags', () => {
  const good = ['😀', '👍🏽', '❤️', '👩‍👩‍👧‍👦', '🧑🏿‍🚀', '🇫🇷', '1️⃣', '#️⃣', '🏴󠁧󠁢󠁥󠁮󠁧󠁿', '©️'];
  for (const emoji of good) assert.equal(parseEmoji(emoji), emoji, emoji);
});

test('parseEmoji refuses text, several emoji, markup, controls and long strings', () => {
  const bad = [
    '',
    'a',
    '1',
    '#',
    '\u200d',
    '\ufe0f',
    '😀😀',
    '😀 ',
    ' 😀',
    '😀a',
    '<img>',
    '\u0000',
    '😀\u0000',
    '\u202e😀',
    '🇫🇷🇩🇪',
    '😀'.repeat(100),
    'x'.repeat(200),
    '\ud83d',
  ];
  for (const emoji of bad) assert.throws(() => parseEmoji(emoji), invalid, JSON.stringify(emoji));
});

test('parseEmoji bounds the length in UTF-16 units', () => {
  // One grapheme of joined pictographs longer than the bound.
  const long = Array.from({ length: 12 }, () => '👩').join('\u200d');
  assert.ok(long.length > MAX_EMOJI_UNITS);
  assert.throws(() => parseEmoji(long), invalid);
});
