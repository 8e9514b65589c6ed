import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from './rate-limit.js';

test('allows `limit` hits per window, then reports the wait until the oldest leaves', () => {
  const rl = new RateLimiter({ limit: 3, windowMs: 1000, maxKeys: 10 });
  assert.equal(rl.hit('a', 0), 0);
  assert.equal(rl.hit('a', 100), 0);
  assert.equal(rl.hit('a', 200), 0);
  assert.equal(rl.hit('a', 300), 700);
  assert.equal(rl.check('a', 999), 1);
  assert.equal(rl.hit('a', 999.5), 1); // whole ms, rounded up, never 0 on refusal
  // The window slides: at 1000 the hit at 0 has left, the ones at 100 and 200 have not.
  assert.equal(rl.hit('a', 1000), 0);
  assert.equal(rl.hit('a', 1000), 100);
  assert.equal(rl.hit('a', 1100), 0);
  assert.equal(rl.hit('a', 1150), 50);
});

test('keys are counted separately', () => {
  const rl = new RateLimiter({ limit: 1, windowMs: 1000, maxKeys: 10 });
  assert.equal(rl.hit('a', 0), 0);
  assert.equal(rl.hit('a', 0), 1000);
  assert.equal(rl.hit('b', 0), 0);
  assert.equal(rl.check('c', 0), 0);
});

test('refused hits are not recorded, so waiting the reported time always works', () => {
  const rl = new RateLimiter({ limit: 2, windowMs: 1000, maxKeys: 10 });
  rl.hit('a', 0);
  rl.hit('a', 10);
  for (let t = 20; t < 1000; t += 7) assert.ok(rl.hit('a', t) > 0);
  const wait = rl.hit('a', 500);
  assert.equal(wait, 500);
  assert.equal(rl.hit('a', 500 + wait), 0);
});

test('no burst at a window boundary, unlike fixed windows', () => {
  const rl = new RateLimiter({ limit: 5, windowMs: 1000, maxKeys: 10 });
  for (let i = 0; i < 5; i++) assert.equal(rl.hit('a', 999), 0);
  for (let i = 0; i < 5; i++) assert.equal(rl.hit('a', 1001), 998);
});

test('check reports without recording', () => {
  const rl = new RateLimiter({ limit: 2, windowMs: 1000, maxKeys: 10 });
  for (let i = 0; i < 5; i++) assert.equal(rl.check('a', 0), 0);
  assert.equal(rl.size, 0);
  rl.hit('a', 0);
  assert.equal(rl.check('a', 1), 0);
  rl.hit('a', 1);
  assert.equal(rl.check('a', 2), 998);
  assert.equal(rl.check('a', 999), 1);
  assert.equal(rl.check('a', 1000), 0);
  assert.equal(rl.hit('a', 1000), 0);
});

test('reset forgets a key', () => {
  const rl = new RateLimiter({ limit: 1, windowMs: 60_000, maxKeys: 10 });
  rl.hit('a', 0);
  rl.hit('b', 0);
  assert.ok(rl.hit('a', 1) > 0);
  rl.reset('a');
  rl.reset('never seen');
  assert.equal(rl.hit('a', 1), 0);
  assert.ok(rl.hit('b', 1) > 0);
});

test('memory is bounded: a new key evicts the one hit least recently', () => {
  const rl = new RateLimiter({ limit: 1, windowMs: 60_000, maxKeys: 3 });
  rl.hit('a', 0);
  rl.hit('b', 0);
  rl.hit('c', 0);
  assert.ok(rl.hit('a', 1) > 0); // refused, but it moves 'a' to the end
  rl.hit('d', 2); // evicts 'b', the least recently hit
  assert.equal(rl.size, 3);
  assert.equal(rl.check('b', 3), 0);
  assert.ok(rl.check('a', 3) > 0);
  assert.ok(rl.check('c', 3) > 0);
  assert.ok(rl.check('d', 3) > 0);
  // Cycling fresh keys never grows the table.
  for (let i = 0; i < 10_000; i++) rl.hit(`k${i}`, 4);
  assert.equal(rl.size, 3);
  assert.equal(rl.check('a', 5), 0); // evicted, so counted from zero again
});

test('expired keys are forgotten lazily, with no timers to keep the process alive', () => {
  const rl = new RateLimiter({ limit: 1, windowMs: 1000, maxKeys: 10 });
  rl.hit('a', 0);
  assert.equal(rl.check('a', 1000), 0);
  assert.equal(rl.hit('a', 1000), 0);
  assert.equal(rl.hit('a', 1500), 500);
});

test('the default clock works', () => {
  const rl = new RateLimiter({ limit: 1, windowMs: 60_000, maxKeys: 10 });
  assert.equal(rl.hit('a'), 0);
  const wait = rl.hit('a');
  assert.ok(wait > 59_000 && wait <= 60_000, String(wait));
  assert.ok(rl.check('a') > 0);
});

test('a clock that goes backwards never yields a wait beyond the window', () => {
  const rl = new RateLimiter({ limit: 1, windowMs: 1000, maxKeys: 10 });
  rl.hit('a', 10_000);
  assert.equal(rl.hit('a', 0), 1000);
});

test('rejects impossible options', () => {
  const ok = { limit: 1, windowMs: 1, maxKeys: 1 };
  for (const bad of [
    { limit: 0 },
    { limit: 1.5 },
    { limit: Number.NaN },
    { windowMs: 0 },
    { windowMs: Number.POSITIVE_INFINITY },
    { maxKeys: 0 },
    { maxKeys: -1 },
  ]) {
    assert.throws(() => new RateLimiter({ ...ok, ...bad }), RangeError, JSON.stringify(bad));
  }
});
