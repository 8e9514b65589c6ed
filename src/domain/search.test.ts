import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChatError } from './errors.js';
import {
  MAX_SEARCH_QUERY,
  parseSearch,
  RECENCY_HALF_LIFE_MS,
  relevance,
  score,
  snippet,
} from './search.js';
import { fold, MAX_TOKEN_LENGTH, searchTokens } from './search-text.js';

const invalid = (err: unknown) => err instanceof ChatError && err.code === 'CHAT_SEARCH_INVALID';

describe('search text', () => {
  test('folds case, width and accents; splits on punctuation; pairs unspaced scripts', () => {
    assert.deepEqual(searchTokens('Héllo, WORLD! Ｆｕｌｌ café-au-lait'), [
      'hello',
      'world',
      'full',
      'cafe',
      'au',
      'lait',
    ]);
    assert.deepEqual(searchTokens('我在北京'), ['我在', '在北', '北京']);
    assert.deepEqual(searchTokens('東京タワーへ'), ['東京', '京タ', 'タワ', 'ワー', 'ーへ']);
    assert.deepEqual(searchTokens('x北y'), ['x', '北', 'y']);
    assert.deepEqual(searchTokens('<b>"quoted"</b>'), ['b', 'quoted', 'b']);
    assert.equal(fold('ø'), 'ø');
    assert.equal(fold('a'.repeat(100)).length, MAX_TOKEN_LENGTH);
    // What NFKD brings in that is not a word is dropped, never a space or a quote.
    assert.deepEqual(searchTokens('㈠'), ['一']);
    for (const t of searchTokens('½ ¼ ℡ ﬀ ㍿')) assert.match(t, /^[\p{L}\p{N}\p{M}]+$/u);
  });
});

describe('parseSearch', () => {
  test('words, phrases, prefixes and filters', () => {
    assert.deepEqual(parseSearch('Hello "big  World" pre* from:@Bob in:dev'), {
      terms: [
        { tokens: ['hello'], prefix: false },
        { tokens: ['big', 'world'], prefix: false },
        { tokens: ['pre'], prefix: true },
      ],
      from: 'Bob',
      with: '#dev',
    });
    assert.deepEqual(parseSearch('e-mail with:all').terms, [
      { tokens: ['e', 'mail'], prefix: false },
    ]);
    assert.equal(parseSearch('with:all x').with, 'all');
    // An unclosed quote runs to the end.
    assert.deepEqual(parseSearch('"open phrase').terms, [
      { tokens: ['open', 'phrase'], prefix: false },
    ]);
    assert.deepEqual(parseSearch('北京大学').terms, [
      { tokens: ['北京', '京大', '大学'], prefix: false },
    ]);
  });

  test('refuses what cannot be searched, with a reason', () => {
    for (const q of ['', '   ', '"', '*', '-', ':', '""', '"*"', 'from:bob', 'a*']) {
      assert.throws(() => parseSearch(q), invalid, q);
    }
    assert.throws(() => parseSearch('x'.repeat(MAX_SEARCH_QUERY + 1)), invalid);
    assert.throws(() => parseSearch(Array(13).fill('w').join(' ')), invalid);
    assert.throws(() => parseSearch('from:a from:b x'), invalid);
    assert.throws(() => parseSearch('from: x'), invalid);
    // Search syntax of the engines is only words here (`NEAR(a` is one chunk: a phrase).
    assert.deepEqual(
      parseSearch('NEAR(a b) OR c NOT d').terms.map((t) => t.tokens.join(' ')),
      ['near a', 'b', 'or', 'c', 'not', 'd'],
    );
  });
});

describe('snippets and relevance', () => {
  test('the text is escaped, then the matches marked', () => {
    const { terms } = parseSearch('otter 北京');
    assert.equal(
      snippet('<i>Otter</i> & "otters" in 北京!', terms),
      '&lt;i&gt;<mark>Otter</mark>&lt;/i&gt; &amp; &quot;otters&quot; in <mark>北京</mark>!',
    );
    assert.equal(snippet('nothing', terms), 'nothing');
  });

  test('a long text is cut around its first match', () => {
    const { terms } = parseSearch('needle');
    const text = `${'hay '.repeat(100)}needle${' hay'.repeat(100)}`;
    const cut = snippet(text, terms);
    assert.ok(cut.startsWith('…') && cut.endsWith('…'), cut);
    assert.ok(cut.includes('<mark>needle</mark>'));
    assert.ok(cut.length < 260);
  });

  test('more occurrences in a shorter text rank higher; age weighs down', () => {
    const { terms } = parseSearch('fox');
    const once = relevance('the quick brown fox jumps over the lazy dog again and again', terms);
    const twice = relevance('fox and fox', terms);
    assert.ok(twice > once && once > 0);
    assert.equal(relevance('no match', terms), 0);
    const prefix = parseSearch('fo*').terms;
    assert.ok(relevance('fox', prefix) > 0);
    const now = 10 * RECENCY_HALF_LIFE_MS;
    assert.equal(score(2, now - RECENCY_HALF_LIFE_MS, now), 1);
  });
});
