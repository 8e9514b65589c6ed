import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { configWith } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/main.js';
import { openStore } from '../src/open-store.js';
import type { Store } from '../src/store/store.js';
import { api, get, SseClient, session } from './helpers.js';

describe('request logging', () => {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  let server: RunningServer;
  let base: string;
  /** While set, every append fails with it: a disk on fire, through the server's Store port. */
  let appendFailure: Error | undefined;
  before(async () => {
    const logger = createLogger('debug', {
      write: (line) => {
        raw.push(line);
        lines.push(JSON.parse(line));
      },
    });
    const config = configWith({ port: 0, store: 'memory', maxMessageLength: 50 });
    server = await startServer(config, logger, {
      openStore: async (c, l, hooks) => failingAppends(await openStore(c, l, hooks)),
    });
    base = server.url;
  });

  /** `store`, with `append` failing while appendFailure is set. */
  function failingAppends(store: Store): Store {
    const append: Store['append'] = (message) =>
      appendFailure ? Promise.reject(appendFailure) : store.append(message);
    return new Proxy(store, {
      get: (target, prop) => {
        if (prop === 'append') return append;
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
  after(() => server.close());

  /** Waits for the access line of `reqId` (written when the response closes). */
  async function accessLine(reqId: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 100; i++) {
      const line = lines.find((l) => l.msg === 'request' && l.reqId === reqId);
      if (line) return line;
      await new Promise((ok) => setTimeout(ok, 10));
    }
    throw new Error(`no access line for ${reqId}`);
  }

  test('every response carries an X-Request-Id: a sane incoming one, else a new one', async () => {
    const mine = await get(base, '/', { 'X-Request-Id': 'lb-42.a_b' });
    assert.equal(mine.headers['x-request-id'], 'lb-42.a_b');
    const first = await get(base, '/nope');
    const second = await get(base, '/nope');
    assert.match(String(first.headers['x-request-id']), /^[0-9a-f]{8}-[0-9a-z]+$/);
    assert.notEqual(first.headers['x-request-id'], second.headers['x-request-id']);
    for (const bad of ['x'.repeat(65), 'a b', 'évé', '']) {
      const reply = await get(base, '/', { 'X-Request-Id': bad });
      assert.notEqual(reply.headers['x-request-id'], bad);
      assert.match(String(reply.headers['x-request-id']), /^[0-9a-f]{8}-/);
    }
  });

  test('a failing request logs reqId and user, and never the message text', async () => {
    const cookie = await session(base, 'ann');
    const text = 'secret plans for the weekend, far too long to be sent here';
    const reply = await api(base, 'POST', '/api/v1/messages', { to: 'bob', text }, cookie);
    assert.equal(reply.status, 413);
    const reqId = String(reply.headers['x-request-id']);
    const line = await accessLine(reqId);
    assert.equal(line.level, 'debug');
    assert.equal(line.user, 'ann');
    assert.equal(line.method, 'POST');
    assert.equal(line.path, '/api/v1/messages');
    assert.equal(line.status, 413);
    assert.equal(typeof line.ms, 'number');
    const classic = await get(base, `/msg/ann/bob%20${encodeURIComponent(`${text} !`)}`);
    assert.equal(classic.status, 413);
    const classicLine = await accessLine(String(classic.headers['x-request-id']));
    assert.equal(classicLine.path, '/msg/ann/…');
    assert.equal(classicLine.user, 'ann');
    assert.ok(!raw.some((l) => l.includes('secret plans')), 'the text was logged');
  });

  test('an unexpected error is logged at error with reqId, user and the error', async () => {
    const cookie = await session(base, 'cat');
    appendFailure = new Error('disk on fire');
    let reply: Awaited<ReturnType<typeof api>>;
    try {
      const body = { to: 'all', text: 'private words' };
      reply = await api(base, 'POST', '/api/v1/messages', body, cookie);
    } finally {
      appendFailure = undefined;
    }
    assert.equal(reply.status, 500);
    const reqId = String(reply.headers['x-request-id']);
    const failed = lines.find((l) => l.msg === 'request failed' && l.reqId === reqId);
    assert.ok(failed, 'no error line');
    assert.equal(failed.level, 'error');
    assert.equal(failed.user, 'cat');
    assert.equal((failed.err as Record<string, unknown>).message, 'disk on fire');
    assert.match(String((failed.err as Record<string, unknown>).stack), /Error: disk on fire/);
    assert.equal((await accessLine(reqId)).status, 500);
    assert.ok(!raw.some((l) => l.includes('private words')), 'the text was logged');
  });

  test('a stream logs its opening with reqId and user at info', async () => {
    const cookie = await session(base, 'dan');
    const stream = await SseClient.open(base, '/api/v1/events', cookie);
    try {
      assert.equal(stream.status, 200);
      const reqId = String(stream.headers['x-request-id']);
      const opened = lines.find((l) => l.msg === 'stream opened' && l.reqId === reqId);
      assert.equal(opened?.level, 'info');
      assert.equal(opened?.user, 'dan');
    } finally {
      stream.close();
    }
  });
});
