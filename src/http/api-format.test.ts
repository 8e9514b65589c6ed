import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiFormat, apiFrame } from './api-format.js';

test('hello is the frame apiFrame would write, with the online list rendered once per list', () => {
  const format = new ApiFormat(15_000);
  const online = Object.freeze(['ann', 'b"o\\b', 'ünï']);
  for (const [user, head] of [
    ['ann', 0],
    ['zoë "z"', 42],
  ] as const) {
    const frame = format.hello(user, head, online);
    const expected = apiFrame('hello', { user, id: head, online, heartbeatMs: 15_000 }, head);
    assert.equal(frame.replace(/^retry: \d+\n/, ''), expected);
    assert.match(frame, /^retry: (1\d{3}|2\d{3})\n/);
  }
  // A new list (someone came or went) is rendered anew.
  const next = format.hello('ann', 43, ['cy']);
  assert.ok(next.includes('"online":["cy"]'));
});
