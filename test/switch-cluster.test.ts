import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import pg from 'pg';
import { type Config, configWith } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { openStore } from '../src/open-store.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';

/**
 * The end of room memberships no account owns (test/switch.test.ts), in a cluster: what one
 * node's start logs reaches the room directory of a node that was already running, through
 * its Sequencer, so that node stops delivering the room to the nick too. PostgreSQL and the
 * shared Redis, each under a name of this run's own.
 */

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `ssechat_switch_${process.pid}_${randomBytes(3).toString('hex')}`;
const PASSWORD = 'correct horse';

const config: Partial<Config> = {
  ...NO_LIMITS,
  auth: 'accounts',
  store: 'postgres',
  databaseUrl: DATABASE_URL,
  databaseSchema: SCHEMA,
  bus: 'redis',
  redisPrefix: `${SCHEMA}:`,
};

after(async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
});

test('a running node’s room directory follows the endings another node’s start logs', async () => {
  const a = await startTestServer(config);
  let b: Awaited<ReturnType<typeof startTestServer>> | undefined;
  try {
    const carolCookie = await session(a.url, 'carol', PASSWORD, true);
    const carol = (method: string, path: string, body?: unknown) =>
      api(a.url, method, `/api/v1${path}`, body, carolCookie);
    assert.equal(
      (await carol('POST', '/rooms', { name: '#sec', visibility: 'private' })).status,
      201,
    );
    const watch = await SseClient.open(a.url, '/api/v1/events', carolCookie);
    await watch.waitFor((c) => c.of('hello').length > 0);
    // A membership of a nick nobody registered, as a node still in open mode would make it:
    // straight in the log, where a's Sequencer finds it.
    const side = await openStore(configWith({ ...config, logLevel: 'silent' }), silentLogger);
    try {
      const change = { room: '#sec', user: 'zed', ts: Date.now(), bigRoom: 200 } as const;
      await side.appendMember({ ...change, by: 'carol', action: 'invite' });
      await side.appendMember({ ...change, by: 'zed', action: 'join' });
    } finally {
      await side.close();
    }
    const zedIn = (c: SseClient, action: string) =>
      c
        .of('member')
        .some((m: { user: string; action: string }) => m.user === 'zed' && m.action === action);
    await watch.waitFor((c) => zedIn(c, 'join'));

    // Another node starts: it ends zed's membership, and a hears of it.
    b = await startTestServer(config);
    await watch.waitFor((c) => zedIn(c, 'leave'));
    watch.close();

    // Whoever registers zed now gets nothing of #sec on a, live or in history.
    const zedCookie = await session(a.url, 'zed', PASSWORD, true);
    const zed = await SseClient.open(a.url, '/api/v1/events', zedCookie);
    await zed.waitFor((c) => c.of('hello').length > 0);
    assert.equal((await carol('POST', '/messages', { to: '#sec', text: 'code 4321' })).status, 201);
    assert.equal((await carol('POST', '/messages', { to: 'zed', text: 'sentinel' })).status, 201);
    await zed.waitFor((c) => c.of('message').some((m: { text: string }) => m.text === 'sentinel'));
    assert.deepEqual(
      zed.of('message').map((m: { text: string }) => m.text),
      ['sentinel'],
    );
    zed.close();
    const history = await api(a.url, 'GET', '/api/v1/messages?with=%23sec', undefined, zedCookie);
    assert.equal(history.status, 403, history.body);
  } finally {
    await b?.close();
    await a.close();
  }
});
