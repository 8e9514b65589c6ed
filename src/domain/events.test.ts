import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatError } from './errors.js';
import { parseNick, parseRecipient, parseText } from './input.js';

const limits = { maxNickLength: 8, maxMessageLength: 10 };
const code = (c: string) => (err: unknown) => err instanceof ChatError && err.code === c;

describe('parseNick', () => {
  test('accepts ordinary and non-Latin nicks, normalized to NFC', () => {
    assert.equal(parseNick('john', limits), 'john');
    assert.equal(parseNick('Jo_hn-2.', limits), 'Jo_hn-2.');
    assert.equal(parseNick('ジョン', limits), 'ジョン');
    assert.equal(parseNick('jo\u0308hn', limits), 'jöhn');
  });

  test('rejects empty, too long, and forbidden characters with the reason', () => {
    assert.throws(() => parseNick('', limits), code('CHAT_NICK_INVALID'));
    assert.throws(() => parseNick('abcdefghi', limits), /longer than 8/);
    assert.equal(parseNick('😀😀😀😀😀😀😀😀', limits), '😀😀😀😀😀😀😀😀', 'counts code points');
    for (const bad of ['a b', 'a\tb', 'a/b', 'a\rb', 'a\nb', 'a\0b', 'a\u007fb', 'a\u200bb']) {
      assert.throws(() => parseNick(bad, limits), code('CHAT_NICK_INVALID'), JSON.stringify(bad));
    }
    for (const bad of ['a:b', 'a,b', 'a<b', 'a%b', 'a?b', 'a#b', 'a+b']) {
      assert.throws(() => parseNick(bad, limits), code('CHAT_NICK_INVALID'), bad);
    }
    assert.throws(() => parseNick('a\nb', limits), /U\+000A/);
    assert.throws(() => parseNick('\ud800x', limits), /not valid Unicode/);
  });

  test('reserves "all" in any case', () => {
    for (const all of ['all', 'ALL', 'All']) {
      assert.throws(() => parseNick(all, limits), code('CHAT_NICK_RESERVED'));
    }
    assert.equal(parseNick('allan', limits), 'allan');
  });
});

describe('parseRecipient', () => {
  test('is "all" or a valid nick', () => {
    assert.equal(parseRecipient('all', limits), 'all');
    assert.equal(parseRecipient('mary', limits), 'mary');
    assert.throws(() => parseRecipient('ALL', limits), code('CHAT_NICK_RESERVED'));
    assert.throws(() => parseRecipient('a/b', limits), code('CHAT_NICK_INVALID'));
  });
});

describe('parseText', () => {
  test('keeps text, tabs and line breaks (normalized to LF); empty is allowed', () => {
    assert.equal(parseText('hi there', limits), 'hi there');
    assert.equal(parseText('', limits), '');
    assert.equal(parseText('a\tb', limits), 'a\tb');
    assert.equal(parseText('a\r\nb\rc\nd', limits), 'a\nb\nc\nd');
  });

  test('rejects NUL and other control characters', () => {
    for (const bad of ['a\0b', 'a\u0007', '\u001b[31m', 'a\u007f', 'a\u0085']) {
      assert.throws(() => parseText(bad, limits), code('CHAT_TEXT_INVALID'), JSON.stringify(bad));
    }
  });

  test('limits the length in code points', () => {
    assert.equal(parseText('0123456789', limits), '0123456789');
    assert.throws(() => parseText('0123456789X', limits), code('CHAT_TEXT_TOO_LONG'));
    assert.equal(parseText('😀'.repeat(10), limits).length, 20);
  });
});
