// Generated hostile HTTP over raw TCP: request lines, paths (percent-encodings valid and
// broken, %u escapes, overlong UTF-8, NUL/CR/LF), header sets (duplicates, huge, missing Host,
// odd Content-Length / Transfer-Encoding), bodies (JSON valid and not, deep, huge, cut short)
// against the classic protocol, stream opens and the JSON API with a valid session cookie.
// Whatever arrives, the server never answers 5xx, never logs an unexpected error, never
// crashes, and serves a normal request right after. Each property has a time budget, so the
// file stays within about a minute; a failure prints the seed and the shrunk request.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import fc from 'fast-check';
import type { RunningServer } from '../src/main.js';
import {
  api,
  get,
  NO_LIMITS,
  rawExchange,
  recordingLogger,
  session,
  startTestServer,
} from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-fuzz-'));
const logger = recordingLogger();
const errors = (from = 0) => logger.lines.slice(from).filter((l) => l.level === 'error');
let server: RunningServer;
let cookie = '';
let health: Record<string, string> = {};

before(async () => {
  server = await startTestServer(
    { ...NO_LIMITS, store: 'sqlite', dataDir: dir, maxMessageLength: 2000 },
    logger,
  );
  cookie = (await session(server.url, 'fuzzer')).Cookie ?? '';
  health = await session(server.url, 'healthy');
  // A room the fuzzer owns and one it is not in, so that room paths reach the rules.
  await api(server.url, 'POST', '/api/v1/rooms', { name: 'fz' }, { Cookie: cookie });
  await api(server.url, 'POST', '/api/v1/rooms', { name: 'priv', visibility: 'private' }, health);
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Per property: at most this many runs, and no new run after its time budget. */
const budget = (numRuns: number, seconds: number): fc.Parameters<[Request]> => ({
  numRuns,
  interruptAfterTimeLimit: seconds * 1000,
  markInterruptAsFailure: false,
});

// ---- generators: every string is bytes as latin1 (one char per byte) ----------------------

const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const pct = (bytes: Uint8Array): string =>
  [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** A piece of a path or query: encodings valid and broken, and raw bytes. */
const piece = fc.oneof(
  fc.constantFrom('a', 'mary', 'all', 'ALL', 'x y', '+', '/', '//', '.', '..', '?', '#', '&'),
  fc.constantFrom('=', ';', ':', '@', '~', "'", '"', '<', '>', '\\', '`', '{', '|', '^', '*'),
  fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => utf8(encodeURIComponent(s))),
  fc.string({ unit: 'grapheme', maxLength: 6 }).map(utf8),
  fc.string({ unit: 'binary-ascii', maxLength: 6 }),
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map(pct),
  fc.constantFrom('%', '%%', '%G1', '%4', '%zz', '%u', '%u12', '%uZZZZ', '%uD800', '%uDC00'),
  fc.constantFrom('%uFFFF', '%u20AC', '%U20ac', '%u0000', '%u000A', '%F6', '%E9t%E9'),
  // Overlong and invalid UTF-8: '/' and NUL written long, surrogates, past U+10FFFF.
  fc.constantFrom('%C0%AF', '%E0%80%AF', '%F0%80%80%AF', '%C0%80', '%ED%A0%80', '%F4%90%80%80'),
  fc.constantFrom('%FF', '%80', '%00', '%0D%0A', '%0A', '%0D', '%09', '%1B', '%7F', '%C2%85'),
  fc.constantFrom('%E2%80%A8', '%EF%BB%BF', '%20', '%2F', '%25', '%2B', '%3F', '%23'),
  fc.constantFrom('\x00', '\r', '\n', '\r\n', ' ', '\t', '\x7f', '\xff', '\x80'),
  fc.integer({ min: 1, max: 13_000 }).map((n) => 'x'.repeat(n)),
);
const pieces = fc.array(piece, { maxLength: 6 }).map((p) => p.join(''));

const nums = fc.oneof(
  fc.constantFrom('0', '1', '-1', '1e3', '0x10', '', ' 1', '9007199254740993', '1.5', 'NaN'),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  pieces,
);
const query = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('with', 'before', 'limit', 'ticket', 'lastEventId', 'x', ''),
        fc.oneof(nums, fc.constantFrom('all', 'fuzzer', 'healthy')),
      ),
      { maxLength: 4 },
    )
    .map((kv) => `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}`),
);

