// bench/peers/socketio.mjs PORT -- peer: Socket.IO (npm socket.io, pinned in package.json) on a
// node:http server, WebSocket transport only (no long-polling), one process, the default
// in-memory adapter. Each socket gets a `hello` on connect; each POST /api/v1/messages is
// `io.emit('message', msg)` to every socket, then 201 {id, ts}. Subscribers are
// socket.io-client sockets (bench/lib/sse-load.mjs, `socketio` mode). No store.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { json, lastId, route } from './api.mjs';

const port = Number(process.argv[2] ?? 18731);
const server = createServer();
const io = new Server(server, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  socket.emit('hello', { user: 'x', id: lastId(), online: [] });
});
// Socket.IO takes its own path (/socket.io/) first; every other request comes here.
server.on('request', (req, res) => {
  if (req.url.startsWith('/socket.io/')) return;
  if (route(req, res, (msg) => io.emit('message', msg))) return;
  json(res, 404, { error: { code: 'HTTP_NOT_FOUND' } });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
