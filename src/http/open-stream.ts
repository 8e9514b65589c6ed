import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatService, Greeting } from '../core/chat.js';
import type { Format } from '../core/subscriber.js';
import { ChatError } from '../domain/errors.js';
import type { Logger } from '../logger.js';
import type { FrontDoor, Stats } from '../ops/stats.js';
import type { Admission } from './admission.js';
import { requestFields, setRequestUser } from './request-context.js';
import type { NodeStreams } from './sse/node-transport.js';
import { requestBehind } from './sse/release-parser.js';
import { type SseOptions, SseStream, StreamIds } from './sse/stream.js';
import { TickFlush } from './sse/tick-flush.js';

/**
 * Throws HTTP_STREAM_PIPELINED unless `res` holds its connection now, i.e. unless it waits
 * behind another response on a pipelined connection, and HTTP_STREAM_BODY if its request
 * carries a body. Both front doors call it first thing,
 * before any await, so that the refusal, a few bytes, counts against node's bound on what a
 * pipelining client may have queued. Such a stream could only open once the response ahead
 * ended (never, behind another stream), and node neither gives a queued response its socket
 * nor tells it that the connection closed: it, its presence and its place under
 * --max-streams-per-user would live for good. No browser pipelines; a client gets its answer
 * once the response ahead is out, and opens the stream on a connection of its own.
 */
export function requireOwnConnection(res: ServerResponse): void {
  if (res.socket === null) throw new ChatError('HTTP_STREAM_PIPELINED');
  // A body: node keeps the connection's parser until the body has been read, so the stream
  // could not take the connection over (releaseParser), and requests pipelined behind the
  // body would run with nobody to answer them. No EventSource sends one; refused with a code
  // of its own (not HTTP_STREAM_PIPELINED: the fix is to drop the body, not to reconnect).
  // Refused before anything is read from it: the 400 is a normal response, so node reads
  // and drops the body and answers what follows it in order.
  const headers = res.req.headers;
  if (headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) !== 0) {
    throw new ChatError('HTTP_STREAM_BODY');
  }
}

/** What opening a stream needs, whichever front door it is for. */
export interface StreamDeps {
  readonly chat: ChatService;
  readonly logger: Logger;
  /** See SseOptions.maxQueueBytes. */
  readonly maxQueueBytes: number;
  /** Rate limits and the per-user stream cap. */
  readonly admission: Admission;
  /** Counts open streams and slow-reader drops. */
  readonly stats: Stats;
  /** The server's node:http side of its streams (cork, raw writes, parser release, registry). */
  readonly streams: NodeStreams;
}

/** One stream to open: whose, in which format, and how it starts. */
export interface StreamRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly nick: string;
  readonly format: Format;
  /** The credential that opened it, so that revoking that credential ends it. */
  readonly credential: string | undefined;
  /** The grace window when this was the user's last stream (0: announce the leave at once). */
  readonly graceMs: number;
  /** Writes the opening frames once the user is logged in; a throw closes the stream. */
  readonly start: (sub: SseStream, greeting: Greeting) => Promise<void> | void;
}

/**
 * A stream with what its end must undo. Its state is a few fields rather than closures over
 * the opening call, which would keep that call's whole scope (the request's `start` among it)
 * for as long as the stream lives.
 */
class ChatStream extends SseStream {
  /** The login and the opening frames while they run; null once they are done. */
  opening: Promise<void> | null = null;
  loggedIn = false;
  readonly graceMs: number;
  /** The request that opened the stream, for log lines. */
  readonly request: IncomingMessage;
  /** See Subscriber.address: an address ban ends the stream. */
  readonly address: string | undefined;

  constructor(
    request: StreamRequest,
    streams: NodeStreams,
    options: SseOptions,
    /** Gives back the stream's place under --max-streams-per-user. */
    readonly release: () => void,
    address: string | undefined,
  ) {
    super(streams.attach(request.res), request.nick, request.format, options, request.credential);
    this.graceMs = request.graceMs;
    this.request = request.req;
    this.address = address;
  }
}

/**
 * Opens the SSE streams of one front door and logs their users in through the chat service.
 * A close logs the user out, but only after, and only if, the login got through: a client may
 * leave before its login finished. A failure while writing the opening frames (after the
 * login) closes the stream and still logs the user out.
 */
export class StreamOpener {
  /** Shared by every stream of this door (see ChatStream). */
  private readonly options: SseOptions;

  constructor(
    private readonly deps: StreamDeps,
    private readonly door: FrontDoor,
  ) {
    this.options = {
      maxQueueBytes: deps.maxQueueBytes,
      onOverflow: (s) => this.overflowed(s as ChatStream),
      onClose: (s) => this.closed(s as ChatStream),
      flush: new TickFlush(),
      ids: new StreamIds(),
    };
  }

  /**
   * Opens the stream. Throws CHAT_TOO_MANY_STREAMS, before answering, when the user holds the
   * most streams allowed (the caller has already counted the connect rate). Returns
   * undefined, and opens nothing, when the client has already gone.
   */
  open(request: StreamRequest): SseStream | undefined {
    const { chat, logger, admission, stats } = this.deps;
    const { req, res, nick, start } = request;
    // The client may have gone while its request waited (authentication, a rate limit in
    // Redis). Its response has then emitted 'close' already, which a stream opened now would
    // never hear: it would stay in the Hub and in presence for good.
    if (res.destroyed || req.socket.destroyed) return undefined;
    // Requests pipelined behind this one were read while it was authenticated: the stream
    // would hold the connection, and them unanswered, for good. See requireOwnConnection.
    if (requestBehind(res)) {
      req.socket.destroy();
      return undefined;
    }
    // Counted here, in the same synchronous run as chat.connect adds the stream to the Hub.
    const release = admission.openStream(req, nick);
    setRequestUser(req, nick);
    let sub: ChatStream;
    try {
      sub = new ChatStream(
        request,
        this.deps.streams,
        this.options,
        release,
        this.deps.admission.prefixOf(req),
      );
    } catch (err) {
      // The stream never opened: give its place back.
      release();
      throw err;
    }
    // SseStream calls onClose exactly once, for every way a stream ends.
    stats.streamsOpen[this.door]++;
    stats.streamsOpened[this.door]++;
    const opening = chat
      .connect(sub)
      .then((greeting) => {
        sub.loggedIn = true;
        return start(sub, greeting);
      })
      .catch((err: unknown) => {
        logger.error('stream start failed', { err, ...requestFields(req) });
        sub.close();
      })
      .finally(() => {
        sub.opening = null;
      });
    // Set before any close can come ('close' is an event, emitted later): see closed().
    sub.opening = opening;
    logger.info('stream opened', {
      ...requestFields(req),
      sub: sub.id,
      remote: req.socket.remoteAddress,
    });
    return sub;
  }

  private overflowed(sub: ChatStream): void {
    this.deps.stats.slowReaderDrops[this.door]++;
    this.deps.logger.warn('slow reader closed', { ...requestFields(sub.request), sub: sub.id });
  }

  private closed(sub: ChatStream): void {
    sub.release();
    this.deps.stats.streamsOpen[this.door]--;
    const logout = (): Promise<void> | undefined =>
      sub.loggedIn ? this.deps.chat.disconnect(sub, sub.graceMs) : undefined;
    Promise.resolve(sub.opening)
      .then(logout)
      .catch((err: unknown) =>
        this.deps.logger.error('logout failed', { err, ...requestFields(sub.request) }),
      );
  }
}