const API_ROUTES = [
  ...['users', 'session', 'password', 'tokens', 'tickets', 'messages', 'rooms', 'typing'],
  ...['rooms/fz', 'rooms/fz/join', 'rooms/fz/leave', 'rooms/fz/invite', 'rooms/priv/join'],
  ...['rooms/fz/members/healthy', 'rooms/fz/members/fuzzer', 'messages/1', 'messages/3'],
];
const prefix = fc.oneof(
  fc.constantFrom('/', '/msg/', '/msg/mary/', '/msg/mary/all%20', '/msg/', '/classic', '/assets/'),
  fc.constantFrom(
    ...[...API_ROUTES, 'events', 'presence', 'read', 'tokens/', ''].map((r) => `/api/v1/${r}`),
  ),
  fc.constantFrom('', '*', 'http://127.0.0.1/', '//', '/api/v2/', '/api/v1'),
);
const target = fc.tuple(prefix, pieces, query).map(([a, b, c]) => a + b + c);

const method = fc
  .constantFrom('GET', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PUT', 'PATCH')
  .chain((m) =>
    fc.oneof(
      { weight: 8, arbitrary: fc.constant(m) },
      fc.constantFrom('get', 'TRACE', 'FOO', 'G ET', '', 'CONNECT'),
    ),
  );
const version = fc.oneof(
  { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
  fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', 'HTTP/0.9', '', 'http/1.1', 'HTTP/1.1 x'),
);

type Header = readonly [string, string];
/** The fuzzer's session cookie as it is when a request is generated (see check()). */
const liveCookie = fc.constant(null).map(() => cookie);

/** Headers worth sending, each with values good and bad; `ourCookie` is a live session. */
const header = (): fc.Arbitrary<Header> =>
  fc.oneof(
    fc
      .constantFrom('127.0.0.1', '', 'evil.example', '127.0.0.1:1')
      .map((v) => ['Host', v] as const),
    fc
      .constantFrom('text/event-stream', '*/*', 'text/event-stream;q=0', '')
      .map((v) => ['Accept', v] as const),
    fc
      .constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'text/plain',
        'application/jsonx',
        '',
        'application/json;;;',
      )
      .map((v) => ['Content-Type', v] as const),
    fc
      .oneof(nums, fc.constantFrom('5, 5', '99999999999999999999'))
      .map((v) => ['Content-Length', v] as const),
    fc
      .constantFrom(
        'chunked',
        'gzip, chunked',
        'chunked, gzip',
        'identity',
        'CHUNKED',
        'chunked\t',
        'chunked, chunked',
        '',
      )
      .map((v) => ['Transfer-Encoding', v] as const),
    fc
      .oneof(
        liveCookie,
        liveCookie.map((c) => `${c}; ${c}`),
        pieces.map((p) => `ssechat_session=${p}`),
        pieces,
      )
      .map((v) => ['Cookie', v] as const),
    pieces.map((p) => ['Authorization', `Bearer ${p}`] as const),
    nums.map((v) => ['Last-Event-ID', v] as const),
    fc
      .constantFrom('http://127.0.0.1', 'null', 'http://[::1', 'https://evil.example', '%')
      .map((v) => ['Origin', v] as const),
    fc.constantFrom('http://127.0.0.1/x', '::', 'http://%zz/').map((v) => ['Referer', v] as const),
    fc
      .constantFrom('same-origin', 'cross-site', 'none', '')
      .map((v) => ['Sec-Fetch-Site', v] as const),
    fc
      .constantFrom('1.2.3.4', '1.2.3.4, ::1', ',,,', '')
      .map((v) => ['X-Forwarded-For', v] as const),
    fc
      .constantFrom('close', 'keep-alive', 'Upgrade', 'keep-alive, Upgrade')
      .map((v) => ['Connection', v] as const),
    fc.constantFrom('websocket', 'h2c').map((v) => ['Upgrade', v] as const),
    fc.constantFrom('100-continue', 'garbage').map((v) => ['Expect', v] as const),
    fc.tuple(
      fc.string({ unit: 'binary-ascii', maxLength: 8 }),
      fc.string({ unit: 'binary-ascii', maxLength: 16 }),
    ),
    fc.integer({ min: 1, max: 20_000 }).map((n) => ['X-Big', 'z'.repeat(n)] as const),
  );
const headers = (): fc.Arbitrary<readonly Header[]> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.array(header(), { maxLength: 8 }) },
    fc
      .integer({ min: 50, max: 300 })
      .map((n) => Array.from({ length: n }, (_, i) => [`X-N-${i}`, 'v'] as const)),
  );

/** A JSON value, or one of the fields the API reads with a value of any type. */
const field = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const apiObject = fc.record(
  {
    nick: field,
    password: field,
    to: fc.oneof(fc.constantFrom('all', 'fuzzer', 'healthy', '#room', ''), field),
    text: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      field,
      fc.constant('x'.repeat(2001)),
    ),
    clientId: field,
    upTo: fc.oneof(fc.integer(), fc.double(), field),
    label: field,
    current: field,
    name: fc.oneof(fc.constantFrom('fz', '#fz', 'new', '#', 'UP', 'a'.repeat(49)), field),
    visibility: fc.oneof(fc.constantFrom('public', 'private'), field),
    history: fc.oneof(fc.constantFrom('joined', 'all'), field),
    user: fc.oneof(fc.constantFrom('healthy', 'fuzzer', 'all', ''), field),
    role: fc.oneof(fc.constantFrom('owner', 'moderator', 'member', 'boss'), field),
  },
  { requiredKeys: [] },
);
/** A JSON send past every body limit (the API's is 16 KiB + 12 bytes per text character). */
const oversized = fc
  .integer({ min: 41_000, max: 120_000 })
  .map((n) => `{"to":"all","text":"${'x'.repeat(n)}"}`);
