import assert from 'node:assert/strict';
import { test } from 'node:test';
import { limiterContract } from './limiter.contract.js';
import { MemoryLimiter } from './memory-limiter.js';

limiterContract('memory', { create: (bucket) => new MemoryLimiter(bucket), shared: null });

test('memory is bounded: the key hit least recently is forgotten', () => {
  let now = 0;
  const limiter = new MemoryLimiter({ rate: 1, burst: 1, maxKeys: 2, now: () => now });
  assert.equal(limiter.takeNow('a'), 0);
  assert.equal(limiter.takeNow('b'), 0);
  assert.equal(limiter.takeNow('a'), 1000); // a is now the most recent
  assert.equal(limiter.takeNow('c'), 0); // evicts b
  assert.equal(limiter.size, 2);
  assert.equal(limiter.takeNow('a'), 1000);
  assert.equal(limiter.takeNow('b'), 0, 'b starts full again');
  now = 500;
  assert.equal(limiter.takeNow('b'), 500);
});

test('bad buckets are refused', () => {
  assert.throws(() => new MemoryLimiter({ rate: 0, burst: 1 }), /rate/);
  assert.throws(() => new MemoryLimiter({ rate: 1, burst: 0 }), /burst/);
  assert.throws(() => new MemoryLimiter({ rate: 1, burst: 1, maxKeys: 0 }), /maxKeys/);
});
