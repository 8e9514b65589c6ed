// A client that stops reading is cut off once its queue passes --max-queue-bytes; the
// others keep getting everything.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { getVia, NO_LIMITS, recordingLogger, SseClient, startTestServer } from './helpers.js';

test('a stalled reader is closed at its queue bound; the others are unaffected', {
  timeout: 60_000,
}, async () => {
  const logger = recordingLogger();
  const server = await startTestServer(
    { ...NO_LIMITS, maxQueueBytes: 65_536, maxMessageLength: 10_000, maxUrlLength: 12_288 },
    logger,
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    // The stalled client: logs in over a raw socket, then never reads again.
    const stalled = connect(server.port, '127.0.0.1');
    await new Promise((ok) => stalled.once('connect', ok));
    stalled.write('GET /stuck HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    // pause() stops reading from the kernel only once connected; the TCP window then fills.
    stalled.pause();
    const reader = await SseClient.open(server.url, '/reader');
    await reader.waitForLine('stuck has joined.').catch(async () => {
      // The stalled login may have been first; then "now online" names it.
      await reader.waitFor((c) => c.lines[1] === 'now online: stuck');
    });

    const text = 'x'.repeat(9_990);
    const sendOne = (i: number): Promise<number> =>
      getVia(agent, `${server.url}/msg/flood/all%20${i}:${text}`);
    // Loopback buffers take several MB before node's own queue grows; 4,000 messages of
    // 10 KB (40 MB) is far past both, and the loop stops as soon as the reader is cut off.
    // The server's close of the stalled stream cannot reach a client that does not read (its
    // FIN waits behind the unread data), so watch for the leave the others are told about.
    let sent = 0;
    const cut = (): boolean => reader.lines.includes('stuck has left.');
    while (!cut() && sent < 4_000) {
      const batch = await Promise.all(Array.from({ length: 20 }, (_, k) => sendOne(sent + k)));
      assert.ok(batch.every((s) => s === 204));
      sent += 20;
    }
    await reader.waitForLine('stuck has left.', 10_000);
    assert.ok(sent < 4_000, 'cut off before the flood ran out');
    stalled.destroy();
    // The reading client got every message, once (sent 20 at a time, so in any order).
    await reader.waitFor(
      (c) => c.lines.filter((l) => l.startsWith('flood to all: ')).length === sent,
      20_000,
    );
    const numbers = reader.lines
      .filter((l) => l.startsWith('flood to all: '))
      .map((l) => Number(l.slice('flood to all: '.length, l.indexOf(':', 14))))
      .sort((a, b) => a - b);
    assert.deepEqual(
      numbers,
      Array.from({ length: sent }, (_, i) => i),
    );
    reader.close();
    // Once: deliveries that land between the cut and the socket's close must not count again.
    const cuts = logger.lines.filter((l) => l.msg === 'slow reader closed');
    assert.deepEqual(
      cuts.map((l) => l.fields?.user),
      ['stuck'],
    );
  } finally {
    agent.destroy();
    await server.close();
  }
});
