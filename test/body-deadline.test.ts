// A body's deadline (src/http/body-deadline.ts): a JSON body has 30 s after its headers; an
// upload may take longer as long as it keeps coming at 32 KiB/s or more.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { NO_LIMITS, session, startTestServer } from './helpers.js';
import { waitUntil } from './wait-until.js';

let server: RunningServer;
const dataDir = mkdtempSync(join(tmpdir(), 'ssechat-deadline-'));
before(async () => {
  server = await startTestServer({ ...NO_LIMITS, dataDir });
});
after(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Files being received (the uploads' temp files). */
const receiving = (): string[] => readdirSync(join(dataDir, 'incoming'));

/** A request written by hand: headers now, then `chunk` every `everyMs` until closed. */
function drip(head: string, chunk: Buffer, everyMs: number) {
  const sock = connect({ port: server.port, host: '127.0.0.1' });
  const state = { got: '', closedAt: 0, sent: 0 };
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    state.got += d;
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    state.closedAt = Date.now();
  });
  sock.write(head);
  const timer = setInterval(() => {
    if (sock.destroyed || state.got !== '') return clearInterval(timer);
    sock.write(chunk);
    state.sent += chunk.length;
  }, everyMs);
  const stop = (): void => {
    clearInterval(timer);
    sock.destroy();
  };
  return { state, stop };
}

test('a dripped JSON body gets 408 at 30 s; an upload that keeps coming goes on', {
  timeout: 60_000,
}, async () => {
  const { Cookie } = await session(server.url, 'ann');
  const start = Date.now();
  const json = drip(
    `POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nCookie: ${Cookie}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`,
    Buffer.from(' '),
    1000,
  );
  // 48 KiB a second for 35 s: 1.6 MiB, past 30 s but above the rate.
  const size = 48 * 1024 * 35;
  const upload = drip(
    `POST /api/v1/uploads?name=slow.bin HTTP/1.1\r\nHost: x\r\nCookie: ${Cookie}\r\nContent-Length: ${size}\r\n\r\n`,
    Buffer.alloc(12 * 1024, 1),
    250,
  );
  // 10 KB, then nothing: below the rate, cut at 30 s, and its temp file goes with it.
  const stalled = drip(
    `POST /api/v1/uploads?name=stalled.bin HTTP/1.1\r\nHost: x\r\nCookie: ${Cookie}\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(10_240)}`,
    Buffer.alloc(0),
    3_600_000,
  );
  try {
    await waitUntil('the stalled upload is received', () => receiving().length >= 1, 5_000, 50);
    await waitUntil('the JSON body is cut', () => json.state.closedAt > 0, 40_000, 100);
    const s = (json.state.closedAt - start) / 1000;
    assert.ok(s >= 30 && s <= 33.5, `the dripping body lived ${s} s`);
    assert.match(json.state.got, /^HTTP\/1\.1 408 /);
    assert.match(json.state.got, /HTTP_REQUEST_TIMEOUT/);
    await waitUntil('the stalled upload is cut', () => stalled.state.closedAt > 0, 5_000, 100);
    assert.match(stalled.state.got, /^HTTP\/1\.1 408 /);
    await waitUntil(
      'the upload is answered',
      () => upload.state.got.includes('\r\n\r\n'),
      50_000,
      100,
    );
    assert.match(upload.state.got, /^HTTP\/1\.1 201 /, upload.state.got.slice(0, 200));
    assert.ok(Date.now() - start > 33_000, 'the upload took longer than a JSON body may');
    assert.deepEqual(receiving(), [], 'no temp file is left');
  } finally {
    json.stop();
    upload.stop();
    stalled.stop();
  }
});
