import { Redis } from 'ioredis';
import { type Logger, silentLogger } from '../logger.js';
import { reconnectDelay, release, runScript } from '../redis/connection.js';
import type { Bucket, Limiter } from './limiter.js';

/**
 * One token-bucket hit, atomic in Redis. KEYS[1]: the bucket, a hash of tokens `t` at time
 * `a` (ms). ARGV: rate per ms, burst. The clock is Redis's own TIME, so the nodes of a cluster
 * need not agree on theirs. The bucket expires once it would be full again, so Redis holds
 * only keys hit within the last burst/rate seconds. Returns 0, or the ms until a token.
 */
const TAKE = `
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = burst
if state[1] then
  tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate))
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait
`;

/** Options of a RedisLimiter. */
export interface RedisLimiterOptions extends Bucket {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** Prepended to each key: `${prefix}${key}`; include the limit's name in it. */
  readonly prefix: string;
  /** Longest wait for an answer; past it the hit is let through. [default 500 ms] */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/**
 * A token bucket per key shared by every process of a cluster, in Redis. Each hit is one
 * script call. When Redis cannot be reached the hit is let through (see Limiter), and a
 * warning is logged once per outage.
 */
export class RedisLimiter implements Limiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #args: readonly number[];
  readonly #logger: Logger;
  #failing = false;

  constructor(options: RedisLimiterOptions) {
    const { rate, burst } = options;
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`invalid rate: ${rate}`);
    if (!Number.isSafeInteger(burst) || burst < 1) throw new RangeError(`invalid burst: ${burst}`);
    this.#prefix = options.prefix;
    this.#args = [rate / 1000, burst];
    this.#logger = options.logger ?? silentLogger;
    this.#redis = new Redis(options.url, {
      connectionName: 'ssechat:limits',
      retryStrategy: reconnectDelay,
      // Hits wait for the first connection, but at most timeoutMs (commandTimeout covers
      // queued commands too), and each failed reconnection attempt fails the queue at once
      // (maxRetriesPerRequest 0): during an outage, hits are let through, not piled up.
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs ?? 500,
    });
    this.#redis.on('error', () => {
      // Reported by take(), once per outage; ioredis would print every attempt otherwise.
    });
  }

  async take(key: string): Promise<number> {
    try {
      const wait = Number(await runScript(this.#redis, TAKE, [this.#prefix + key], this.#args));
      this.#failing = false;
      return Number.isFinite(wait) && wait > 0 ? wait : 0;
    } catch (err) {
      if (!this.#failing) {
        this.#failing = true;
        this.#logger.warn('rate limit unavailable: letting requests through', {
          error: (err as Error).message,
        });
      }
      return 0;
    }
  }

  close(): Promise<void> {
    return release(this.#redis);
  }
}
