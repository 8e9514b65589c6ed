// Connections over the real wire (issue 16, item 5): one address may hold at most
// --max-connections-per-ip, others are served meanwhile, and a connection that sends no request
// or drips its headers is closed within the documented 10 s.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { get, killChild, spawnServer, startTestServer } from './helpers.js';
import { waitUntil } from './wait-until.js';

/** A raw connection from `localAddress` that keeps what it got and when it closed. */
function open(port: number, localAddress = '127.0.0.1', allowHalfOpen = false) {
  const sock: Socket = connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen });
  const state = { sock, got: '', closedAt: 0 };
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    state.got += d;
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    state.closedAt = Date.now();
  });
  return state;
}

/** GET `path` from `localAddress`; resolves with the status, or 0 if the connection failed. */
function getFrom(port: number, path: string, localAddress: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

describe('--max-connections-per-ip', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ maxConnectionsPerIp: 5 });
  });
  after(() => server.close());

  test('idle connections past the cap are refused with 429; another address is served', async () => {
    const idle = Array.from({ length: 8 }, () => open(server.port));
    await waitUntil('three refusals', () => idle.filter((c) => c.closedAt > 0).length >= 3);
    await new Promise((ok) => setTimeout(ok, 200));
    const refused = idle.filter((c) => c.closedAt > 0);
    assert.equal(refused.length, 3, 'exactly the connections past the cap are closed');
    for (const c of refused) {
      assert.match(c.got, /^HTTP\/1\.1 429 /, c.got);
      assert.match(c.got, /HTTP_TOO_MANY_CONNECTIONS/);
    }
    // The address is full; another one is not.
    assert.equal(await getFrom(server.port, '/healthz', '127.0.0.2'), 200);
    assert.equal(await getFrom(server.port, '/healthz', '127.0.0.1'), 429);
    for (const c of idle) c.sock.destroy();
    // Once they close, the address gets its connections back.
    await waitUntil('the address to be served again', async () => {
      return (await getFrom(server.port, '/healthz', '127.0.0.1')) === 200;
    });
    const body = (await get(server.url, '/metrics')).body;
    const refusedTotal = Number(
      /^ssechat_refused_total\{what="connections"\} (\d+)$/m.exec(body)?.[1] ?? Number.NaN,
    );
    assert.ok(refusedTotal >= 5, `ssechat_refused_total{what="connections"} is ${refusedTotal}`);
  });
});

describe('refused connections that keep sending', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ maxConnectionsPerIp: 2 });
  });
  after(() => server.close());

  test('are cut 1 s after the refusal, whatever they send meanwhile', async () => {
    const held = [open(server.port), open(server.port)];
    await waitUntil('both admitted', () => held.every((c) => c.sock.readyState === 'open'));
    await new Promise((ok) => setTimeout(ok, 100));
    const start = Date.now();
    // Half-open allowed: the client does not end its side when the server ends its own.
    const refused = Array.from({ length: 4 }, () => open(server.port, '127.0.0.1', true));
    // A byte every 100 ms: an idle timeout would never fire.
    const timer = setInterval(() => {
      for (const c of refused) if (!c.sock.destroyed) c.sock.write('x');
    }, 100);
    try {
      await waitUntil('the refused to close', () => refused.every((c) => c.closedAt > 0), 4_000);
    } finally {
      clearInterval(timer);
      for (const c of [...held, ...refused]) c.sock.destroy();
    }
    for (const c of refused) {
      assert.match(c.got, /^HTTP\/1\.1 429 /, c.got);
      const s = (c.closedAt - start) / 1000;
      assert.ok(s < 2, `a refused connection lived ${s} s`);
    }
  });
});