const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: apiObject.map((o) => utf8(JSON.stringify(o))) },
  fc.json({ maxDepth: 3 }).map(utf8),
  fc.constant('{"__proto__":{"to":"all","text":"x"},"constructor":{"name":1}}'),
  fc.string({ unit: 'binary', maxLength: 60 }).map(utf8),
  fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('latin1')),
  apiObject.chain((o) => {
    const json = utf8(JSON.stringify(o));
    return fc.nat({ max: json.length }).map((n) => json.slice(0, n));
  }),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 8_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  oversized,
);

/** A send, mostly well typed, so that it gets past the type checks to the chat rules. */
const sendObject = fc.record(
  {
    to: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom('all', 'fuzzer', 'healthy', 'nobody', '#fz', '#priv', '#no'),
      },
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      field,
    ),
    text: fc.oneof(
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('a\r\nb', 'a\rb\n', '\n\ndata: x\n\n', 'x'.repeat(2000), 'x'.repeat(2001)),
    ),
    clientId: fc.oneof(fc.constantFrom('c1', 'c1', 'a'.repeat(65), 'bad id', ''), field),
    upTo: fc.oneof(fc.nat(), fc.integer(), fc.double(), field),
  },
  { requiredKeys: ['to', 'text'] },
);
// `oversized` again on its own: inside `body` it came up so rarely that a run of 800 could
// miss 413 altogether (CI, 2026-12-02).
const apiBody = fc.oneof(
  { weight: 4, arbitrary: sendObject.map((o) => utf8(JSON.stringify(o))) },
  body,
  oversized,
);
/** Mostly no body, as for a GET. */
const quietBody = fc.oneof({ weight: 4, arbitrary: fc.constant('') }, body);

