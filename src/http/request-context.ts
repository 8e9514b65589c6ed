import { randomBytes } from 'node:crypto';
import {
  IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';

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

/**
 * The response class of our server (createServer's `ServerResponse` option): it adds
 * X-Request-Id as the head is written. node writes `writeHead(status, {…})` straight into the
 * head when no header was set before, but a setHeader() first sends it through a slower path
 * that merges the two (about 2 µs a response here, measured), so the id joins the object
 * given to writeHead instead. Implicit heads (`res.end()` alone) come through writeHead too.
 */
export class TracedResponse extends ServerResponse<TracedRequest> {
  override writeHead(
    statusCode: number,
    messageOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    const id = this.req.reqId;
    if (typeof messageOrHeaders === 'string') {
      return super.writeHead(statusCode, messageOrHeaders, withId(headers, id));
    }
    return super.writeHead(statusCode, withId(messageOrHeaders, id));
  }
}

/** `headers` plus X-Request-Id, copied: callers may pass a shared constant (SSE_HEADERS). */
function withId(
  headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined,
  id: string,
): OutgoingHttpHeaders | OutgoingHttpHeader[] {
  if (headers === undefined) return { 'X-Request-Id': id };
  if (Array.isArray(headers)) return [...headers, 'X-Request-Id', id];
  return { ...headers, 'X-Request-Id': id };
}

/** Longest incoming X-Request-Id we adopt; a longer or odd one is replaced by ours. */
const MAX_REQUEST_ID_LENGTH = 64;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Request ids of one server: a random prefix and a counter, unique enough to find a request
 * among the lines of a cluster, and a string concatenation each instead of random bytes.
 */
export class RequestIds {
  private readonly prefix = randomBytes(4).toString('hex');
  private counter = 0;

  /**
   * Gives the request its id: a sane incoming X-Request-Id (e.g. from a proxy) or a new one.
   * TracedResponse echoes it.
   */
  start(req: TracedRequest): void {
    const incoming = req.headers['x-request-id'];
    req.reqId =
      typeof incoming === 'string' &&
      incoming.length <= MAX_REQUEST_ID_LENGTH &&
      REQUEST_ID.test(incoming)
        ? incoming
        : `${this.prefix}-${(++this.counter).toString(36)}`;
  }
}

/** Records who the request acts as, for its log lines; a no-op outside our server. */
export function setRequestUser(req: IncomingMessage, nick: string): void {
  if (req instanceof TracedRequest) req.user = nick;
}

/** Who the request acts as, once known (setRequestUser); undefined outside our server. */
export function requestUser(req: IncomingMessage): string | undefined {
  return req instanceof TracedRequest ? req.user : undefined;
}

/** The log fields that tie a line to its request: `reqId` and, once known, `user`. */
export function requestFields(req: IncomingMessage | undefined): {
  reqId?: string;
  user?: string;
} {
  if (!(req instanceof TracedRequest)) return {};
  return req.user === undefined ? { reqId: req.reqId } : { reqId: req.reqId, user: req.user };
}
