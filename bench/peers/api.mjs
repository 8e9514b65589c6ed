// bench/peers/api.mjs -- what the node peers share with bench/lib/baseline-sse.mjs (which
// takes json and readBody from here): the JSON API's shapes, so that the load tools drive
// every server alike.
//   POST /api/v1/session {nick}                 -> 201 {user, auth:"open"} + Set-Cookie
//   POST /api/v1/messages {to, text, clientId?} -> publish(msg), then 201 {id, ts}
// `route(req, res, publish)` answers those two and returns true, or returns false for the
// caller's own paths. The cookie is accepted and ignored.

export function json(res, status, body, headers = {}) {
  const s = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(s),
    ...headers,
  });
  res.end(s);
}

export function readBody(req, cb) {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => {
    body += d;
  });
  req.on('end', () => {
    try {
      cb(JSON.parse(body || '{}'));
    } catch {
      cb(null);
    }
  });
}

let head = 0;

/** The id of the last message published. */
export const lastId = () => head;

export function route(req, res, publish) {
  const path = req.url.split('?')[0];
  if (req.method === 'POST' && path === '/api/v1/session') {
    readBody(req, (b) => {
      if (!b || typeof b.nick !== 'string') return json(res, 400, { error: { code: 'BAD' } });
      const cookie = `ssechat_session=peer-${encodeURIComponent(b.nick)}; Path=/; HttpOnly`;
      json(res, 201, { user: b.nick, auth: 'open' }, { 'Set-Cookie': cookie });
    });
    return true;
  }
  if (req.method === 'POST' && path === '/api/v1/messages') {
    readBody(req, (b) => {
      if (!b || typeof b.text !== 'string') return json(res, 400, { error: { code: 'BAD' } });
      const id = ++head;
      const ts = Date.now();
      const msg = { id, from: 'x', to: b.to ?? 'all', text: b.text, ts };
      if (typeof b.clientId === 'string') msg.clientId = b.clientId;
      publish(msg);
      json(res, 201, { id, ts });
    });
    return true;
  }
  return false;
}
