import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Registration } from '../auth/registration.js';
import type { Config } from '../config.js';
import type { ChatService } from '../core/chat.js';
import type { ChatNotify } from '../core/chat-notify.js';
import type { Profiles } from '../core/profiles.js';
import type { Resume } from '../core/resume.js';
import { ChatError } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import type { MessageRate } from '../ops/message-rate.js';
import type { Metrics } from '../ops/prometheus.js';
import type { Readiness } from '../ops/readiness.js';
import type { StoreOutageLog } from '../ops/store-outage-log.js';
import type { PushSubscriptions } from '../outbound/push/subscriptions.js';
import type { RosterStore } from '../store/roster-store.js';
import type { Uploads } from '../uploads/uploads.js';
import type { AddressBans } from './address-bans.js';
import type { Admission } from './admission.js';
import { Api } from './api.js';
import type { Auth } from './auth.js';
import { BodyDeadlines } from './body-deadline.js';
import { ClassicProtocol } from './classic.js';
import { gateConnections, softFileLimit } from './connection-gate.js';
import { holdKeepAlive, KEEP_ALIVE_TIMEOUT_MS } from './keep-alive.js';
import { OpsEndpoints } from './ops.js';
import { rawError, sendError } from './reply.js';
import { RequestIds, TracedRequest, TracedResponse } from './request-context.js';
import { pathOf } from './router.js';
import { createRouter } from './routes.js';
import type { NodeStreams } from './sse/node-transport.js';
import { findWebDir, inlineCodeHeaders, StaticAssets, StaticPage } from './static.js';

/**
 * Bounds on what a client may send before the router sees it. Headers (request line
 * included) past MAX_HEADER_BYTES get 431; a request whose headers take longer than
 * HEADERS_TIMEOUT_MS is dropped (slowloris); a kept-alive socket closes KEEP_ALIVE_TIMEOUT_MS
 * after its last response unless a new request has begun (holdKeepAlive). Open streams are not affected: their request is long complete.
 * A connection that sends nothing is held to HEADERS_TIMEOUT_MS too (node starts its clock at
 * accept). Both answer 408 HTTP_REQUEST_TIMEOUT and close.
 */
const MAX_HEADER_BYTES = 16_384;
const HEADERS_TIMEOUT_MS = 10_000;
/**
 * How often node looks for connections past the two timeouts above. Its default, 30 s, let a
 * silent or dripping connection live up to 40 s where 10 s were promised. The check walks
 * only connections with a request in progress (streams gave their parser back), so once a
 * second is cheap, and a timeout is kept to within a second or so (a silent connection closes
 * at 11.0 s, test/connections.test.ts).
 */
const TIMEOUT_CHECK_MS = 1_000;

// Our page builds every element with textContent; its scripts and styles are files under
// /assets/ (no inline code at all), and nothing is loaded from elsewhere. Its service worker
// (/sw.js) and its manifest (/assets/manifest.webmanifest) are ours too: worker-src and
// manifest-src would otherwise fall back to default-src 'none'.
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** What the HTTP edge needs from the composition root. */
export interface HttpDeps {
  readonly config: Config;
  readonly chat: ChatService;
  /** Read markers, unread counts, notification levels, attention (core/chat-notify.ts). */
  readonly notify: ChatNotify;
  readonly auth: Auth;
  readonly resume: Resume;
  readonly logger: Logger;
  /** Rate limits and the per-user stream cap. */
  readonly admission: Admission;
  /** Counters for the front doors, and what /metrics serves. */
  readonly metrics: Metrics;
  /** What /readyz reports; markDraining() turns it to 503. */
  readonly readiness: Readiness;
  /** Where requests refused for a store that cannot write are counted and logged. */
  readonly storeOutage: StoreOutageLog;
  /** The node:http side of the server's streams, and the registry shutdown cuts. */
  readonly streams: NodeStreams;
  /** Web Push: the VAPID key and the browsers' subscriptions. */
  readonly push: PushSubscriptions;
  /** Uploaded files: receiving, serving, discarding (uploads/uploads.ts). */
  readonly uploads: Uploads;
  /** Display names, avatars and the directory (core/profiles.ts). */
  readonly profiles: Profiles;
  /** This process's copy of the address bans (address-bans.ts); absent in some tests. */
  readonly addressBans?: AddressBans;
  /** Admins' view of accounts: role, last seen, sanctions (store/roster-store.ts). */
  readonly roster: RosterStore;
  /** Messages accepted in the last minute (admins' health). */
  readonly rate: MessageRate;
  /** When this process started, ms since the epoch (admins' health: uptime). */
  readonly started: number;
  /** Who may register: the mode and the invite links (auth/registration.ts). */
  readonly registration: Registration;
}

/**
 * The HTTP edge: bounds what a client may send, then hands each request to the route table
 * (routes.ts, the whole surface in match order) and every error to reply.ts.
 */
