// Helpers shared by ssechat's Redis connections: the Bus's two and Presence's one.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Longest pause between two reconnection attempts: an outage is noticed within this. */
export const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * The ioredis retryStrategy shared by ssechat's Redis connections: exponential from 50 ms,
 * capped at MAX_RECONNECT_DELAY_MS, with "equal jitter" (half fixed, half random) so that the
 * nodes of a cluster do not reconnect in lockstep after a Redis restart. It never gives up:
 * a node without Redis is degraded, not dead, and must recover on its own.
 */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(attempt - 1, 16));
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

/** Checks an integer option against its documented bounds; names the option when it is not. */
export function boundedOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/**
 * Closes an ioredis connection for good and resolves once it is released. `disconnect()` on a
 * connection that is waiting to reconnect only cancels the retry timer and never emits `end`,
 * so that case resolves at once instead of waiting for an event that will not come.
 */
export function release(redis: Redis): Promise<void> {
  if (redis.status === 'end') return Promise.resolve();
  const idle = redis.status === 'reconnecting' || redis.status === 'close';
  return new Promise((resolve) => {
    // ioredis destroys a socket whose FIN is not answered after 2 s; wait a little longer.
    const fallback = setTimeout(resolve, 2500);
    redis.once('end', () => {
      clearTimeout(fallback);
      resolve();
    });
    redis.disconnect();
    if (idle) {
      clearTimeout(fallback);
      resolve();
    }
  });
}

/** The URL without its password, for error messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable Redis URL)';
  }
}

/**
 * Runs a Lua script by its SHA1 and loads it on the first NOSCRIPT (a new or flushed Redis),
 * so that each call sends the 40-byte hash instead of the script. `keys` are KEYS, `args` ARGV.
 */
export async function runScript(
  redis: Redis,
  script: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const sha = shaOf(script);
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return await redis.eval(script, keys.length, ...keys, ...args);
  }
}

const shas = new Map<string, string>();
function shaOf(script: string): string {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  return sha;
}
