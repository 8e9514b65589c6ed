/**
 * Sanctions on a cluster of two ssechat processes (PostgreSQL and Redis, issue 23): a ban made
 * on one process ends the user's streams on the other within a second (the Bus's `ended`), and
 * a mute made on one is enforced on the other at once (the Bus's `sanction` clears its cache).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { killNode, type Node, PrivateRedis, spawnNode } from './cluster-kit.js';
import { api, NO_LIMIT_FLAGS, SseClient, session } from './helpers.js';

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `ssechat_sanction_${process.pid}_${randomBytes(3).toString('hex')}`;
const PASSWORD = 'correct horse';

let redis: PrivateRedis;
const nodes: Node[] = [];

function startNode(): Promise<Node> {
  return spawnNode([
    ...['--port', '0', '--store', 'postgres', '--database-url', DATABASE_URL],
    ...['--database-schema', SCHEMA, '--bus', 'redis', '--redis-url', redis.url],
    ...['--redis-prefix', `${SCHEMA}:`, '--auth', 'accounts'],
    ...NO_LIMIT_FLAGS,
  ]);
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe('sanctions on a cluster of two processes', () => {
  before(async () => {
    redis = await PrivateRedis.start();
    nodes.push(await startNode());
    nodes.push(await startNode());
  });

  after(async () => {
    await Promise.all(nodes.map((n) => killNode(n, 'SIGKILL')));
    await redis.stop();
    await sql(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  });

  test('a ban on one process ends the stream on the other within a second', async () => {
    const [a, b] = nodes as [Node, Node];
    const root = await session(a.url, 'root', PASSWORD, true);
    await sql(`UPDATE ${SCHEMA}.users SET admin = true WHERE nick = 'root'`);
    const ann = await session(b.url, 'ann', PASSWORD, true);
    const onB = await SseClient.open(b.url, '/api/v1/events', ann);
    await onB.waitFor((c) => c.of('hello').length > 0, 5000);
    // B holds ann's session in its credential cache now.
    assert.equal((await api(b.url, 'GET', '/api/v1/session', undefined, ann)).status, 200);

    const started = Date.now();
    const banned = await api(
      a.url,
      'POST',
      '/api/v1/admin/users/ann/ban',
      { reason: 'spam' },
      root,
    );
    assert.equal(banned.status, 201, banned.body);
    await onB.waitFor((c) => c.closed, 1000);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.equal((await api(b.url, 'GET', '/api/v1/session', undefined, ann)).status, 401);
    const login = await api(b.url, 'POST', '/api/v1/session', { nick: 'ann', password: PASSWORD });
    assert.equal(login.json.error.code, 'AUTH_BANNED');
  });

  test('a mute on one process is enforced on the other at once, and told to its pages', async () => {
    const [a, b] = nodes as [Node, Node];
    const root = await session(a.url, 'root', PASSWORD);
    const bob = await session(b.url, 'bob', PASSWORD, true);
    // B reads bob's (absent) mute now, so that it holds it in its cache.
    const first = await api(b.url, 'POST', '/api/v1/messages', { to: 'all', text: 'hi' }, bob);
    assert.equal(first.status, 201, first.body);
    const onB = await SseClient.open(b.url, '/api/v1/events', bob);
    await onB.waitFor((c) => c.of('hello').length > 0, 5000);
    const muted = await api(
      a.url,
      'POST',
      '/api/v1/admin/users/bob/mute',
      { reason: 'calm', minutes: 5 },
      root,
    );
    assert.equal(muted.status, 201, muted.body);
    await onB.waitFor((c) => c.of('sanction').length > 0, 1000);
    const refused = await api(b.url, 'POST', '/api/v1/messages', { to: 'all', text: 'x' }, bob);
    assert.equal(refused.status, 403, refused.body);
    assert.equal(refused.json.error.until, muted.json.mute.until);
    onB.close();
  });
});
