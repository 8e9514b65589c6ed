// --release-parser over the real wire (issue 18): the server says once at startup whether
// streams give their connection's HTTP parser back, and does as it says. With the release a
// further request on a stream's connection closes it (nobody is left to read it); with
// `off`, node's parser reads it and the stream lives on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogFields, Logger } from '../src/logger.js';
import { silentLogger } from '../src/logger.js';
import { get, NO_LIMITS, rawSocket, startTestServer } from './helpers.js';
import { waitUntil } from './wait-until.js';

/** A silent logger that keeps the info lines. */
function infoLogger(): Logger & { readonly lines: Array<[string, LogFields | undefined]> } {
  const lines: Array<[string, LogFields | undefined]> = [];
  return { ...silentLogger, lines, info: (msg, fields) => void lines.push([msg, fields]) };
}

/** A raw classic stream of `nick`, once its head is in. */
async function rawStream(port: number, nick: string) {
  const { sock, text, closed } = rawSocket(port);
  sock.write(`GET /${nick} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
  await waitUntil('the head', () => text().includes('\r\n\r\n'));
  return { sock, text, closed };
}

for (const [mode, status] of [
  ['off', 'off by config'],
  ['on', 'active'],
] as const) {
  test(`--release-parser ${mode}: said once at startup, and done`, async () => {
    const logger = infoLogger();
    const server = await startTestServer({ ...NO_LIMITS, releaseParser: mode }, logger);
    try {
      const said = logger.lines.filter(([msg]) => msg === 'stream parser release');
      assert.equal(said.length, 1);
      assert.equal(said[0]?.[1]?.status, status);
      assert.equal(said[0]?.[1]?.releaseParser, mode);
      const c = await rawStream(server.port, `reader${mode}`);
      // Past the setImmediate that releases the parser.
      await new Promise((ok) => setTimeout(ok, 50));
      c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      if (mode === 'on') {
        await waitUntil('the connection to close', c.closed);
      } else {
        await new Promise((ok) => setTimeout(ok, 200));
        assert.equal(
          (await get(server.url, `/msg/writer/reader${mode}%20still%20here`)).status,
          204,
        );
        await waitUntil('the message on the stream', () => c.text().includes('still here'));
        assert.equal(c.closed(), false);
      }
      // Either way nobody answered the request behind the stream.
      assert.equal(c.text().match(/HTTP\/1\.1 /g)?.length, 1);
      c.sock.destroy();
    } finally {
      await server.close();
    }
  });
}
