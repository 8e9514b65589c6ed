import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { internalSkeleton, looksLikeEveryone, nickKey } from './confusables.js';
import { CONFUSABLES, CONFUSABLES_VERSION } from './confusables-data.js';
import { checkNewNick, parseNick } from './input.js';

const same = (a: string, b: string) =>
  assert.equal(
    nickKey(a),
    nickKey(b),
    `${JSON.stringify(a)} should look like ${JSON.stringify(b)}`,
  );
const differ = (a: string, b: string) =>
  assert.notEqual(nickKey(a), nickKey(b), `${JSON.stringify(a)} should not look like ${b}`);

describe('confusables data', () => {
  test('is the whole of a recent confusables.txt', () => {
    assert.match(CONFUSABLES_VERSION, /^1[7-9]\.|^[2-9]\d\./);
    assert.ok(CONFUSABLES.trim().split(/\s+/).length > 6000);
  });

  test('UTS #39 pairs from the data', () => {
    // Single mappings of confusables.txt.
    assert.equal(internalSkeleton('m'), 'rn');
    assert.equal(internalSkeleton('1'), 'l');
    assert.equal(internalSkeleton('0'), 'O');
    assert.equal(internalSkeleton('\u0430'), 'a'); // Cyrillic а
    assert.equal(internalSkeleton('\u0391'), 'A'); // Greek Α
    assert.equal(internalSkeleton('\u{1D5BA}'), 'a'); // mathematical sans-serif a
    // Default ignorables go before mapping (Unicode 15.1 and later).
    assert.equal(internalSkeleton('a\u034Fb\uFE0Fc\u{E0100}'), 'abc');
    // The result is NFD.
    assert.equal(internalSkeleton('\u00E9'), 'e\u0301');
  });
});

describe('nickKey', () => {
  test('every look-alike of the issue has the key of alice or all', () => {
    for (const nick of [
      'ali\u034Fce',
      'alice\uFE0F',
      'alice\u3164',
      '\u0430lice',
      '\uFF41\uFF4C\uFF49\uFF43\uFF45',
    ]) {
      same(nick, 'alice');
    }
    same('\uFF41\uFF4C\uFF4C', 'all');
  });

  test('known confusable pairs', () => {
    same('paypal', 'p\u0430ypal');
    same('paypal', '\u{1D52D}\u{1D4B6}\u1EFF\u{1D561}\u{1D552}\u2113'); // the Go library's example
    same('rn', 'm');
    same('rnallory', 'mallory');
    same('bob', 'b0b');
    same('Michael', 'Michae1');
    same('alice', 'ALICE');
    same('alice', '\u0410LICE'); // Cyrillic А among Latin capitals
    same('strasse', 'Straße');
    same('Straße', 'STRA\u1E9EE');
  });

  test('nicks that merely resemble each other keep their own keys', () => {
    differ('alice', 'bob');
    differ('ali', 'all');
    differ('Jöhn', 'John');
    differ('Åsa', 'Asa');
    differ('alice', 'alice2');
    differ('Ian', 'lan');
    differ('IAN', 'lan');
  });

  test('look-alikes written in capitals (review of issue 16)', () => {
    same('BOB', 'BO\u0412'); // Cyrillic В
    same('BOB', '\u0412OB');
    same('BOB', '\u0392\u039F\u0392'); // Greek
    same('BOB', '\u13F4O\u13F4'); // Cherokee
    same('bob', '\u0392\u039F\u0392');
    same('KATE', '\u041A\u0410\u0422\u0415');
    same('KATE', '\u039A\u0391\u03A4\u0395');
    same('MAX', '\u039C\u0391\u03A7');
    same('MAX', '\u041C\u0410\u0425');
    same('EMMA', '\u0415\u041C\u041C\u0410');
    same('PETER', '\u0420\u0415\u0422\u0415R');
    same('ZOE', '\u0396\u039F\u0395');
    // A capital that looks like I counts as I, which the key takes for i (see confusables.ts).
    same('KIM', '\u039A\u0399\u039C');
    same('Ian', '\u0406an'); // Cyrillic І
    differ('lan', '\u0406an');
    // Small look-alikes still meet.
    same('paypal', 'p\u0430ypal');
    same('nov', 'no\u03BD'); // Greek ν
  });

  test('small and capital forms of one nick share a key wherever the table lets them', () => {
    for (const [a, b] of [
      ['\u0410\u043B\u0438\u0441\u0430', '\u0410\u041B\u0418\u0421\u0410'], // Алиса, АЛИСА
      ['\u0411\u043E\u0440\u0438\u0441', '\u0411\u041E\u0420\u0418\u0421'], // Борис
      ['Stra\u00DFe', 'STRASSE'],
    ] as const) {
      same(a, b);
    }
  });
});

