// bench/lib/baseline-sse.mjs PORT -- the bare node:http SSE server that fan-out and idle
// benchmarks compare ssechat against: the platform's naive ceiling (issue 6). It holds every
// open response in an array and, for each broadcast, builds one frame and writes that same
// string to every response in a plain loop. No store, no auth, no queue, no heartbeat.
//
// It answers the same requests as ssechat's JSON API, with the same shapes, so that the load
// tools drive both identically:
//   POST /api/v1/session {nick}        -> 201 {user, auth:"open"} + Set-Cookie
//   GET  /api/v1/events                -> 200 text/event-stream, `retry:` + `hello` first
//   POST /api/v1/messages {to, text, clientId?} -> the frame to every stream, then 201 {id, ts}
// Anything else gets 404. The cookie is accepted and ignored.
import { createServer } from 'node:http';
import { json, readBody } from '../peers/api.mjs';

const port = Number(process.argv[2] ?? 18720);
const streams = [];
let head = 0;

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
};

const server = createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/api/v1/events') {
    res.writeHead(200, SSE_HEADERS);
    const user = 'x';
    res.write(
      `retry: 2000\nid: ${head}\nevent: hello\ndata: ${JSON.stringify({ user, id: head, online: [] })}\n\n`,
    );
    streams.push(res);
    res.on('close', () => {
      const i = streams.indexOf(res);
      if (i !== -1) {
        streams[i] = streams[streams.length - 1];
        streams.pop();
      }
    });
    return;
  }
  if (req.method === 'POST' && path === '/api/v1/session') {
    readBody(req, (b) => {
      if (!b || typeof b.nick !== 'string') return json(res, 400, { error: { code: 'BAD' } });
      json(
        res,
        201,
        { user: b.nick, auth: 'open' },
        {
          'Set-Cookie': `ssechat_session=baseline-${encodeURIComponent(b.nick)}; Path=/; HttpOnly`,
        },
      );
    });
    return;
  }
  if (req.method === 'POST' && path === '/api/v1/messages') {
    readBody(req, (b) => {
      if (!b || typeof b.text !== 'string') return json(res, 400, { error: { code: 'BAD' } });
      const id = ++head;
      const ts = Date.now();
      const msg = { id, from: 'x', to: b.to ?? 'all', text: b.text, ts };
      if (typeof b.clientId === 'string') msg.clientId = b.clientId; // as ssechat echoes it
      // One prebuilt frame, written to every response in a loop: the naive ceiling.
      const frame = `id: ${id}\nevent: message\ndata: ${JSON.stringify(msg)}\n\n`;
      for (let i = 0; i < streams.length; i++) streams[i].write(frame);
      json(res, 201, { id, ts });
    });
    return;
  }
  json(res, 404, { error: { code: 'HTTP_NOT_FOUND' } });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
