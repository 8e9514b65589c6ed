/**
 * The wire side of a push: one POST to the address the EndpointGuard checked, on a connection
 * of its own, with the caller's abort signal as its timeout.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { PushTarget } from './endpoint-guard.js';

/** `promise`, or a rejection as soon as `signal` aborts (a DNS lookup cannot be cancelled). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((ok, fail) => {
    const onAbort = (): void => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        ok(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        fail(err);
      },
    );
  });
}

/**
 * A lookup that answers the checked address whatever name it is asked: the connection goes
 * where the guard looked, not where a second DNS answer would send it. It answers in both of
 * the forms net.connect asks for (a list with autoSelectFamily, else one address).
 */
function pinnedLookup(target: PushTarget): LookupFunction {
  return (_hostname, options, callback) => {
    const { address, family } = target;
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (err: null, list: { address: string; family: number }[]) => void)(
        null,
        [{ address, family }],
      );
    } else {
      callback(null, address, family);
    }
  };
}

/**
 * One POST to `target`, on a connection of its own (no pooled socket to an address checked
 * for an earlier push). Resolves with the status and Retry-After; the response body is not
 * read. Rejects on a network error or when `signal` aborts (the timeout).
 */
export function postTo(
  target: PushTarget,
  headers: Record<string, string | number>,
  body: Buffer,
  signal: AbortSignal,
): Promise<{ status: number; retryAfterMs?: number }> {
  const request = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((ok, fail) => {
    const req = request(
      target.url,
      { method: 'POST', headers, lookup: pinnedLookup(target), agent: false, signal },
      (res) => {
        const status = res.statusCode ?? 0;
        const retryAfterMs = retryAfter(res.headers);
        // Nothing of the answer is needed: close the connection rather than read it.
        res.destroy();
        ok(retryAfterMs === undefined ? { status } : { status, retryAfterMs });
      },
    );
    req.once('error', fail);
    req.end(body);
  });
}

/** Retry-After in ms, when the response has one in seconds (a date form is ignored). */
function retryAfter(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['retry-after'];
  if (value === undefined || !/^\d{1,6}$/.test(value)) return undefined;
  return Number(value) * 1000;
}
