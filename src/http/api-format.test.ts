import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiFormat, apiFrame } from './api-format.js';
import { ClassicFormat } from './classic-format.js';

test('hello is the frame apiFrame would write, with the online list rendered once per list', () => {
  const format = new ApiFormat(15_000);
  const online = Object.freeze(['ann', 'b"o\\b', 'ünï']);
  for (const [user, head] of [
    ['ann', 0],
    ['zoë "z"', 42],
  ] as const) {
    const frame = format.hello(user, head, online);
    const expected = apiFrame(
      'hello',
      { user, id: head, online, onlineCount: 3, heartbeatMs: 15_000 },
      head,
    );
    assert.equal(frame.replace(/^retry: \d+\n/, ''), expected);
    assert.match(frame, /^retry: (1\d{3}|2\d{3})\n/);
  }
  // A new list (someone came or went) is rendered anew.
  const next = format.hello('ann', 43, ['cy']);
  assert.ok(next.includes('"online":["cy"],"onlineCount":1'));
});

test('in a crowd, hello lists the first users online and counts them all', () => {
  const format = new ApiFormat(15_000, 2);
  const frame = format.hello('ann', 7, ['a', 'b', 'c', 'd']);
  const data = JSON.parse(frame.split('data: ')[1] as string);
  assert.deepEqual(data, {
    user: 'ann',
    id: 7,
    online: ['a', 'b'],
    onlineCount: 4,
    heartbeatMs: 15_000,
  });
  assert.equal(format.crowd(4), 'event: online\ndata: {"count":4}\n\n');
});

test('a presence snapshot lists who is online like hello, with the same crowd cut', () => {
  const online = Object.freeze(['ann', 'b"o\\b', 'cy']);
  assert.equal(
    new ApiFormat(15_000).render({ kind: 'presence', online }),
    apiFrame('presence', { online, onlineCount: 3 }),
  );
  assert.equal(
    new ApiFormat(15_000, 2).render({ kind: 'presence', online }),
    'event: presence\ndata: {"online":["ann","b\\"o\\\\b"],"onlineCount":3}\n\n',
  );
});

test('a reaction is a `reaction` frame with its id; the classic format renders none', () => {
  const reaction = { id: 9, target: 3, from: 'bob', to: 'ann', emoji: '👍', on: false, ts: 2 };
  assert.equal(
    new ApiFormat(1000).render({ kind: 'react', reaction }),
    'id: 9\nevent: reaction\ndata: {"id":9,"message":3,"from":"bob","to":"ann","emoji":"👍","on":false,"ts":2}\n\n',
  );
  assert.equal(new ClassicFormat().render({ kind: 'react', reaction }, 'ann'), null);
});
