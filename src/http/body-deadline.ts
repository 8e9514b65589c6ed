import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatError } from '../domain/errors.js';

/**
 * How long a request body may take after its headers: a JSON body or a classic request must
 * be whole within this (node's own whole-request timeout is off: it cannot tell an upload from
 * a drip, see BodyDeadlines).
 */
export const BODY_MS = 30_000;
/**
 * An upload may take longer than BODY_MS while it keeps coming: in every BODY_MS window it must
 * bring at least this many bytes a second (32 KiB/s: a 25 MiB file over 13 minutes at worst),
 * or it is cut with 408. Windows, not the average since the headers: a client that sends most
 * of a file fast and then stalls is cut within two windows, not after minutes of credit.
 */
export const UPLOAD_MIN_BYTES_PER_S = 32 * 1024;
/** How often the deadlines are checked: one timer for every body being received. */
const CHECK_MS = 1_000;
/** How long a connection whose body was cut may linger after its 408 before it is closed. */
const LINGER_MS = 1_000;

interface Watched {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** When the current window began (the headers, at first). */
  start: number;
  /** Bytes the socket had read when it began, for an upload's rate. */
  read0: number;
  readonly upload: boolean;
}

/**
 * The deadlines of request bodies being received. node's requestTimeout bounds a whole request
 * the same for all, which would cut a large upload on a slow link at 30 s; here a body has
 * BODY_MS after its headers, and an upload as long as it keeps UPLOAD_MIN_BYTES_PER_S. Headers
 * keep node's headersTimeout. A body past its deadline gets 408 HTTP_REQUEST_TIMEOUT (when no
 * answer has begun) and its connection is closed. One interval timer serves them all, and only
 * while some body is being received.
 */
export class BodyDeadlines {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  /** Watches `req`'s body, if it has one; `upload` for `POST /api/v1/uploads`. */
  watch(req: IncomingMessage, res: ServerResponse, upload: boolean): void {
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (!chunked && (length === undefined || length === '0')) return;
    const entry: Watched = {
      req,
      res,
      start: Date.now(),
      read0: req.socket.bytesRead,
      upload,
    };
    this.watched.add(entry);
    const done = (): void => {
      this.watched.delete(entry);
    };
    req.once('end', done);
    req.once('close', done);
    this.timer ??= setInterval(() => this.check(), CHECK_MS).unref();
  }

  /** Stops the timer (the server closes). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  private check(): void {
    const now = Date.now();
    for (const w of this.watched) {
      if (w.req.complete) {
        this.watched.delete(w);
        continue;
      }
      const elapsed = now - w.start;
      if (elapsed <= BODY_MS) continue;
      if (w.upload) {
        const read = w.req.socket?.bytesRead ?? w.read0;
        if ((read - w.read0) / (elapsed / 1000) >= UPLOAD_MIN_BYTES_PER_S) {
          w.start = now;
          w.read0 = read;
          continue;
        }
      }
      this.watched.delete(w);
      cut(w);
    }
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** Answers 408 when nothing was answered yet, and closes the connection soon after. */
function cut({ req, res }: Watched): void {
  const socket = req.socket;
  if (!res.headersSent) {
    const error = new ChatError('HTTP_REQUEST_TIMEOUT');
    const body = JSON.stringify({ error: { code: error.code, message: error.message } });
    res.writeHead(408, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      Connection: 'close',
    });
    res.end(body);
  }
  // The handler still waiting for the body learns now that it is cut short, and lets go of
  // what it held (an upload's temp file): once the answer has ended, destroying the socket
  // alone would not tell the request (node emits neither 'aborted' nor 'error' then).
  req.destroy(new ChatError('HTTP_REQUEST_TIMEOUT'));
  setTimeout(() => socket?.destroy(), LINGER_MS).unref();
}
