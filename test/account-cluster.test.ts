/**
 * Deleting an account on a cluster of two ssechat processes (PostgreSQL and Redis, issue 22):
 * the Bus's `ended` event ends the user's streams on the other process at once, and that
 * process stops trusting the credentials it had cached (http/auth.ts keeps them for 10 s).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { killNode, type Node, PrivateRedis, spawnNode } from './cluster-kit.js';
import { api, NO_LIMIT_FLAGS, SseClient, session } from './helpers.js';

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `ssechat_account_${process.pid}_${randomBytes(3).toString('hex')}`;
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

describe('deleting an account on a cluster of two processes', () => {
  before(async () => {
    redis = await PrivateRedis.start();
    nodes.push(await startNode());
    nodes.push(await startNode());
  });

  after(async () => {
    await Promise.all(nodes.map((n) => killNode(n, 'SIGKILL')));
    await redis.stop();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  });

  test('ends the streams and cached credentials on the other process at once', async () => {
    const [a, b] = nodes as [Node, Node];
    const ann = await session(a.url, 'ann', PASSWORD, true);
    const token = await api(a.url, 'POST', '/api/v1/tokens', {}, ann);
    assert.equal(token.status, 201, token.body);
    const bearer = { Authorization: `Bearer ${token.json.token}` };
    // B reads both credentials now, so that it holds them in its cache.
    for (const who of [ann, bearer]) {
      assert.equal((await api(b.url, 'GET', '/api/v1/session', undefined, who)).status, 200);
    }
    // And that ann is an account (its registered-nick cache).
    const bob = await session(b.url, 'bob', PASSWORD, true);
    const first = await api(b.url, 'POST', '/api/v1/messages', { to: 'ann', text: 'hi' }, bob);
    assert.equal(first.status, 201, first.body);
    const onB = await SseClient.open(b.url, '/api/v1/events', ann);
    await onB.waitFor((c) => c.of('hello').length > 0, 5000);

    const started = Date.now();
    const gone = await api(a.url, 'DELETE', '/api/v1/account', { password: PASSWORD }, ann);
    assert.equal(gone.status, 204, gone.body);
    await onB.waitFor((c) => c.closed, 2000);
    // Well within the cache's 10 s: B heard the `ended` event.
    for (const who of [ann, bearer]) {
      const r = await api(b.url, 'GET', '/api/v1/session', undefined, who);
      assert.equal(r.status, 401, r.body);
    }
    assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
    // B no longer takes the nick for an account (its registered-nick cache forgot it).
    const dm = await api(b.url, 'POST', '/api/v1/messages', { to: 'ann', text: 'x' }, bob);
    assert.equal(dm.status, 404, dm.body);
  });
});
