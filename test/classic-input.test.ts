// Bad and hostile input against the classic protocol: clear errors, nobody logged in, and the
// server stays up.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { get, SseClient, startTestServer } from './helpers.js';

let server: RunningServer;
let base: string;

before(async () => {
  server = await startTestServer({ maxOfflinePerUser: 2, maxMessageLength: 50 });
  base = server.url;
});
after(() => server.close());

const errorCode = (body: string): string => JSON.parse(body).error.code;

/** Sends raw bytes and returns whatever the server answers before closing. */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(server.port, '127.0.0.1', () => sock.write(bytes));
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      got += d;
    });
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
    sock.setTimeout(3000, () => sock.destroy());
  });
}

/** Who is online, as a fresh login sees it; retried briefly, as closes land asynchronously. */
async function onlineNow(expected = 'now online: '): Promise<string> {
  let line = '';
  for (let i = 0; i < 20 && line !== expected; i++) {
    if (i > 0) await new Promise((ok) => setTimeout(ok, 50));
    const probe = await SseClient.open(base, '/zz-probe');
    await probe.waitFor((c) => c.events.length >= 2);
    probe.close();
    line = probe.lines[1] ?? '';
  }
  return line;
}

test('unknown paths and a nick without the event-stream Accept get 404 and log nobody in', async () => {
  for (const path of ['/favicon.ico', '/john', '/msg', '/a/b']) {
    const r = await get(base, path);
    assert.equal(r.status, 404, path);
    assert.equal(errorCode(r.body), 'HTTP_NOT_FOUND');
  }
  assert.equal(await onlineNow(), 'now online: ');
});

test('a /msg without a space after the recipient gets 400', async () => {
  for (const path of [
    '/msg/mary/john',
    '/msg/mary/john%2Bhi',
    '/msg/mary/%20hello',
    '/msg/mary/',
  ]) {
    const r = await get(base, path);
    assert.equal(r.status, 400, path);
    assert.equal(errorCode(r.body), 'CHAT_MESSAGE_MALFORMED', path);
  }
});

test('bad nicks get 400 with the reason, on login and on send', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['/a%2Fb', 'CHAT_NICK_INVALID', /"\/"/],
    ['/all', 'CHAT_NICK_RESERVED', /reserved/],
    ['/ALL', 'CHAT_NICK_RESERVED', /reserved/],
    [`/${'x'.repeat(33)}`, 'CHAT_NICK_INVALID', /longer than 32/],
    ['/a%00b', 'CHAT_NICK_INVALID', /U\+0000/],
    ['/a%0D%0Ab', 'CHAT_NICK_INVALID', /U\+000D/],
    ['/a%20b', 'CHAT_NICK_INVALID', /U\+0020/],
  ];
  for (const [path, code, reason] of cases) {
    const stream = await get(base, path, { Accept: 'text/event-stream' });
    assert.equal(stream.status, 400, path);
    assert.equal(errorCode(stream.body), code, path);
    assert.match(JSON.parse(stream.body).error.message, reason, path);
    const send = await get(base, `/msg${path}/all%20hi`);
    assert.equal(send.status, 400, `send from ${path}`);
  }
  const to = await get(base, '/msg/mary/a%09b%20hi');
  assert.equal(errorCode(to.body), 'CHAT_NICK_INVALID');
  assert.equal(await onlineNow(), 'now online: ');
});

test('control characters in text get 400; over-long text gets 413', async () => {
  for (const bad of ['%00', '%07', '%1B%5B31m']) {
    const r = await get(base, `/msg/mary/all%20a${bad}b`);
    assert.equal(r.status, 400, bad);
    assert.equal(errorCode(r.body), 'CHAT_TEXT_INVALID');
  }
  assert.equal((await get(base, `/msg/mary/all%20${'x'.repeat(50)}`)).status, 204);
  const long = await get(base, `/msg/mary/all%20${'x'.repeat(51)}`);
  assert.equal(long.status, 413);
  assert.equal(errorCode(long.body), 'CHAT_TEXT_TOO_LONG');
});

test('a full offline mailbox gets 429 and keeps what it has', async () => {
  for (const t of ['one', 'two'])
    assert.equal((await get(base, `/msg/mary/tom%20${t}`)).status, 204);
  const full = await get(base, '/msg/mary/tom%20three');
  assert.equal(full.status, 429);
  assert.equal(errorCode(full.body), 'CHAT_MAILBOX_FULL');
  const tom = await SseClient.open(base, '/tom');
  await tom.waitFor((c) => c.events.length >= 4);
  assert.deepEqual(
    tom.lines.slice(2).map((l) => l.replace(/ \(.*\)/, '')),
    ['mary: one', 'mary: two'],
  );
  tom.close();
});

test('the seed page encoding (escape(), + for space) is understood', async () => {
  const uma = await SseClient.open(base, '/j%C3%B6rg');
  await uma.waitFor((c) => c.events.length >= 2);
  assert.equal(uma.lines[0], 'Welcome jörg!');
  // escape('jörg') is j%F6rg; escape('€') is %u20AC
  assert.equal((await get(base, '/msg/j%F6rg/all%20%u20AC%201+1')).status, 204);
  await uma.waitForLine('jörg to all: € 1 1');
  uma.close();
});

test('limits on the request: 414 for a long URL, 431 for huge headers, 405 for other methods', async () => {
  const longUrl = await get(base, `/msg/mary/all%20${'y'.repeat(9000)}`);
  assert.equal(longUrl.status, 414);
  assert.equal(errorCode(longUrl.body), 'HTTP_URI_TOO_LONG');
  const bigHeaders = await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'z'.repeat(20_000)}\r\n\r\n`);
  assert.match(bigHeaders, /^HTTP\/1\.1 431 /);
  for (const method of ['POST', 'DELETE', 'PUT', 'HEAD']) {
    const r = await get(base, '/msg/mary/all%20x', {}, method);
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.allow, 'GET');
  }
  const del = await get(base, '/', {}, 'DELETE');
  assert.equal(del.status, 405);
  assert.equal(del.headers.allow, 'GET, HEAD');
});

test('garbage, truncated and abandoned requests leave the server up', async () => {
  assert.match(await raw('\x00\x01\x02 garbage\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await raw('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'), /^HTTP\/1\.1 400 /);
  assert.match(await raw('GET /%%% HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 404 /);
  assert.match(await raw('CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 405 /);
  const upgrade =
    'GET /john HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
  assert.match(await raw(upgrade), /^HTTP\/1\.1 404 /);
  // A stream dropped before its greeting was read, and a request cut off mid-headers.
  const sock = connect(server.port, '127.0.0.1');
  sock.write('GET /vic HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n');
  sock.destroy();
  const cut = connect(server.port, '127.0.0.1');
  cut.write('GET /msg/mary/all%20x HTTP/1.1\r\nHo');
  cut.destroy();
  const r = await get(base, '/');
  assert.equal(r.status, 200);
  assert.equal(await onlineNow(), 'now online: ');
});
