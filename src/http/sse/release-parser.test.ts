// A stream gives its connection's HTTP parser back to node (release-parser.ts). Over real
// sockets against a bare node:http server: the parser goes, frames still flow, whatever the
// client does next ends the stream cleanly, and the parsers given back serve new connections.
import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { waitUntil } from '../../../test/wait-until.js';
import type { Format } from '../../core/subscriber.js';
import type { ChatEvent } from '../../domain/events.js';
import { NodeStreams } from './node-transport.js';
import { parserReleaseWorks } from './release-parser.js';
import { SseStream, StreamIds } from './stream.js';
import { TickFlush } from './tick-flush.js';

const format: Format = { render: (e: ChatEvent) => `data: ${e.kind}\n\n` };

/** An SseStream with the request that opened it. */
type Opened = SseStream & { readonly request: IncomingMessage };

/**
 * A server whose GET /s opens an SseStream, and whose other paths echo the request;
 * `releaseParser` is --release-parser's setting.
 */
async function streamServer(releaseParser: 'auto' | 'on' | 'off' = 'auto') {
  const subs: Opened[] = [];
  const closed: SseStream[] = [];
  const streams = new NodeStreams(releaseParser);
  if (releaseParser === 'on') assert.equal(streams.releasesParsers, true);
  const options = {
    maxQueueBytes: 1 << 20,
    onClose: (s: SseStream) => closed.push(s),
    onOverflow: () => {},
    flush: new TickFlush(),
    ids: new StreamIds(),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/s') {
      const sub = Object.assign(new SseStream(streams.attach(res), 'n', format, options), {
        request: req,
      });
      sub.open('event: hello\ndata: {}\n\n');
      subs.push(sub);
      return;
    }
    res.end(`${req.method} ${req.url} ${req.headers['x-probe'] ?? '-'}`);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  // node no longer lists a released stream's connection: closeAllConnections() misses it.
  const stop = (): void => {
    for (const s of subs) s.abort();
    server.closeAllConnections();
    server.close();
  };
  return { port, subs, closed, streams, stop };
}

/** A raw connection that sent `GET /s` and has read the greeting; `text` keeps what arrived. */
async function rawStream(port: number): Promise<{ socket: Socket; text: () => string }> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    text += d;
  });
  socket.write('GET /s HTTP/1.1\r\nHost: x\r\n\r\n');
  while (!text.includes('event: hello')) await new Promise((ok) => socket.once('data', ok));
  return { socket, text: () => text };
}

/** The server side's socket of a stream, as node:http holds it. */
const parserOf = (sub: Opened) => (sub.request.socket as Socket & { parser?: unknown }).parser;

test('an open stream gives its parser back; frames still flow, past empty lines too', async () => {
  const { port, subs, stop } = await streamServer();
  try {
    const c = await rawStream(port);
    await tick();
    const sub = subs[0] as Opened;
    // Fails should a later node rename what release-parser.ts looks for: then every stream
    // would keep its parser again (2.5 KB per idle connection, bench/results/2026-12-02-notes.md).
    assert.equal(parserOf(sub), null, 'the parser was released');
    // An empty line is no request: node's parser skipped it, and so does the release.
    c.socket.write('\r\n\r\n');
    await new Promise((ok) => setTimeout(ok, 50));
    sub.send('data: after\n\n');
    await waitUntil('the frame', () => c.text().endsWith('data: after\n\n'));
    assert.ok(!sub.isClosed);
    c.socket.destroy();
  } finally {
    stop();
  }
});

test('bytes after the request, or a half-close, end the stream; an abort cuts it', async () => {
  const { port, subs, closed, stop } = await streamServer();
  try {
    const pipelined = await rawStream(port);
    const halfClosed = await rawStream(port);
    const aborted = await rawStream(port);
    await tick();
    assert.ok(subs.every((s) => parserOf(s) === null));
    const [a, b, c] = subs as [Opened, Opened, Opened];
    // Once the parser is gone, a further request on the connection is nobody's to answer.
    pipelined.socket.write('GET /other HTTP/1.1\r\nHost: x\r\n\r\n');
    halfClosed.socket.end();
    c.abort();
    await waitUntil('three closes', () => closed.length === 3);
    assert.deepEqual(new Set(closed), new Set([a, b, c]));
    for (const x of [pipelined, halfClosed, aborted])
      await waitUntil('the client to see it', () => x.socket.destroyed || x.socket.readableEnded);
    assert.ok(!pipelined.text().includes('GET /other'), 'the second request was not answered');
  } finally {
    stop();
  }
});

