import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bucket, Limiter } from './limiter.js';

/**
 * How a backend's test file hands the suite limiters: each call to `create` returns a
 * limiter with its own keys (for Redis: a fresh prefix). Two limiters made by `shared` see the
 * same buckets, as two processes of a cluster would; null where the backend is per process.
 */
export interface LimiterFactory {
  create(bucket: Bucket): Limiter;
  shared: ((bucket: Bucket) => [Limiter, Limiter]) | null;
}

/** The Limiter contract (limiter.ts), run by each backend's test file. */
export function limiterContract(name: string, factory: LimiterFactory): void {
  describe(`Limiter contract: ${name}`, () => {
    test('a fresh key gets its burst, then a wait, and keys are independent', async () => {
      const limiter = factory.create({ rate: 1, burst: 3 });
      try {
        for (let i = 0; i < 3; i++) assert.equal(await limiter.take('a'), 0, `hit ${i}`);
        const wait = await limiter.take('a');
        assert.ok(wait > 0 && wait <= 1000, `wait ${wait}`);
        assert.equal(await limiter.take('b'), 0);
      } finally {
        await limiter.close();
      }
    });

    test('waiting the reported time is enough, however hard a client hammered', async () => {
      const limiter = factory.create({ rate: 20, burst: 2 });
      try {
        await limiter.take('k');
        await limiter.take('k');
        let wait = 0;
        for (let i = 0; i < 20; i++) wait = await limiter.take('k');
        assert.ok(wait > 0 && wait <= 50, `wait ${wait}`);
        await sleep(wait + 5);
        assert.equal(await limiter.take('k'), 0);
      } finally {
        await limiter.close();
      }
    });

    test('tokens refill at the rate and never past the burst', async () => {
      const limiter = factory.create({ rate: 100, burst: 2 });
      try {
        assert.equal(await limiter.take('r'), 0);
        assert.equal(await limiter.take('r'), 0);
        assert.ok((await limiter.take('r')) > 0);
        await sleep(200); // 20 tokens' worth of time, capped at 2
        assert.equal(await limiter.take('r'), 0);
        assert.equal(await limiter.take('r'), 0);
        assert.ok((await limiter.take('r')) > 0);
      } finally {
        await limiter.close();
      }
    });

    test('concurrent hits never get more than the burst', async () => {
      const limiter = factory.create({ rate: 0.001, burst: 10 });
      try {
        const waits = await Promise.all(Array.from({ length: 50 }, () => limiter.take('c')));
        assert.equal(waits.filter((w) => w === 0).length, 10);
      } finally {
        await limiter.close();
      }
    });

    const shared = factory.shared;
    if (shared) {
      test('processes of a cluster share one bucket per key', async () => {
        const [a, b] = shared({ rate: 0.001, burst: 4 });
        try {
          const waits = await Promise.all([
            a.take('s'),
            b.take('s'),
            a.take('s'),
            b.take('s'),
            a.take('s'),
            b.take('s'),
          ]);
          assert.equal(waits.filter((w) => w === 0).length, 4);
        } finally {
          await a.close();
          await b.close();
        }
      });
    }
  });
}
