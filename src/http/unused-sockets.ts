import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Returns a function that closes every connection that has not sent a request yet. node's
 * closeIdleConnections misses such a connection (browsers and fetch pools open them ahead of
 * time), and shutdown would wait its whole grace period for it; a keep-alive connection
 * between two requests it does close, so the caller calls both. A connection whose next
 * request has only partly arrived is neither: it gets the grace period to finish it, like a
 * request in progress.
 *
 * Per connection this costs a Set entry until its first request and one shared 'close'
 * listener, no closure or once-wrapper: an SSE stream holds its connection for hours, and
 * what each one keeps adds up over tens of thousands of them (bench/results/2026-12-02-notes.md, idle).
 */
export function trackUnusedSockets(server: Server): () => void {
  const fresh = new Set<Socket>();
  function forget(this: Socket): void {
    fresh.delete(this);
  }
  server.on('connection', (socket: Socket) => {
    fresh.add(socket);
    socket.on('close', forget);
  });
  server.on('request', (req: IncomingMessage) => {
    fresh.delete(req.socket);
  });
  return () => {
    for (const socket of fresh) socket.destroy();
  };
}