test('a request read behind the stream before its release closes the connection', async () => {
  const { port, subs, closed, stop } = await streamServer();
  try {
    // Both requests in one write: node reads the second before the stream's parser can go,
    // and would queue its answer behind a response that never ends.
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
    });
    socket.write('GET /s HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitUntil('the stream to close', () => subs.length === 1 && closed.length === 1);
    await waitUntil('the client to see it', () => socket.destroyed || socket.readableEnded);
    assert.ok(!text.includes('GET /other'), 'the second request was not answered');
    socket.destroy();
  } finally {
    stop();
  }
});

test('parsers given back by 1,200 streams parse later requests right', async () => {
  const { port, subs, stop } = await streamServer();
  try {
    // More than node's pool of 1,000 free parsers: the rest are closed, not pooled.
    const streams = [];
    for (let i = 0; i < 1_200; i += 100)
      streams.push(...(await Promise.all(Array.from({ length: 100 }, () => rawStream(port)))));
    await tick();
    assert.equal(subs.filter((s) => parserOf(s) === null).length, 1_200);
    const ask = (n: number): Promise<string> =>
      new Promise((ok, fail) => {
        get({ port, host: '127.0.0.1', path: `/q${n}`, headers: { 'X-Probe': `p${n}` } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => ok(body));
        }).on('error', fail);
      });
    // While the streams are open, and after they have closed and given their sockets back.
    for (let n = 0; n < 50; n++) assert.equal(await ask(n), `GET /q${n} p${n}`);
    for (const s of streams) s.socket.destroy();
    await waitUntil('every stream to close', () => subs.every((s) => s.isClosed));
    const answers = await Promise.all(Array.from({ length: 200 }, (_, n) => ask(n)));
    assert.deepEqual(
      answers,
      Array.from({ length: 200 }, (_, n) => `GET /q${n} p${n}`),
    );
  } finally {
    stop();
  }
});

test('--release-parser off keeps the parser; on releases it; frames flow either way', async () => {
  for (const [mode, released] of [
    ['off', false],
    ['on', true],
  ] as const) {
    const { port, subs, streams, stop } = await streamServer(mode);
    try {
      assert.equal(streams.parserRelease, released ? 'active' : 'off by config');
      const c = await rawStream(port);
      // Past the setImmediate that would release it, and then some.
      await tick();
      await new Promise((ok) => setTimeout(ok, 20));
      const sub = subs[0] as Opened;
      if (released) assert.equal(parserOf(sub), null, `${mode}: the parser was released`);
      else assert.ok(parserOf(sub), `${mode}: the parser was kept`);
      sub.send('data: after\n\n');
      await waitUntil('the frame', () => c.text().endsWith('data: after\n\n'));
      assert.ok(!sub.isClosed);
      c.socket.destroy();
      await waitUntil('the stream to close', () => sub.isClosed && streams.size === 0);
    } finally {
      stop();
    }
  }
});

test('the probe finds what the release needs on this node; a failing one turns it off', async () => {
  // Fails, like the first test here, should a later node change what release-parser.ts uses:
  // `auto` would then quietly keep every parser.
  assert.equal(parserReleaseWorks(), true);
  assert.equal(new NodeStreams('auto').parserRelease, 'active');
  const unavailable = new NodeStreams('auto', () => false);
  assert.equal(unavailable.parserRelease, 'unavailable on this node version');
  assert.equal(unavailable.releasesParsers, false);
  let probed = false;
  new NodeStreams('off', () => {
    probed = true;
    return true;
  });
  assert.equal(probed, false, 'off does not even probe');
});
