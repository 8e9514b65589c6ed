import type { ServerResponse } from 'node:http';
import { ChatError, toChatError } from '../domain/errors.js';
import { isStoreUnavailable, storeUnavailableError } from '../domain/store-unavailable.js';
import type { Logger } from '../logger.js';
import type { StoreOutageLog } from '../ops/store-outage-log.js';
import { requestFields } from './request-context.js';

// The one writer of every JSON and error body the HTTP edge sends: answers through node:http
// (sendJson, sendText, sendError) and raw answers on a socket node:http has given up on
// (rawError). Content-Length is always counted in bytes (Buffer.byteLength), never in UTF-16
// code units: a body with one non-ASCII character would otherwise be cut short.

/** The error object of every error body: `{"error": {"code", "message"}}`. */
export function errorObject(error: ChatError): { error: { code: string; message: string } } {
  return { error: { ...error.details, code: error.code, message: error.message } };
}

/** The JSON body of every error response: `{"error": {"code", "message"}}`. */
export function errorBody(error: ChatError): string {
  return JSON.stringify(errorObject(error));
}

/** Writes a JSON response that no cache may keep (every API answer is about this moment). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

/**
 * Writes a complete uncacheable answer of `contentType` (the operations endpoints' JSON and
 * metrics text); node:http sends no body for HEAD by itself.
 */
export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** Writes an answer without a body (204 No Content and the like). */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

/**
 * The one place an error becomes an HTTP response: the catalogue's status, and a JSON body
 * `{"error": {"code", "message"}}` with a stable code. A store that cannot write or be reached
 * is answered 503 SERVER_STORE_UNAVAILABLE with a Retry-After, and counted in `storeOutage`,
 * which logs it without a stack and at most once in a while; other unexpected errors are
 * logged and answered as 500 INTERNAL without their details. A 405 carries the Allow header
 * the router set (router.ts).
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
  res.writeHead(error.status, headers);
  res.end(body);
}

/** Header lines of a raw answer, in the order given. */
type RawHeaders = Readonly<Record<string, string>>;

/**
 * A complete raw HTTP/1.1 error answer that closes the connection, for a socket node:http
 * does not (or no longer) answer: `before` goes ahead of Content-Type, `after` behind
 * Content-Length.
 */
export function rawError(
  error: ChatError,
  reason: string,
  before: RawHeaders = {},
  after: RawHeaders = {},
): string {
  const body = errorBody(error);
  const lines = (headers: RawHeaders): string =>
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
  return (
    `HTTP/1.1 ${error.status} ${reason}\r\n${lines(before)}Content-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${lines(after)}Connection: close\r\n\r\n${body}`
  );
}
