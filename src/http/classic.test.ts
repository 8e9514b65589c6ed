import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError } from '../domain/errors.js';
import { decodeClassic, parseClassicMessage } from './classic.js';
import { ClassicFormat, classicFrame, seedTimestamp } from './classic-format.js';

test('decodeClassic reads UTF-8, the seed page escape() encoding, and + as space', () => {
  assert.equal(decodeClassic('john%20hello'), 'john hello');
  assert.equal(decodeClassic('john+hello'), 'john hello');
  assert.equal(decodeClassic('j%C3%B6hn%20%E2%82%AC'), 'jöhn €');
  // escape('jöhn €') in the seed's page
  assert.equal(decodeClassic('j%F6hn%20%u20AC'), 'jöhn €');
  assert.equal(decodeClassic('100%'), '100%');
  assert.equal(decodeClassic('a%2Fb%0D%0A'), 'a/b\r\n');
});

test('parseClassicMessage splits at the first slash, then at the first space', () => {
  assert.deepEqual(parseClassicMessage('mary/john%20hello'), {
    from: 'mary',
    to: 'john',
    text: 'hello',
  });
  assert.deepEqual(parseClassicMessage('mary/all%20see%20http://x.org/a?b=1#c'), {
    from: 'mary',
    to: 'all',
    text: 'see http://x.org/a?b=1#c',
  });
  assert.deepEqual(parseClassicMessage('mary/john%20'), { from: 'mary', to: 'john', text: '' });
  const malformed = (err: unknown) =>
    err instanceof ChatError && err.code === 'CHAT_MESSAGE_MALFORMED';
  for (const bad of ['mary/john', 'mary/%20hello', 'mary/', '/john%20hi', 'mary', '']) {
    assert.throws(() => parseClassicMessage(bad), malformed, bad);
  }
});

test('classicFrame frames one line, an id, and multi-line text as several data lines', () => {
  assert.equal(classicFrame('Welcome john!'), 'data: Welcome john!\n\n');
  assert.equal(classicFrame('mary: hi', 7), 'id: 7\ndata: mary: hi\n\n');
  assert.equal(
    classicFrame('mary: a\nb\n\nc', 8),
    'id: 8\ndata: mary: a\ndata: b\ndata: \ndata: c\n\n',
  );
});

test('seedTimestamp formats like PHP date("Y-m-d H:i") in local time', () => {
  const d = new Date(2026, 0, 2, 3, 4, 59);
  assert.equal(seedTimestamp(d.getTime()), '2026-01-02 03:04');
});

test('the greeting lists who is online, whether each list extends the last one or not', () => {
  const format = new ClassicFormat();
  const online = (list: readonly string[]): string => {
    const g = format.greeting('me', { online: list, offline: [], head: 0 });
    return g.slice(g.indexOf('data: now online:'));
  };
  const lists: string[][] = [
    [],
    ['a'],
    ['a', 'b'],
    ['a', 'b'],
    ['a', 'b', 'c', 'd'],
    ['a', 'c'],
    ['a', 'c', 'e'],
    [],
    ['x'],
  ];
  for (const list of lists) {
    assert.equal(online(Object.freeze([...list])), `data: now online: ${list.join(', ')}\n\n`);
  }
  // The very same list again (presence hands one out until someone comes or goes).
  const same = Object.freeze(['p', 'q']);
  assert.equal(online(same), 'data: now online: p, q\n\n');
  assert.equal(online(same), 'data: now online: p, q\n\n');
});
