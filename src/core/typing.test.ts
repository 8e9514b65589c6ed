import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TYPING_EVERY_MS, TypingThrottle } from './typing.js';

test('a typing notice passes once per TYPING_EVERY_MS per sender and conversation', () => {
  const t = new TypingThrottle();
  assert.equal(t.pass('ann', 'bob', 0), true);
  assert.equal(t.pass('ann', 'bob', TYPING_EVERY_MS - 1), false);
  assert.equal(t.pass('ann', '#r', 1), true, 'another conversation');
  assert.equal(t.pass('cat', 'bob', 1), true, 'another sender');
  assert.equal(t.pass('ann', 'bob', TYPING_EVERY_MS), true);
});

test('the throttle forgets the oldest pairs past its bound', () => {
  const t = new TypingThrottle();
  t.pass('first', 'x', 0);
  for (let i = 0; i < 50_000; i++) t.pass(`u${i}`, 'x', 1);
  // "first" was pushed out, so it passes again within the window.
  assert.equal(t.pass('first', 'x', 2), true);
  assert.equal(t.pass('u49999', 'x', 2), false);
});