/** How the body is framed: exact length, chunked (well or badly), or not declared at all. */
const framing = fc.constantFrom('length', 'length', 'chunked', 'bad-chunked', 'none');
/** What the client does after writing: half-close, keep the socket open, or cut the bytes. */
const CLEAN = { end: true, cut: 1 };
const ending = fc.oneof(
  { weight: 4, arbitrary: fc.constant(CLEAN) },
  fc.constant({ end: false, cut: 1 }),
  fc.record({ end: fc.boolean(), cut: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

interface Request {
  method: string;
  target: string;
  version: string;
  headers: readonly Header[];
  body: string;
  framing: string;
  ending: { end: boolean; cut: number };
}

function encode(r: Request): Buffer {
  const lines = [`${r.method} ${r.target} ${r.version}`.trimEnd()];
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
  let body = r.body;
  if (r.framing === 'length') lines.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  if (r.framing === 'chunked' || r.framing === 'bad-chunked') {
    lines.push('Transfer-Encoding: chunked');
    const size = r.framing === 'chunked' ? body.length.toString(16) : `${body.length + 3};x`;
    body = body === '' ? '0\r\n\r\n' : `${size}\r\n${body}\r\n0\r\n\r\n`;
  }
  const bytes = Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
  return bytes.subarray(0, Math.round(bytes.length * r.ending.cut));
}

/** Every status line in what the server sent (pipelined answers included). */
function statuses(reply: string): number[] {
  return [...reply.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
}

/** How often each status (or no answer) came back in the current property. */
const seen = new Map<number | string, number>();

/**
 * Runs a property, then checks that it reached what it was meant to reach (so that a change
 * in routing or parsing cannot turn it into a test of 400 answers only), and reports the mix.
 */
async function fuzz(
  t: TestContext,
  arb: fc.Arbitrary<Request>,
  params: fc.Parameters<[Request]>,
  mustSee: readonly number[],
): Promise<void> {
  seen.clear();
  await fc.assert(fc.asyncProperty(arb, check), params);
  const mix = [...seen].sort().map(([code, n]) => `${code}: ${n}`);
  t.diagnostic(`answers: ${mix.join(', ')}`);
  for (const code of mustSee) assert.ok(seen.has(code), `no ${code} among ${mix.join(', ')}`);
}

/** Sends one generated request, then checks the server's answers and its health. */
async function check(r: Request): Promise<void> {
  const logged = logger.lines.length;
  const reply = await rawExchange(server.port, encode(r), { end: r.ending.end });
  const codes = statuses(reply);
  for (const c of codes.length > 0 ? codes : ['none']) seen.set(c, (seen.get(c) ?? 0) + 1);
  assert.ok(
    codes.every((c) => c < 500),
    `5xx answer: ${JSON.stringify(reply.slice(0, 600))}`,
  );
  const who = await api(server.url, 'GET', '/api/v1/session', undefined, health);
  // Only this request's errors, so that shrinking finds the request that caused one.
  assert.deepEqual(errors(logged), [], 'the server logged an unexpected error');
  assert.equal(who.status, 200, `the server stopped serving: ${who.status} ${who.body}`);
  // The request may have logged the fuzzer out; later ones should have a live session again.
  const me = await api(server.url, 'GET', '/api/v1/session', undefined, { Cookie: cookie });
  if (me.status === 401) cookie = (await session(server.url, 'fuzzer')).Cookie ?? '';
}

/** Any request (`wild`), or one that is mostly well framed, so that it reaches a handler. */
const request = (
  t: fc.Arbitrary<string>,
  m: fc.Arbitrary<string> = method,
  h: fc.Arbitrary<readonly Header[]> = headers(),
  wild = true,
  b: fc.Arbitrary<string> = body,
): fc.Arbitrary<Request> =>
  fc.record({
    method: m,
    target: t,
    version: wild ? version : fc.oneof({ weight: 9, arbitrary: fc.constant('HTTP/1.1') }, version),
    headers: h,
    body: b,
    framing: wild ? framing : fc.oneof({ weight: 9, arbitrary: fc.constant('length') }, framing),
    ending: wild ? ending : fc.oneof({ weight: 9, arbitrary: fc.constant(CLEAN) }, ending),
  });

/** A few more headers, none most of the time. */
const someHeaders = fc.oneof(
  { weight: 3, arbitrary: fc.constant([]) },
  fc.array(header(), { maxLength: 3 }),
);

test('any request line, headers and body: never 5xx, the server stays up', {
  timeout: 60_000,
}, async (t) => {
  await fuzz(t, request(target), budget(1000, 15), [400, 404, 405]);
});

test('the JSON API with a valid session: never 5xx', { timeout: 60_000 }, async (t) => {
  const route = fc.tuple(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          ...[...API_ROUTES, 'read', 'presence', 'events', 'tokens/x', 'tokens/%zz'],
        ),
      },
      // Room and message paths with odd segments.
      ...['rooms/', 'rooms/fz/', 'rooms/fz/members/', 'messages/'].map((p) =>
        pieces.map((x) => p + x),
      ),
    ),
    query,
  );
  const apiHeaders = someHeaders.map(
    (h) =>
      [
        ['Host', '127.0.0.1'],
        ['Cookie', cookie],
        ['Content-Type', 'application/json'],
        ...h,
      ] as const,
  );
  const apiTarget = route.map(([r, q]) => `/api/v1/${r}${q}`);
  const apiMethod = fc.constantFrom(
    'GET',
    'POST',
    'POST',
    'POST',
    'DELETE',
    'OPTIONS',
    'PATCH',
    'PUT',
  );
  await fuzz(
    t,
    request(apiTarget, apiMethod, apiHeaders, false, apiBody),
    budget(800, 15),
    [200, 201, 400, 413],
  );
});

test('classic sends and stream opens: never 5xx', { timeout: 60_000 }, async (t) => {
  const nick = fc.oneof(
    {
      weight: 2,
      arbitrary: fc.constantFrom('mary', 'all', 'fuzzer', 'j%C3%B6rg', 'j%F6rg', 'a+b'),
    },
    pieces,
  );
  const classicTarget = fc.oneof(
    fc.tuple(nick, nick, pieces).map(([from, to, text]) => `/msg/${from}/${to}%20${text}`),
    fc.tuple(nick, query).map(([n, q]) => `/${n}${q}`),
    query.map((q) => `/api/v1/events${q}`),
  );
  const streamHeaders = someHeaders.map(
    (h) =>
      [['Host', '127.0.0.1'], ['Accept', 'text/event-stream'], ['Cookie', cookie], ...h] as const,
  );
  const classic = request(classicTarget, fc.constant('GET'), streamHeaders, false, quietBody);
  await fuzz(t, classic, budget(600, 12), [200, 204, 400]);
});

test('after the fuzzing a normal send is stored and delivered', async () => {
  const sent = await api(
    server.url,
    'POST',
    '/api/v1/messages',
    { to: 'all', text: 'still here' },
    health,
  );
  assert.equal(sent.status, 201);
  const page = await api(server.url, 'GET', '/api/v1/messages?with=all&limit=1', undefined, health);
  assert.equal(page.json.messages[0].text, 'still here');
  assert.equal((await get(server.url, '/msg/a/b%20c')).status, 204);
  assert.deepEqual(errors(), []);
});