describe('looksLikeEveryone', () => {
  test('all in any case and look-alike form', () => {
    for (const nick of [
      'all',
      'ALL',
      'All',
      '\uFF41\uFF4C\uFF4C',
      'a11',
      'AII',
      'a\u04CF\u04CF',
      'al\u0399',
    ]) {
      assert.equal(looksLikeEveryone(nick), true, JSON.stringify(nick));
    }
    for (const nick of ['\u0391\u0399\u0399', 'a\u2160\u2160', 'AIl', 'AlI']) {
      assert.equal(looksLikeEveryone(nick), true, JSON.stringify(nick));
    }
    for (const nick of ['ali', 'alll', 'al', 'ball', 'aII1', 'ALI', 'Ali', 'aLI']) {
      assert.equal(looksLikeEveryone(nick), false, JSON.stringify(nick));
    }
  });
});

describe('nick rules', () => {
  const limits = { maxNickLength: 32, maxMessageLength: 100 };

  test('invisible and blank characters are refused in a new nick', () => {
    for (const ch of [
      '\u034F', // combining grapheme joiner
      '\uFE00',
      '\uFE0F',
      '\u{E0100}',
      '\u{E01EF}', // variation selectors
      '\u115F',
      '\u1160',
      '\u3164',
      '\uFFA0', // Hangul fillers
      '\u17B4',
      '\u180B', // Khmer inherent vowel, Mongolian free variation selector
      '\u2800', // braille pattern blank
      '\u{13441}', // Egyptian hieroglyph full blank
    ]) {
      const code = `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
      assert.throws(() => checkNewNick(`ali${ch}ce`), { code: 'CHAT_NICK_INVALID' }, code);
      assert.throws(
        () => parseNick(`ali${ch}ce`, limits),
        (err: Error) => err.message.endsWith(`invisible character ${code}`),
      );
    }
    // Format characters (soft hyphen, ZWJ) were refused before, in either mode.
    for (const ch of ['\u00AD', '\u200D', '\u200C', '\u2060', '\uFEFF']) {
      assert.throws(() => parseNick(`ali${ch}ce`, { ...limits, auth: 'accounts' }), {
        code: 'CHAT_NICK_INVALID',
      });
    }
  });

  test('a nick that starts with a combining mark is refused as new, kept for old accounts', () => {
    for (const nick of ['\u0301', '\u0332', '\u0332\u0332', '\u0301alice', '\u20DD']) {
      assert.throws(() => checkNewNick(nick), { code: 'CHAT_NICK_INVALID' }, JSON.stringify(nick));
      assert.throws(() => parseNick(nick, limits), { code: 'CHAT_NICK_INVALID' });
      assert.equal(parseNick(nick, { ...limits, auth: 'accounts' }), nick.normalize('NFC'));
    }
    // Marks after a base character are ordinary: é decomposed, Devanagari vowel signs.
    assert.equal(parseNick('e\u0301mile', limits), '\u00E9mile');
    assert.equal(parseNick('\u0915\u093F\u0930\u0923', limits), '\u0915\u093F\u0930\u0923');
  });

  test('ALI, Ali and ali are ordinary nicks in both modes', () => {
    for (const nick of ['ALI', 'Ali', 'ali']) {
      assert.equal(parseNick(nick, limits), nick);
      assert.doesNotThrow(() => checkNewNick(nick));
    }
  });

  test('look-alikes of all are reserved in open mode; accounts mode leaves them to registration', () => {
    assert.throws(() => parseNick('\uFF41\uFF4C\uFF4C', limits), { code: 'CHAT_NICK_RESERVED' });
    assert.throws(() => checkNewNick('\uFF41\uFF4C\uFF4C'), { code: 'CHAT_NICK_RESERVED' });
    // An account of that name from before the rule can still log in and be written to.
    assert.equal(
      parseNick('\uFF41\uFF4C\uFF4C', { ...limits, auth: 'accounts' }),
      '\uFF41\uFF4C\uFF4C',
    );
    assert.equal(parseNick('ali\u034Fce', { ...limits, auth: 'accounts' }), 'ali\u034Fce');
    // `all` itself, in any case, stays reserved everywhere.
    assert.throws(() => parseNick('ALL', { ...limits, auth: 'accounts' }), {
      code: 'CHAT_NICK_RESERVED',
    });
  });
});
