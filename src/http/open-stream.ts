import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatService, Greeting } from '../core/chat.js';
import type { Format } from '../core/hub.js';
import type { Logger } from '../logger.js';
import { requestFields, setRequestUser } from './request-context.js';
import { SseSubscriber } from './sse.js';

/** What opening a stream needs, whichever front door it is for. */
export interface StreamDeps {
  readonly chat: ChatService;
  readonly logger: Logger;
  /** See SseOptions.maxQueueBytes. */
  readonly maxQueueBytes: number;
}

/** One stream to open: whose, in which format, and how it ends. */
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
  readonly start: (sub: SseSubscriber, greeting: Greeting) => Promise<void> | void;
}

/**
 * Opens an SSE stream and logs its user in through the chat service. The close logs them out,
 * but only after, and only if, the login got through: a client may leave before its login
 * finished. A failure while writing the opening frames (after the login) closes the stream
 * and still logs the user out.
 */
export function openStream(deps: StreamDeps, request: StreamRequest): SseSubscriber {
  const { chat, logger, maxQueueBytes } = deps;
  const { req, res, nick, format, credential, graceMs, start } = request;
  let loggedIn = false;
  setRequestUser(req, nick);
  // One object per stream, reused by each of its lines: they all belong to this request.
  const traced = requestFields(req);
  const sub = new SseSubscriber(
    res,
    nick,
    format,
    {
      maxQueueBytes,
      onOverflow: (s) => logger.warn('slow reader closed', { ...traced, sub: s.id }),
      onClose: (s) => {
        ready
          .then(() => (loggedIn ? chat.disconnect(s, graceMs) : undefined))
          .catch((err: unknown) => logger.error('logout failed', { err, ...traced }));
      },
    },
    credential,
  );
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
