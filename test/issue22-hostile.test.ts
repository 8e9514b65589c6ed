import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { api, NO_LIMITS, session, startTestServer } from './helpers.js';

/**
 * Issue 22's features as another user of the same server attacks them (a hostile review):
 * each test here failed before its fix.
 */

const PASSWORD = 'correct horse';

describe('account export: a stalled reader does not hold a shared export slot', () => {
  let server: RunningServer;
  let base: string;
  const stalled: Socket[] = [];
  before(async () => {
    server = await startTestServer({
      ...NO_LIMITS,
      auth: 'accounts',
      maxMessageLength: 100_000,
    });
    base = server.url;
  });
  after(async () => {
    for (const s of stalled) s.destroy();
    await server.close();
  });

  test('four exports that are never read stop holding the slots within a minute', async () => {
    const writer = await session(base, 'writer', PASSWORD, true);
    // About 20 MB of broadcasts, which every user's export holds: far more than the socket
    // buffers of a client that does not read take in.
    const text = 'x'.repeat(100_000);
    for (let i = 0; i < 200; i++) {
      const sent = await api(base, 'POST', '/api/v1/messages', { to: 'all', text }, writer);
      assert.equal(sent.status, 201, sent.body);
    }
    const port = Number(new URL(base).port);
    // Four attackers (the process's MAX_CONCURRENT_EXPORTS) each start an export and read
    // nothing more than its first bytes.
    for (let i = 0; i < 4; i++) {
      const who = await session(base, `hog${i}`, PASSWORD, true);
      const socket = connect(port, '127.0.0.1');
      stalled.push(socket);
      await new Promise<void>((ok) => socket.once('connect', () => ok()));
      socket.write(
        `GET /api/v1/account/export HTTP/1.1\r\nHost: x\r\nCookie: ${who.Cookie}\r\n\r\n`,
      );
      await new Promise<void>((ok) => socket.once('data', () => ok()));
      socket.pause();
    }
    const victim = await session(base, 'victim', PASSWORD, true);
    // The slots are busy while the readers have not stalled for long.
    const busy = await api(base, 'GET', '/api/v1/account/export', undefined, victim);
    assert.equal(busy.status, 503);
    // A reader that took nothing for EXPORT_STALL_MS (30 s) is cut off and frees its slot.
    await new Promise((ok) => setTimeout(ok, 33_000));
    const freed = await api(base, 'GET', '/api/v1/account/export', undefined, victim);
    assert.equal(freed.status, 200);
    assert.equal(freed.json.messages.length, 200);
  });
});
