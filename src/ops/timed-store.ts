import type { Store } from '../store/store.js';
import { type Observer, secondsSince } from './stats.js';

/** Observes `work`'s duration in seconds, whether it resolves or rejects. */
export function timed<T>(observer: Observer, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const done = (): void => observer.observe(secondsSince(start));
  const promise = work();
  promise.then(done, done);
  return promise;
}

/** A Store method, as the proxy calls it. */
type Method = (...args: unknown[]) => Promise<unknown>;

/**
 * Which histogram a Store method's calls go to, by its name: every write of the log is named
 * `append…` (messages, receipts, room changes, edits and deletes alike, and whatever the
 * Store learns to append next); `since` is the read of a resume. Everything else is untimed.
 */
function histogramOf(
  method: string,
  appendSeconds: Observer,
  readSeconds: Observer,
): Observer | undefined {
  if (method.startsWith('append')) return appendSeconds;
  if (method === 'since') return readSeconds;
  return undefined;
}

/**
 * `inner`, with its appends timed into `appendSeconds` and the reads of a resume into
 * `readSeconds` (store_append_seconds and store_read_seconds, ops/prometheus.ts). It wraps
 * whatever methods the Store has, by name (histogramOf), so it needs no edit when a role grows
 * a method. Every call reaches the inner Store in the same turn it was made, so the ordering
 * promises of store.ts hold unchanged; properties (the accounts) pass through.
 */
export function timedStore(inner: Store, appendSeconds: Observer, readSeconds: Observer): Store {
  /** One wrapper per method name, so that a method read twice is the same function. */
  const wrapped = new Map<string, Method>();
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      let wrapper = wrapped.get(prop);
      if (wrapper === undefined) {
        // The method is looked up at each call, not kept: one replaced on the inner Store
        // later (a test's fault injection) is the one called.
        const call = (args: unknown[]): Promise<unknown> =>
          (Reflect.get(target, prop, target) as Method).apply(target, args);
        const observer = histogramOf(prop, appendSeconds, readSeconds);
        wrapper =
          observer === undefined
            ? (...args: unknown[]) => call(args)
            : (...args: unknown[]) => timed(observer, () => call(args));
        wrapped.set(prop, wrapper);
      }
      return wrapper;
    },
  });
}