describe('request timeouts', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('silent and header-dripping connections close within 10 s (+2 s), kept-alive ones too', {
    timeout: 20_000,
  }, async () => {
    // Two kept-alive connections, each after a first response: one sends empty lines, which
    // start no request (and used to hold it open for good); one drips its second request.
    const blank = open(server.port);
    const again = open(server.port);
    for (const c of [blank, again]) c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitUntil('both answered', () => [blank, again].every((c) => /\r\n\r\n\{/.test(c.got)));
    const answered = Date.now();
    const start = Date.now();
    const silent = open(server.port);
    const drip = open(server.port);
    drip.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    again.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    // One header byte every half second: never a whole request. Empty lines as often.
    const timer = setInterval(() => {
      for (const c of [drip, again]) if (!c.sock.destroyed) c.sock.write('X');
      if (!blank.sock.destroyed) blank.sock.write('\r\n');
    }, 500);
    try {
      await waitUntil(
        'all closed',
        () => [silent, drip, again, blank].every((c) => c.closedAt > 0),
        14_000,
        50,
      );
    } finally {
      clearInterval(timer);
      for (const c of [silent, drip, again, blank]) c.sock.destroy();
    }
    for (const [what, c] of [
      ['silent', silent],
      ['dripping', drip],
      ['kept-alive dripping', again],
    ] as const) {
      const s = (c.closedAt - start) / 1000;
      assert.ok(s >= 9 && s <= 12, `the ${what} connection lived ${s} s`);
      // The kept-alive one got its first answer, then the 408.
      assert.match(c.got, /(^|\})HTTP\/1\.1 408 /, `${what}: ${c.got}`);
      assert.match(c.got, /HTTP_REQUEST_TIMEOUT/);
    }
    // 5 s idle keep-alive, counted from the response: empty lines do not put it off.
    const s = (blank.closedAt - answered) / 1000;
    assert.ok(s >= 4.5 && s <= 6.5, `the kept-alive connection sending empty lines lived ${s} s`);
  });
});

test('with the file limit at 256: 6 per address, the last 24 for addresses holding few', {
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssechat-nofile-'));
  // The limit minus 64 kept back is 192: one address may hold 192/32 = 6, whatever the flag
  // says, and the last 192/8 = 24 only go to addresses holding fewer than 4.
  const server = await spawnServer(dir, ['--store', 'memory'], { fileLimit: 256 });
  const idle: Array<ReturnType<typeof open>> = [];
  /** Opens `n` connections from `local`, and waits until the server has taken them. */
  const openFrom = async (local: string, n: number) => {
    const these = Array.from({ length: n }, () => open(server.port, local));
    idle.push(...these);
    await waitUntil('connected', () => these.every((c) => c.sock.readyState !== 'opening'));
    await new Promise((ok) => setTimeout(ok, 150));
    return these;
  };
  try {
    const first = await openFrom('127.0.0.1', 20);
    await waitUntil('14 refusals', () => first.filter((c) => c.closedAt > 0).length >= 14, 3_000);
    await new Promise((ok) => setTimeout(ok, 300));
    const refused = first.filter((c) => c.closedAt > 0);
    assert.equal(refused.length, 14);
    assert.ok(refused.every((c) => /^HTTP\/1\.1 429 /.test(c.got)));
    assert.equal(await getFrom(server.port, '/healthz', '127.0.0.2'), 200);
    // 27 more addresses hold 6 each: 168 in all, where the reserve starts.
    for (let i = 10; i < 37; i++) await openFrom(`127.0.0.${i}`, 6);
    await new Promise((ok) => setTimeout(ok, 300));
    assert.equal(idle.filter((c) => c.closedAt > 0).length, 14, 'all 162 admitted');
    // In the reserve, an address gets in only while it holds fewer than 4.
    const late = await openFrom('127.0.0.50', 5);
    await waitUntil('a 503', () => late.some((c) => c.closedAt > 0), 3_000);
    await new Promise((ok) => setTimeout(ok, 200));
    assert.equal(late.filter((c) => c.closedAt > 0).length, 1);
    assert.match(
      late.find((c) => c.closedAt > 0)?.got ?? '',
      /^HTTP\/1\.1 503 [\s\S]*SERVER_CONNECTIONS_FULL/,
    );
    assert.equal(await getFrom(server.port, '/healthz', '127.0.0.60'), 200);
    // Five more addresses take the last 20; then everyone gets a 503.
    for (let i = 70; i < 75; i++) await openFrom(`127.0.0.${i}`, 4);
    assert.equal(await getFrom(server.port, '/healthz', '127.0.0.80'), 503);
    for (const c of idle) c.sock.destroy();
    await waitUntil('others served again', async () => {
      return (await getFrom(server.port, '/healthz', '127.0.0.80')) === 200;
    });
  } finally {
    for (const c of idle) c.sock.destroy();
    await killChild(server.child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
