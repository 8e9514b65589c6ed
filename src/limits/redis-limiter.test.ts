import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { limiterContract } from './limiter.contract.js';
import { RedisLimiter } from './redis-limiter.js';

// CI starts Redis (scripts/services.sh); one namespace per run, deleted at the end.
const REDIS_URL = process.env.SSECHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = `ssechat-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
let counter = 0;

limiterContract('redis', {
  create: (bucket) =>
    new RedisLimiter({ ...bucket, url: REDIS_URL, prefix: `${RUN}${++counter}:` }),
  shared: (bucket) => {
    const prefix = `${RUN}${++counter}:`;
    return [
      new RedisLimiter({ ...bucket, url: REDIS_URL, prefix }),
      new RedisLimiter({ ...bucket, url: REDIS_URL, prefix }),
    ];
  },
});

test('Redis out of reach: hits are let through, not refused', async () => {
  const warnings: string[] = [];
  const limiter = new RedisLimiter({
    rate: 0.001,
    burst: 1,
    url: 'redis://127.0.0.1:1',
    prefix: `${RUN}down:`,
    logger: {
      debug() {},
      info() {},
      warn: (msg) => warnings.push(msg),
      error() {},
      isLevelEnabled: () => true,
    },
  });
  try {
    for (let i = 0; i < 3; i++) assert.equal(await limiter.take('k'), 0);
    assert.equal(warnings.length, 1, 'one warning per outage');
  } finally {
    await limiter.close();
  }
});

test('buckets expire: Redis keeps only recently hit keys', async () => {
  const prefix = `${RUN}ttl:`;
  const limiter = new RedisLimiter({ rate: 10, burst: 5, url: REDIS_URL, prefix });
  const admin = new Redis(REDIS_URL);
  try {
    await limiter.take('k');
    const ttl = await admin.pttl(`${prefix}k`);
    assert.ok(ttl > 0 && ttl <= 1500, `ttl ${ttl}`);
  } finally {
    await limiter.close();
    admin.disconnect();
  }
});

after(async () => {
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${RUN}*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
});
