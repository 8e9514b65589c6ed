import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Returns a function that closes every connection not serving a request. node's
 * closeIdleConnections misses a connection that was opened but never sent a request (browsers
 * and fetch pools open them ahead of time), and shutdown would wait its whole grace period for it.
 */
export function trackUnusedSockets(server: Server): () => void {
  const busy = new WeakMap<Socket, number>();
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => busy.set(socket, (busy.get(socket) ?? 1) - 1));
  });
  return () => {
    for (const socket of sockets) if (!busy.get(socket)) socket.destroy();
  };
}
