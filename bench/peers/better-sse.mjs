// bench/peers/better-sse.mjs PORT -- peer: a node:http server on better-sse (npm, pinned in
// package.json): one session per GET /api/v1/events (`hello` pushed first), all registered with
// one channel, and each POST /api/v1/messages broadcast to the channel as an `event: message`
// with the message id as `id:`. No store: what a message was is gone once it is written.
import { createServer } from 'node:http';
import { createChannel, createSession } from 'better-sse';
import { json, lastId, route } from './api.mjs';

const port = Number(process.argv[2] ?? 18730);
const channel = createChannel();

const server = createServer(async (req, res) => {
  if (route(req, res, (msg) => channel.broadcast(msg, 'message', { eventId: String(msg.id) })))
    return;
  if (req.method === 'GET' && req.url.split('?')[0] === '/api/v1/events') {
    // keepAlive null: no heartbeat, as the bare baseline (ssechat's is 25 s, idle runs are shorter).
    const session = await createSession(req, res, { retry: 2000, keepAlive: null });
    const id = lastId();
    session.push({ user: 'x', id, online: [] }, 'hello', String(id));
    channel.register(session);
    return;
  }
  json(res, 404, { error: { code: 'HTTP_NOT_FOUND' } });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
