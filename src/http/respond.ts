import type { ServerResponse } from 'node:http';
import { ChatError, toChatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { requestFields } from './request-context.js';

/** The JSON body of every error response: `{"error": {"code", "message"}}`. */
export function errorBody(error: ChatError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message } });
}

/**
 * The one place an error becomes an HTTP response: the catalogue's status, and a JSON body
 * `{"error": {"code", "message"}}` with a stable code. Unexpected errors are logged and
 * answered as 500 INTERNAL without their details.
 */
export function sendError(res: ServerResponse, err: unknown, logger: Logger): void {
  const error = toChatError(err);
  if (!(err instanceof ChatError))
    logger.error('request failed', { err, ...requestFields(res.req) });
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