export function createHttpServer(deps: HttpDeps): Server {
  const { config, logger } = deps;
  const stats = deps.metrics.stats;
  const web = findWebDir();
  // The seed's page runs inline code; its CSP allows exactly that code, by hash.
  const seedPath = join(web, 'classic.html');
  const pageHeaders = { 'Content-Security-Policy': PAGE_CSP, 'X-Frame-Options': 'DENY' };
  const router = createRouter({
    index: new StaticPage(join(web, 'index.html'), 'text/html; charset=utf-8', pageHeaders),
    adminPage: new StaticPage(join(web, 'admin.html'), 'text/html; charset=utf-8', pageHeaders),
    seedPage: new StaticPage(seedPath, 'text/html; charset=UTF-8', inlineCodeHeaders(seedPath)),
    assets: new StaticAssets(web),
    classic: new ClassicProtocol({
      chat: deps.chat,
      auth: deps.auth,
      logger,
      storeOutage: deps.storeOutage,
      maxQueueBytes: config.maxQueueBytes,
      admission: deps.admission,
      stats,
      streams: deps.streams,
    }),
    api: new Api({ ...deps, stats }),
    ops: new OpsEndpoints({ ...deps, metricsToken: config.metricsToken }),
  });
  const fail = (res: ServerResponse, err: unknown): void =>
    sendError(res, err, logger, deps.storeOutage);

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    // Node hands us the request target as bytes (latin1), so length is its size in bytes.
    if ((req.url ?? '/').length > config.maxUrlLength) {
      throw new ChatError('HTTP_URI_TOO_LONG', `the limit is ${config.maxUrlLength} bytes`);
    }
    const pending = router.handle(req, res);
    if (pending) pending.catch((err: unknown) => fail(res, err));
  };

  // Decided once: at info and above, a request allocates no listener, clock read or line.
  const accessLog = logger.isLevelEnabled('debug');
  const requestIds = new RequestIds();
  const bodies = new BodyDeadlines();
  const server = createServer(
    {
      IncomingMessage: TracedRequest,
      ServerResponse: TracedResponse,
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      // Off: a body's deadline is BodyDeadlines' (body-deadline.ts), which lets an upload
      // that keeps coming take longer than a JSON body may.
      requestTimeout: 0,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    (req, res) => {
      holdKeepAlive(req, res);
      if (req.method !== 'GET') bodies.watch(req, res, isUpload(req));
      requestIds.start(req);
      if (accessLog) logAccess(req, res, logger);
      try {
        route(req, res);
      } catch (err) {
        fail(res, err);
      }
    },
  );
  // First: it takes over node's own 'connection' listener.
  gateConnections(server, {
    maxPerAddress: config.maxConnectionsPerIp,
    trustProxy: config.trustProxy === 'yes',
    fileLimit: softFileLimit(),
    stats,
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
    answerClientError(err, socket),
  );
  // Without a listener node would drop a CONNECT without a word; we are not a proxy.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) =>
    // A CONNECT's target is a host, not a path of ours: the classic answer to a method we lack.
    answerRaw(socket, new ChatError('HTTP_METHOD_NOT_ALLOWED'), 'Method Not Allowed'),
  );
  server.once('close', () => bodies.close());
  return server;
}

/** Whether a request is an upload, whose body may take longer than BODY_MS (body-deadline.ts). */
function isUpload(req: IncomingMessage): boolean {
  return req.method === 'POST' && pathOf(req.url ?? '/') === '/api/v1/uploads';
}

/**
 * Logs one debug line when the response is done (or the client left): method, path, status,
 * duration, request id and user. The query string is left out, and a classic send's path is
 * cut after its sender, because both can carry message text.
 */
function logAccess(req: TracedRequest, res: ServerResponse, logger: Logger): void {
  const start = performance.now();
  res.once('close', () => {
    let path = pathOf(req.url ?? '/');
    if (path.startsWith('/msg/')) {
      const slash = path.indexOf('/', '/msg/'.length);
      if (slash !== -1) path = `${path.slice(0, slash)}/…`;
    }
    logger.debug('request', {
      method: req.method,
      path,
      status: res.statusCode,
      ms: Math.round((performance.now() - start) * 10) / 10,
      reqId: req.reqId,
      user: req.user,
    });
  });
}

/**
 * Node's parser rejected the request before it reached us. Answer in plain HTTP with the same
 * JSON shape as every other error, then close: the connection's framing is lost.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // While a response is in progress on this connection (an SSE stream above all, whose client
  // then sent bytes that are no request), an answer written now would land inside it: such a
  // connection is only closed. node detaches a response from its socket when it finishes, so
  // a kept-alive connection whose next request timed out still gets its 408.
  // A finished response before it (keep-alive) does not count: node detaches it at its end.
  const started = (socket as Duplex & { _httpMessage?: unknown })._httpMessage != null;
  if (!socket.writable || err.code === 'ECONNRESET' || started) {
    socket.destroy();
    return;
  }
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new ChatError('HTTP_HEADERS_TOO_LARGE', `the limit is ${MAX_HEADER_BYTES} bytes`)
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ChatError('HTTP_REQUEST_TIMEOUT')
        : new ChatError('HTTP_BAD_REQUEST');
  const reason =
    error.status === 431
      ? 'Request Header Fields Too Large'
      : error.status === 408
        ? 'Request Timeout'
        : 'Bad Request';
  answerRaw(socket, error, reason);
}

/** Writes an error response straight to a socket node:http has given up on, then closes it. */
function answerRaw(socket: Duplex, error: ChatError, reason: string): void {
  socket.end(rawError(error, reason, error.status === 405 ? { Allow: 'GET, HEAD' } : {}));
}
