import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { ChatError } from '../domain/errors.js';
import { type Handler, pathOf, patternMatches, type Route, Router } from './router.js';

/** What a fake response was told: its Allow header, status and whether it ended. */
interface Told {
  readonly headers: Record<string, string>;
  status?: number;
}

/** Runs `router` on a fake request; returns which handler answered (and its params) or the error. */
function run(
  router: Router,
  method: string,
  url: string,
  headers: Record<string, string> = {},
): { answer: unknown; told: Told } {
  const told: Told = { headers: {} };
  const res = {
    setHeader: (name: string, value: string) => {
      told.headers[name] = value;
    },
    writeHead: (status: number) => {
      told.status = status;
    },
    end: () => undefined,
  } as unknown as ServerResponse;
  const req = { method, url, headers } as IncomingMessage;
  let answer: unknown;
  try {
    answer = router.handle(req, res);
  } catch (err) {
    answer = err instanceof ChatError ? err.code : err;
  }
  return { answer, told };
}

/** A handler that returns its name and params, so a test sees which route took the request. */
function named(name: string): Handler {
  return ((_req: IncomingMessage, _res: ServerResponse, params: Record<string, string>) => ({
    name,
    params,
  })) as unknown as Handler;
}

const routes: Route[] = [
  { path: '/msg/*text', methods: { GET: named('send') }, rawTail: true },
  { path: '/api/things', methods: { GET: named('list'), POST: named('add') }, cors: true },
  { path: '/api/things/:id', methods: { PATCH: named('edit'), DELETE: named('drop') }, cors: true },
  { path: '/api/things/:id/parts/:part', methods: { PUT: named('part') }, cors: true },
  { path: '/', methods: { GET: named('index') }, head: true },
  { path: '/files/*name', methods: { GET: named('file') }, head: true },
  {
    path: '/:nick',
    methods: { GET: named('stream') },
    head: true,
    when: (req) => req.method === 'GET' && req.headers.accept === 'text/event-stream',
  },
  { path: '/page', methods: { GET: named('page') }, head: true },
];
const corsCalls: string[] = [];
const router = new Router(routes, (_req, _res, methods) => corsCalls.push(methods));

test('exact paths and patterns, in table order; params stay encoded', () => {
  assert.deepEqual(run(router, 'GET', '/api/things?x=1').answer, { name: 'list', params: {} });
  assert.deepEqual(run(router, 'DELETE', '/api/things/a%20b').answer, {
    name: 'drop',
    params: { id: 'a%20b' },
  });
  assert.deepEqual(run(router, 'PUT', '/api/things/1/parts/2').answer, {
    name: 'part',
    params: { id: '1', part: '2' },
  });
  assert.deepEqual(run(router, 'GET', '/files/a/b.js?v=2').answer, {
    name: 'file',
    params: { name: 'a/b.js' },
  });
  // rawTail keeps the query: the seed's text may hold a '?'.
  assert.deepEqual(run(router, 'GET', '/msg/ann/bob%20why?#').answer, {
    name: 'send',
    params: { text: 'ann/bob%20why?#' },
  });
  assert.deepEqual(run(router, 'GET', '/msg/').answer, { name: 'send', params: { text: '' } });
});

test('a path no route has is 404; an empty or extra segment is another path', () => {
  for (const url of ['/api/nothing', '/api/things/', '/api/things/1/parts', '/a/b', '/api']) {
    assert.equal(run(router, 'GET', url).answer, 'HTTP_NOT_FOUND', url);
  }
  assert.equal(run(router, 'PUT', '/api/things//parts/2').answer, 'HTTP_NOT_FOUND');
  assert.equal(run(router, 'DELETE', '/api/things/1/2').answer, 'HTTP_NOT_FOUND');
});

test('405 carries exactly the methods of the routes that fit the path', () => {
  const cases: Array<[string, string, string]> = [
    ['PUT', '/api/things', 'GET, POST'],
    ['GET', '/api/things/1', 'PATCH, DELETE'],
    ['DELETE', '/api/things/1/parts/2', 'PUT'],
    ['HEAD', '/msg/ann/bob%20hi', 'GET'],
    ['DELETE', '/', 'GET, HEAD'],
    ['POST', '/files/x', 'GET, HEAD'],
    // The stream and the page both fit: the union.
    ['POST', '/page', 'GET, HEAD'],
    ['POST', '/anyone', 'GET, HEAD'],
  ];
  for (const [method, url, allow] of cases) {
    const { answer, told } = run(router, method, url);
    assert.equal(answer, 'HTTP_METHOD_NOT_ALLOWED', `${method} ${url}`);
    assert.equal(told.headers.Allow, allow, `${method} ${url}`);
  }
});

test('HEAD is answered by GET where a route says so', () => {
  assert.deepEqual(run(router, 'HEAD', '/').answer, { name: 'index', params: {} });
  assert.deepEqual(run(router, 'HEAD', '/page').answer, { name: 'page', params: {} });
});

test('a route whose condition fails lets the search go on, and is no 405', () => {
  const stream = { accept: 'text/event-stream' };
  assert.deepEqual(run(router, 'GET', '/page', stream).answer, {
    name: 'stream',
    params: { nick: 'page' },
  });
  assert.deepEqual(run(router, 'GET', '/page').answer, { name: 'page', params: {} });
  assert.deepEqual(run(router, 'HEAD', '/page', stream).answer, { name: 'page', params: {} });
  assert.equal(run(router, 'GET', '/anyone').answer, 'HTTP_NOT_FOUND');
  assert.equal(run(router, 'HEAD', '/anyone', stream).answer, 'HTTP_NOT_FOUND');
});

test('cors routes answer OPTIONS with 204 and call the hook with their methods', () => {
  corsCalls.length = 0;
  const { answer, told } = run(router, 'OPTIONS', '/api/things/7');
  assert.equal(answer, undefined);
  assert.equal(told.status, 204);
  run(router, 'GET', '/api/things');
  run(router, 'POST', '/api/things/7');
  assert.deepEqual(corsCalls, ['PATCH, DELETE', 'GET, POST', 'PATCH, DELETE']);
  assert.equal(run(router, 'OPTIONS', '/page').answer, 'HTTP_METHOD_NOT_ALLOWED');
});

test('a malformed table fails at startup', () => {
  const get = named('x');
  assert.throws(() => new Router([{ path: 'x', methods: { GET: get } }]), /starts with \//);
  assert.throws(() => new Router([{ path: '/*a/b', methods: { GET: get } }]), /\* comes last/);
  assert.throws(() => new Router([{ path: '/a', methods: {} }]), /no method/);
});

test('pathOf cuts at the query or the fragment; patternMatches reads patterns', () => {
  assert.equal(pathOf('/a?b#c'), '/a');
  assert.equal(pathOf('/a#b?c'), '/a');
  assert.equal(pathOf('/a'), '/a');
  assert.ok(patternMatches('/rooms/:name/join', '/rooms/x/join'));
  assert.ok(!patternMatches('/rooms/:name/join', '/rooms/x'));
  assert.ok(patternMatches('/assets/*name', '/assets/'));
  assert.ok(patternMatches('/classic', '/classic'));
});
