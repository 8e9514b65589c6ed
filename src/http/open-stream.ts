import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatService, Greeting } from '../core/chat.js';
import type { Format } from '../core/subscriber.js';
import type { Logger } from '../logger.js';
import type { FrontDoor, Stats } from '../ops/stats.js';
import type { Admission } from './admission.js';
import { requestFields, setRequestUser } from './request-context.js';
import { SseSubscriber } from './sse.js';

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
}

/** One stream to open: whose, in which format, and how it ends. */
export interface StreamRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly nick: string;
  readonly format: Format;
  /** Which front door it came through, for metrics. */
  readonly door: FrontDoor;
  /** The credential that opened it, so that revoking that credential ends it. */
  readonly credential: string | undefined;
  /** The grace window when this was the user's last stream (0: announce the leave at once). */
  readonly graceMs: number;
  /** Writes the opening frames once the user is logged in; a throw closes the stream. */
  readonly start: (sub: SseSubscriber, greeting: Greeting) => Promise<void> | void;
}

/**
 * Opens an SSE stream and logs its user in through the chat service. The close logs them out,
 * but only after, and only if, the login got through: a client may leave before its login
 * finished. A failure while writing the opening frames (after the login) closes the stream
 * and still logs the user out. Throws CHAT_TOO_MANY_STREAMS, before answering, when the user
 * holds the most streams allowed (the caller has already counted the connect rate). Returns
 * undefined, and opens nothing, when the client has already gone.
 */
export function openStream(deps: StreamDeps, request: StreamRequest): SseSubscriber | undefined {
  const { chat, logger, maxQueueBytes, admission, stats } = deps;
  const { req, res, nick, format, door, credential, graceMs, start } = request;
  // The client may have gone while its request waited (authentication, a rate limit in
  // Redis). Its response has then emitted 'close' already, which a stream opened now would
  // never hear: it would stay in the Hub and in presence for good.
  if (res.destroyed || req.socket.destroyed) return undefined;
  // Counted here, in the same synchronous run as chat.connect adds the stream to the Hub.
  const release = admission.openStream(req, nick);
  let loggedIn = false;
  setRequestUser(req, nick);
  // One object per stream, reused by each of its lines: they all belong to this request.
  const traced = requestFields(req);
  const options = {
    maxQueueBytes,
    onOverflow: (s: SseSubscriber) => {
      stats.slowReaderDrops[door]++;
      logger.warn('slow reader closed', { ...traced, sub: s.id });
    },
    onClose: (s: SseSubscriber) => {
      release();
      stats.streamsOpen[door]--;
      ready
        .then(() => (loggedIn ? chat.disconnect(s, graceMs) : undefined))
        .catch((err: unknown) => logger.error('logout failed', { err, ...traced }));
    },
  };
  let sub: SseSubscriber;
  try {
    sub = new SseSubscriber(res, nick, format, options, credential);
  } catch (err) {
    // The stream never opened: give its place back.
    release();
    throw err;
  }
  // SseSubscriber calls onClose exactly once, for every way a stream ends.
  stats.streamsOpen[door]++;
  stats.streamsOpened[door]++;
  const ready = chat
    .connect(sub)
    .then((greeting) => {
      loggedIn = true;
      return start(sub, greeting);
    })
    .catch((err: unknown) => {
      logger.error('stream start failed', { err, ...traced });
      sub.close();
    });
  logger.info('stream opened', { ...traced, sub: sub.id, remote: req.socket.remoteAddress });
  return sub;
}
