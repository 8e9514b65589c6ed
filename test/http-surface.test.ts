// The route table over the real wire: every path answers a method it lacks with 405 and the
// exact Allow of that path, and every JSON body's Content-Length counts bytes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ChatError } from '../src/domain/errors.js';
import { rawError } from '../src/http/reply.js';
import { METHODS } from '../src/http/router.js';
import { ROUTES } from '../src/http/routes.js';
import type { RunningServer } from '../src/main.js';
import { api, get, session, startTestServer } from './helpers.js';

const ORIGIN = 'https://app.example';
let server: RunningServer;
let base: string;
before(async () => {
  server = await startTestServer({ corsOrigins: [ORIGIN] });
  base = server.url;
});
after(() => server.close());

/** A path the pattern describes: each parameter filled in. */
function sample(pattern: string): string {
  return pattern.replace(/[:*][a-z]+/g, (param) => (param === ':id' ? '1' : 'x'));
}

/** The methods a route takes, as its Allow lists them. */
function allowOf(route: (typeof ROUTES)[number]): string {
  return METHODS.filter((m) => route.methods[m] || (m === 'HEAD' && route.head)).join(', ');
}

test('every route answers each method it lacks with 405 and exactly its methods in Allow', async () => {
  for (const route of ROUTES) {
    const path = sample(route.path);
    const allow = allowOf(route);
    for (const method of METHODS) {
      if (allow.split(', ').includes(method)) continue;
      const reply = await get(base, path, {}, method);
      assert.equal(reply.status, 405, `${method} ${path}`);
      assert.equal(reply.headers.allow, allow, `${method} ${path}`);
      if (method !== 'HEAD') {
        assert.equal(JSON.parse(reply.body).error.code, 'HTTP_METHOD_NOT_ALLOWED');
      }
    }
  }
});

test('the room paths each have their own Allow, for 405 and for CORS', async () => {
  const cases: Array<[string, string, string]> = [
    ['PATCH', '/api/v1/rooms/lobby', 'GET'],
    ['GET', '/api/v1/rooms/lobby/join', 'POST'],
    ['PUT', '/api/v1/rooms/lobby/invite', 'POST, DELETE'],
    ['GET', '/api/v1/rooms/lobby/members/ann', 'PUT, DELETE'],
    ['GET', '/api/v1/tokens/abc', 'DELETE'],
    ['PUT', '/api/v1/messages/7', 'PATCH, DELETE'],
  ];
  for (const [method, path, allow] of cases) {
    const reply = await get(base, path, { Origin: ORIGIN }, method);
    assert.equal(reply.status, 405, `${method} ${path}`);
    assert.equal(reply.headers.allow, allow, `${method} ${path}`);
    assert.equal(reply.headers['access-control-allow-origin'], ORIGIN);
    const preflight = await get(base, path, { Origin: ORIGIN }, 'OPTIONS');
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-methods'], allow);
  }
  // Paths under a room that no route has are 404, signed in or not.
  for (const path of ['/api/v1/rooms/lobby/members', '/api/v1/rooms/lobby/join/x']) {
    assert.equal((await get(base, path)).status, 404, path);
  }
});

test('a JSON body with non-ASCII text has its Content-Length in bytes', async () => {
  const nick = 'jörg€😀';
  const ann = await session(base, nick);
  const who = await api(base, 'GET', '/api/v1/session', undefined, ann);
  assert.equal(who.json.user, nick);
  assert.equal(Number(who.headers['content-length']), Buffer.byteLength(who.body));
  assert.ok(Buffer.byteLength(who.body) > who.body.length);
  const bad = await api(base, 'POST', '/api/v1/session', { nick: 'a\u00a0b' });
  assert.equal(bad.status, 400);
  assert.equal(Number(bad.headers['content-length']), Buffer.byteLength(bad.body));
  // A raw answer (to a request node:http gave up on) counts bytes too.
  const raw = rawError(new ChatError('HTTP_BAD_REQUEST', 'naïve'), 'Bad Request');
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  assert.match(head, new RegExp(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
  assert.notEqual(Buffer.byteLength(body), body.length);
});
