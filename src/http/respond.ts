import type { ServerResponse } from 'node:http';
import { ChatError, toChatError } from '../domain/errors.js';
import { isStoreUnavailable, storeUnavailableError } from '../domain/store-unavailable.js';
import type { Logger } from '../logger.js';
import type { StoreOutageLog } from '../ops/store-outage-log.js';
import { requestFields } from './request-context.js';

/** The JSON body of every error response: `{"error": {"code", "message"}}`. */
export function errorBody(error: ChatError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message } });
}

/**
 * The one place an error becomes an HTTP response: the catalogue's status, and a JSON body
 * `{"error": {"code", "message"}}` with a stable code. A store that cannot write or be reached
 * is answered 503 SERVER_STORE_UNAVAILABLE with a Retry-After, and counted in `storeOutage`,
 * which logs it without a stack and at most once in a while; other unexpected errors are
 * logged and answered as 500 INTERNAL without their details.
 */
export function sendError(
  res: ServerResponse,
  err: unknown,
  logger: Logger,
  storeOutage: StoreOutageLog,
): void {
  let error: ChatError;
  if (err instanceof ChatError) error = err;
  else if (isStoreUnavailable(err)) {
    // Not a bug but a database that cannot write or cannot be reached: the client may retry,
    // and the operator needs to know (readiness says so too, see domain/store-unavailable.ts and store/write-health.ts).
    storeOutage.refused(err);
    error = storeUnavailableError();
  } else {
    logger.error('request failed', { err, ...requestFields(res.req) });
    error = toChatError(err);
  }
  if (res.headersSent) {
    // A stream already answered 200; all that is left is to end it.
    res.destroy();
    return;
  }
  const body = errorBody(error);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  };
  if (error.retryAfterMs !== undefined) {
    // Whole seconds, rounded up: a client that waits that long is let in.
    headers['Retry-After'] = Math.max(1, Math.ceil(error.retryAfterMs / 1000));
  }
  if (error.code === 'HTTP_METHOD_NOT_ALLOWED' && !res.hasHeader('Allow')) {
    headers.Allow = 'GET, HEAD';
  }
  res.writeHead(error.status, headers);
  res.end(body);
}
