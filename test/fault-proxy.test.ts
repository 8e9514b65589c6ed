/** The fault proxy the fault tests and `npm run chaos` stand on: each fault does what it says. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FaultProxy } from './fault-proxy.js';

let echo: Server;
let proxy: FaultProxy;

/** A connection through the proxy that collects what the echo server sends back. */
async function dial(): Promise<{ socket: Socket; got: () => string }> {
  const socket = new Socket();
  let got = '';
  socket.on('data', (d: Buffer) => {
    got += d.toString();
  });
  socket.on('error', () => {});
  socket.connect(proxy.port, '127.0.0.1');
  await once(socket, 'connect');
  return { socket, got: () => got };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('FaultProxy', () => {
  before(async () => {
    echo = createServer((s) => {
      s.on('error', () => {});
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    proxy = await FaultProxy.start((echo.address() as { port: number }).port);
  });
  after(async () => {
    await proxy.close();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  test('passes bytes both ways; pause holds them, heal delivers them in order', async () => {
    const a = await dial();
    a.socket.write('one');
    await until(() => a.got() === 'one');
    proxy.pause();
    a.socket.write('two');
    const b = await dial();
    b.socket.write('held');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(a.got(), 'one');
    assert.equal(b.got(), '');
    proxy.heal();
    await until(() => a.got() === 'onetwo' && b.got() === 'held');
    a.socket.destroy();
    b.socket.destroy();
  });

  test('silenceOpen: open connections go silent, new ones work', async () => {
    const a = await dial();
    a.socket.write('x');
    await until(() => a.got() === 'x');
    proxy.silenceOpen();
    a.socket.write('y');
    const b = await dial();
    b.socket.write('z');
    await until(() => b.got() === 'z');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(a.got(), 'x');
    assert.equal(a.socket.destroyed, false);
    a.socket.destroy();
    b.socket.destroy();
  });

  test('reset ends open connections with an error; latency delays but keeps order', async () => {
    const a = await dial();
    const closed = new Promise((r) => a.socket.once('close', r));
    proxy.reset();
    await closed;
    proxy.latency(150);
    const b = await dial();
    const start = Date.now();
    b.socket.write('1');
    b.socket.write('2');
    await until(() => b.got() === '12');
    assert.ok(Date.now() - start >= 250, `round trip took ${Date.now() - start} ms`);
    proxy.latency(0);
    b.socket.destroy();
  });
});
