import { randomBytes } from 'node:crypto';
import { IncomingMessage, type ServerResponse } from 'node:http';

/**
 * The request class of our server (createServer's `IncomingMessage` option). It carries what
 * every log line of its request needs as two plain fields, set once on a hidden class every
 * request shares: no per-request context object, Map entry or child logger, which matter on
 * the keep-alive send path when nothing is logged at all.
 */
export class TracedRequest extends IncomingMessage {
  /** The request id, echoed as X-Request-Id. */
  reqId = '';
  /** The nick acting, once authentication or the protocol named one. */
  user: string | undefined = undefined;
}

/** Longest incoming X-Request-Id we adopt; a longer or odd one is replaced by ours. */
const MAX_REQUEST_ID_LENGTH = 64;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Ids are a random per-process prefix and a counter: unique enough to find a request among
 * the lines of a cluster, and a string concatenation each instead of random bytes.
 */
const PREFIX = randomBytes(4).toString('hex');
let counter = 0;

/**
 * Gives the request its id (a sane incoming X-Request-Id, e.g. from a proxy, or a new one)
 * and echoes it in the response's X-Request-Id header.
 */
export function startRequest(req: TracedRequest, res: ServerResponse): void {
  const incoming = req.headers['x-request-id'];
  req.reqId =
    typeof incoming === 'string' &&
    incoming.length <= MAX_REQUEST_ID_LENGTH &&
    REQUEST_ID.test(incoming)
      ? incoming
      : `${PREFIX}-${(++counter).toString(36)}`;
  res.setHeader('X-Request-Id', req.reqId);
}

/** Records who the request acts as, for its log lines; a no-op outside our server. */
export function setRequestUser(req: IncomingMessage, nick: string): void {
  if (req instanceof TracedRequest) req.user = nick;
}

/** The log fields that tie a line to its request: `reqId` and, once known, `user`. */
export function requestFields(req: IncomingMessage | undefined): {
  reqId?: string;
  user?: string;
} {
  if (!(req instanceof TracedRequest)) return {};
  return req.user === undefined ? { reqId: req.reqId } : { reqId: req.reqId, user: req.user };
}
