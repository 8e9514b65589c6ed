// The connection gate against a bare node:http server, with a file limit of our choosing: one
// address gets at most 1/32 of what the limit leaves, the last 1/8 only goes to addresses
// holding fewer than 4, and past it all, a 503.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { test } from 'node:test';
import { waitUntil } from '../../test/wait-until.js';
import { Stats } from '../ops/stats.js';
import { gateConnections, softFileLimit } from './connection-gate.js';

test('softFileLimit reads the soft limit; unlimited or unreadable is Infinity', () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             63459                63459                processes \nMax open files            ${soft}                 1048576              files     \n`;
  assert.equal(softFileLimit(limits('1024')), 1024);
  assert.equal(softFileLimit(limits('unlimited')), Number.POSITIVE_INFINITY);
  assert.equal(softFileLimit('nothing here'), Number.POSITIVE_INFINITY);
  const own = softFileLimit();
  assert.ok(own > 0, String(own));
});

test('one address gets 1/32 of the budget, the last 1/8 only addresses holding few; then 503', async () => {
  const stats = new Stats();
  const server = createServer((_req, res) => res.end('ok'));
  // A budget of 64 connections (the limit minus the 64 kept back): 2 per address, and the
  // last 8 for addresses holding fewer than 4 (here: all of them, as the share is 2).
  gateConnections(server, { maxPerAddress: 256, trustProxy: false, fileLimit: 128, stats });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const conns: Array<{ got: string; closed: boolean; destroy: () => void }> = [];
  const openFrom = async (localAddress: string) => {
    const sock = connect({ port, host: '127.0.0.1', localAddress });
    const c = { got: '', closed: false, destroy: () => sock.destroy() };
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      c.got += d;
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      c.closed = true;
    });
    await new Promise((ok) => sock.once('connect', ok));
    // Let the server accept it before the next one, so that the order is known.
    await new Promise((ok) => setTimeout(ok, 5));
    conns.push(c);
    return c;
  };
  try {
    const a = [await openFrom('127.0.0.1'), await openFrom('127.0.0.1')];
    const third = await openFrom('127.0.0.1');
    await waitUntil('a 429', () => third.closed);
    assert.match(third.got, /^HTTP\/1\.1 429 [\s\S]*HTTP_TOO_MANY_CONNECTIONS/);
    assert.ok(a.every((c) => !c.closed));
    for (let i = 2; i <= 32; i++) {
      const local = `127.0.0.${i}`;
      const pair = [await openFrom(local), await openFrom(local)];
      await new Promise((ok) => setTimeout(ok, 20));
      assert.ok(
        pair.every((c) => !c.closed),
        local,
      );
    }
    const late = await openFrom('127.0.0.40');
    await waitUntil('a 503', () => late.closed);
    assert.match(late.got, /^HTTP\/1\.1 503 [\s\S]*SERVER_CONNECTIONS_FULL/);
    assert.equal(stats.refused.connections, 2);
    // The admitted ones are still open.
    const first = a[0] as (typeof a)[0];
    assert.equal(first.closed, false);
  } finally {
    for (const c of conns) c.destroy();
    server.closeAllConnections();
    server.close();
  }
});

test('in the last 1/8 of the budget, an address holding 4 or more gets a 503', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  // A budget of 320: 10 per address; from 280 on, only addresses holding fewer than 4.
  gateConnections(server, { maxPerAddress: 256, trustProxy: false, fileLimit: 384 });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const socks: Array<ReturnType<typeof connect>> = [];
  const states: Array<{ got: string; closed: boolean }> = [];
  const openN = async (localAddress: string, n: number) => {
    const these = [];
    for (let i = 0; i < n; i++) {
      const sock = connect({ port, host: '127.0.0.1', localAddress });
      const c = { got: '', closed: false };
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => {
        c.got += d;
      });
      sock.on('error', () => {});
      sock.on('close', () => {
        c.closed = true;
      });
      socks.push(sock);
      states.push(c);
      these.push(c);
      await new Promise((ok) => sock.once('connect', ok));
    }
    await new Promise((ok) => setTimeout(ok, 30));
    return these;
  };
  try {
    for (let i = 1; i <= 28; i++) await openN(`127.0.1.${i}`, 10);
    assert.ok(
      states.every((c) => !c.closed),
      'the first 280 admitted',
    );
    const held = await openN('127.0.2.1', 5);
    await waitUntil('one refused', () => held.some((c) => c.closed));
    assert.equal(held.filter((c) => c.closed).length, 1);
    assert.match(held[4]?.got ?? '', /^HTTP\/1\.1 503 /);
    // A new address still gets in.
    const fresh = await openN('127.0.2.2', 1);
    await new Promise((ok) => setTimeout(ok, 50));
    assert.equal(fresh[0]?.closed, false);
  } finally {
    for (const s of socks) s.destroy();
    server.closeAllConnections();
    server.close();
  }
});
