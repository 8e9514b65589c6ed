/**
 * The wire side of a push: the request, encrypted and signed, and one POST of it to the address
 * the EndpointGuard checked, on a connection of its own, with the caller's abort signal as its
 * timeout.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import webpush from 'web-push';
import type { PushSubscriptionRecord, VapidKeys } from '../../store/push-store.js';
import type { PushTarget } from './endpoint-guard.js';
import { DEFAULT_TTL_SECONDS, type PushOptions } from './options.js';

/**
 * The headers and body of a push of `payload` (JSON) to `sub`: encrypted for its browser with
 * a new record key and salt each time (web-push: RFC 8291 with a fresh ECDH pair), and signed
 * with a VAPID JWT whose `aud` is the endpoint's origin and `exp` 12 hours away.
 */
export function pushRequest(
  sub: PushSubscriptionRecord,
  payload: string,
  options: PushOptions,
  keys: VapidKeys,
  subject: string,
): { headers: Record<string, string | number>; body: Buffer } {
  const details = webpush.generateRequestDetails(
    { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
    payload,
    {
      vapidDetails: { subject, publicKey: keys.publicKey, privateKey: keys.privateKey },
      TTL: options.ttl ?? DEFAULT_TTL_SECONDS,
      urgency: options.urgency ?? 'normal',
      ...(options.topic === undefined ? {} : { topic: options.topic }),
      contentEncoding: 'aes128gcm',
    },
  );
  return { headers: details.headers, body: details.body as Buffer };
}

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
