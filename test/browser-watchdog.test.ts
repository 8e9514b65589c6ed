/**
 * The web client's dead-stream watchdog (web/watchdog.js), in a real Chromium. A TCP proxy
 * between the page and the server can freeze every connection it carries: nothing passes and
 * nothing closes, as when a NAT forgets a connection or a laptop sleeps. EventSource reports
 * no error then; only the missing `ping` events tell, and the page must reconnect by itself.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import {
  connected,
  login,
  newContext,
  noPageErrors,
  send,
  setup,
  shown,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';

useBrowser();

/** A TCP proxy to `port`; `freeze()` stalls the connections open now, in both directions. */
async function proxy(port: number): Promise<{ url: string; freeze(): void; close(): void }> {
  const open: Array<[Socket, Socket]> = [];
  const all: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
      all.push(s);
    }
    open.push([client, upstream]);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    url: `http://127.0.0.1:${address.port}`,
    freeze() {
      for (const [client, upstream] of open.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close() {
      server.close();
      for (const s of all) s.destroy();
    },
  };
}

test('a stream that goes silent is noticed by its missing pings; the page reconnects and misses nothing', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t, { heartbeatMs: 1000 });
  if (!server) return;
  const frozen = await proxy(server.port);
  try {
    const wanda = await login(await newContext(undefined, frozen.url), 'wanda');
    const max = await login(await newContext(), 'max');
    await send(max, 'before');
    await shown(wanda, 'before');
    frozen.freeze();
    await send(max, 'while frozen');
    // 2.5 missed pings (2.5 s), a backoff of 0.5 to 1.5 s, then a resume with lastEventId.
    await shown(wanda, 'while frozen');
    await connected(wanda);
    await until(wanda, 'both messages once', () => {
      const texts = Array.from(document.querySelectorAll('#messages li.msg .text')).map(
        (e) => e.textContent,
      );
      return texts.join('|') === 'before|while frozen';
    });
    noPageErrors();
  } finally {
    frozen.close();
  }
});
