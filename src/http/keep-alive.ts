import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * How long a kept-alive connection may wait for its next request after a response, absolute
 * (see holdKeepAlive); node's own keepAliveTimeout is set to the same in server.ts.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/** A connection as node:http keeps it, with our keep-alive deadline while one runs. */
type KeptSocket = Socket & { _httpMessage?: unknown; [IDLE_DEADLINE]?: NodeJS.Timeout };
const IDLE_DEADLINE = Symbol('idle deadline');

/**
 * Makes KEEP_ALIVE_TIMEOUT_MS absolute. node's keep-alive timeout is an idle timeout, which
 * every byte resets, and its parser ignores empty lines before a request line, so no headers
 * clock starts either: a client sending `\r\n` every few seconds held a connection for good.
 * When a response ends and no other is under way, a deadline closes the connection unless a
 * new request starts first (its first byte other than CR or LF: node's headers clock runs
 * from there). Streams never finish a response, so they are not affected.
 */
export function holdKeepAlive(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket as KeptSocket;
  if (socket[IDLE_DEADLINE] !== undefined) disarm(socket);
  res.once('finish', armKeepAlive);
}

function armKeepAlive(this: ServerResponse): void {
  const socket = this.req.socket as KeptSocket | null;
  // Gone already: the request was destroyed (a body refused midway and its socket closed).
  if (socket === null) return;
  // Another response holds the connection (pipelined), or node is closing it anyway
  // (`Connection: close`: it ended the socket before this listener ran).
  if (socket.writableEnded || socket._httpMessage != null || socket[IDLE_DEADLINE] !== undefined) {
    return;
  }
  socket[IDLE_DEADLINE] = setTimeout(expire, KEEP_ALIVE_TIMEOUT_MS, socket).unref();
  socket.on('data', requestStarts);
  socket.once('close', disarmOnClose);
}

/**
 * The deadline passed with no new request. While the response's last bytes are still being
 * sent (a large body to a slow reader), the clock starts again: node's own idle timeout cuts a
 * client that reads nothing at all.
 */
function expire(socket: KeptSocket): void {
  if (socket.writableLength > 0) {
    socket[IDLE_DEADLINE] = setTimeout(expire, KEEP_ALIVE_TIMEOUT_MS, socket).unref();
    return;
  }
  socket.destroy();
}

/** Bytes while the deadline runs: anything but CR and LF begins a request. */
function requestStarts(this: KeptSocket, chunk: Buffer): void {
  for (const byte of chunk) {
    if (byte !== 0x0d && byte !== 0x0a) {
      disarm(this);
      return;
    }
  }
}

function disarmOnClose(this: KeptSocket): void {
  disarm(this);
}

function disarm(socket: KeptSocket): void {
  clearTimeout(socket[IDLE_DEADLINE]);
  socket[IDLE_DEADLINE] = undefined;
  socket.removeListener('data', requestStarts);
  socket.removeListener('close', disarmOnClose);
}

/**
 * Called when a request's response becomes a stream, which never finishes: its 'finish'
 * listener would only take memory for the stream's life (some bytes per idle stream).
 */
export function streamKeepsConnection(res: ServerResponse): void {
  res.removeListener('finish', armKeepAlive);
}
