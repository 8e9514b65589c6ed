import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  claimedMentions,
  findMentions,
  foldNick,
  isClaimableNick,
  MAX_MENTION_LENGTH,
  MAX_MENTIONS,
  mentionCandidates,
  pickMentions,
} from './mentions.js';

test('hostile: 10,000 @ in a row, or @ with nothing after, mention nobody', () => {
  assert.deepEqual(mentionCandidates('@'.repeat(10_000)), []);
  assert.deepEqual(mentionCandidates('@ @\t@\n@'), []);
  assert.deepEqual(mentionCandidates(''), []);
});

test('hostile: 10,000 mentions yield at most MAX_MENTIONS distinct candidates, quickly', () => {
  const text = Array.from({ length: 10_000 }, (_, i) => `@u${i}.`).join(' ');
  const started = performance.now();
  const found = findMentions(text);
  assert.ok(performance.now() - started < 200);
  assert.equal(found.keys.length, MAX_MENTIONS);
  assert.equal(new Set(found.keys).size, MAX_MENTIONS);
  // The same mention again and again is one candidate.
  assert.deepEqual(mentionCandidates('@bob '.repeat(10_000)), ['bob']);
});

test('hostile: a run of 10,000 dots or characters is no nick, and costs one pass', () => {
  assert.deepEqual(mentionCandidates(`@${'.'.repeat(10_000)}`), []);
  assert.deepEqual(mentionCandidates('@... @.'), ['...', '.']);
  assert.deepEqual(mentionCandidates(`@${'a'.repeat(10_000)}`), []);
  // Too long as a whole, a nick without its trailing dots.
  assert.deepEqual(mentionCandidates(`@bob${'.'.repeat(10_000)}`), ['bob']);
  assert.deepEqual(mentionCandidates(`@bob${'.'.repeat(3)}`), ['bob...', 'bob']);
  const long = 'é'.repeat(MAX_MENTION_LENGTH);
  assert.deepEqual(mentionCandidates(`@${long}`), [long]);
  assert.deepEqual(mentionCandidates(`@${long}x`), []);
});

test('an @ counts at the start or after a non-word character, not inside a word', () => {
  assert.deepEqual(mentionCandidates('@ann hi (@bob) x@carl ann@example.org _@dan'), [
    'ann',
    'bob)',
    'bob',
  ]);
  assert.deepEqual(mentionCandidates('hi,@ann;@bob'), ['ann;', 'ann', 'bob']);
});

test('a run stops at what a nick cannot hold; trailing punctuation is also tried without', () => {
  assert.deepEqual(mentionCandidates('@bob, @ann: @carl? @dan/x @eve#1 @f<g>'), [
    'bob',
    'ann',
    'carl',
    'dan',
    'eve',
    'f',
  ]);
  assert.deepEqual(mentionCandidates('thanks @bob.'), ['bob.', 'bob']);
  assert.deepEqual(mentionCandidates('@bob!)… next'), ['bob!)…', 'bob']);
  assert.deepEqual(mentionCandidates('@a@b'), ['a']);
  // Formatting marks (web/markdown.js) around a mention; `_@ann_` is none, as `x_@ann` is not.
  assert.deepEqual(mentionCandidates('**@bob** *@ann*. ~~@eve~~ _@dan_'), [
    'bob**',
    'bob',
    'ann*.',
    'ann',
    'eve~~',
    'eve',
  ]);
});

test('unicode: letters of any script; NFC; controls, separators and invisibles end a run', () => {
  assert.deepEqual(mentionCandidates('@Jöhn @名前 @e\u0301'), ['Jöhn', '名前', 'é']);
  assert.deepEqual(mentionCandidates('@ann\u200bbob @x\u00a0y @z\u2028'), ['ann', 'x', 'z']);
  // A letter before the @ makes it part of a word, in any script.
  assert.deepEqual(mentionCandidates('é@ann 名@bob'), []);
  // Lone surrogates are \p{C}: no candidate is ill-formed.
  assert.deepEqual(mentionCandidates('@a\ud800b'), ['a']);
});

test('keys fold ASCII only; distinct by key, first spelling kept', () => {
  assert.equal(foldNick('BoB-ÄÖ'), 'bob-ÄÖ');
  const found = findMentions('@Bob @bob @BOB. @Ä @ä');
  assert.deepEqual(found.spellings, ['Bob', 'BOB.', 'Ä', 'ä']);
  assert.deepEqual(found.keys, ['bob', 'bob.', 'Ä', 'ä']);
  assert.deepEqual(found.runs, [['bob'], ['bob'], ['bob.', 'bob'], ['Ä'], ['ä']]);
});

test('pickMentions: the longest spelling that resolves, canonical nicks, no sender', () => {
  const users = new Map([
    ['bob', ['Bob']],
    ['bob.', ['bob.']],
    ['ann', ['Ann']],
    ['carl', ['carl']],
  ]);
  const pick = (text: string, sender = 'x') =>
    pickMentions(findMentions(text), (k) => users.get(k), sender);
  assert.deepEqual(pick('@bob. @ANN! @nobody @carl'), ['bob.', 'Ann', 'carl']);
  assert.deepEqual(pick('@bob! @bob'), ['Bob']);
  assert.deepEqual(pick('@carl @ann', 'carl'), ['Ann']);
  assert.deepEqual(pick('no mentions'), []);
});

test('claimedMentions: valid nicks as written, the run without its punctuation first', () => {
  assert.deepEqual(claimedMentions(findMentions('@bob. @all @ALL @Ann @x\u034f'), 'z'), [
    'bob',
    'Ann',
  ]);
  assert.deepEqual(claimedMentions(findMentions('@me @you'), 'me'), ['you']);
  assert.ok(isClaimableNick('bob'));
  assert.ok(!isClaimableNick('all'));
  assert.ok(!isClaimableNick('\u0301x'));
});
