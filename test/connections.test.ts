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
import { waitUntil } from '../src/wait-until.js';
import { get, killChild, spawnServer, startTestServer } from './helpers.js';

/** A raw connection from `localAddress` that keeps what it got and when it closed. */
function open(port: number, localAddress = '127.0.0.1') {
  const sock: Socket = connect({ port, host: '127.0.0.1', localAddress });
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

describe('request timeouts', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a silent connection and a header-dripping one are closed within 10 s (+2 s)', {
    timeout: 20_000,
  }, async () => {
    const start = Date.now();
    const silent = open(server.port);
    const drip = open(server.port);
    drip.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    // One header byte every half second: never a whole request.
    const timer = setInterval(() => {
      if (!drip.sock.destroyed) drip.sock.write('X');
    }, 500);
    try {
      await waitUntil('both closed', () => silent.closedAt > 0 && drip.closedAt > 0, 14_000, 50);
    } finally {
      clearInterval(timer);
    }
    for (const [what, c] of [
      ['silent', silent],
      ['dripping', drip],
    ] as const) {
      const s = (c.closedAt - start) / 1000;
      assert.ok(s >= 9 && s <= 12, `the ${what} connection lived ${s} s`);
      assert.match(c.got, /^HTTP\/1\.1 408 /, `${what}: ${c.got}`);
      assert.match(c.got, /HTTP_REQUEST_TIMEOUT/);
    }
  });
});

test('with the file limit at 256, one address gets a quarter of it and others are served', {
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssechat-nofile-'));
  // The limit minus 64 kept back is 192: one address may hold 48, whatever the flag says.
  const server = await spawnServer(dir, ['--store', 'memory'], { fileLimit: 256 });
  const idle: Array<ReturnType<typeof open>> = [];
  try {
    for (let i = 0; i < 120; i++) idle.push(open(server.port));
    await waitUntil('72 refusals', () => idle.filter((c) => c.closedAt > 0).length >= 72);
    await new Promise((ok) => setTimeout(ok, 300));
    const refused = idle.filter((c) => c.closedAt > 0);
    assert.equal(refused.length, 72);
    assert.ok(refused.every((c) => /^HTTP\/1\.1 429 /.test(c.got)));
    assert.equal(await getFrom(server.port, '/healthz', '127.0.0.2'), 200);
    // Three more addresses take the rest of the budget; then everyone gets a 503.
    for (const local of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      for (let i = 0; i < 48; i++) idle.push(open(server.port, local));
    }
    await waitUntil('the budget to fill', async () => {
      const status = await getFrom(server.port, '/healthz', '127.0.0.6');
      return status === 503;
    });
    for (const c of idle) c.sock.destroy();
    await waitUntil('others served again', async () => {
      return (await getFrom(server.port, '/healthz', '127.0.0.6')) === 200;
    });
  } finally {
    for (const c of idle) c.sock.destroy();
    await killChild(server.child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
