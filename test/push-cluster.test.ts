/**
 * Web Push in a cluster: three ssechat processes on one PostgreSQL schema and one Redis push
 * each event once, not once per process, whichever process logged it (issue 19).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { killNode, type Node, PrivateRedis, spawnNode } from './cluster-kit.js';
import { api, session } from './helpers.js';
import { FakePushService } from './push-service.js';

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `ssechat_push_${process.pid}_${randomBytes(3).toString('hex')}`;
const SUBJECT = 'mailto:ops@chat.example.com';
/** Messages sent, spread over the three processes. */
const SENDS = 30;

let redis: PrivateRedis;
let service: FakePushService;
const nodes: Node[] = [];

function startNode(): Promise<Node> {
  return spawnNode([
    ...['--port', '0', '--store', 'postgres', '--database-url', DATABASE_URL],
    ...['--database-schema', SCHEMA, '--bus', 'redis', '--redis-url', redis.url],
    ...['--redis-prefix', `${SCHEMA}:`, '--presence-grace-ms', '0'],
    ...['--push-subject', SUBJECT, '--push-allow-private-endpoints', 'yes'],
    ...['--send-limit-user', '0', '--send-limit-ip', '0'],
  ]);
}

before(async () => {
  redis = await PrivateRedis.start();
  service = await FakePushService.start(SUBJECT);
  nodes.push(await startNode());
  nodes.push(...(await Promise.all([startNode(), startNode()])));
});

after(async () => {
  await Promise.all(nodes.map((n) => killNode(n, 'SIGKILL')));
  await redis.stop();
  await service.close();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
});

test('three processes push each event once, whichever logged it', async () => {
  const [a, b, c] = nodes as [Node, Node, Node];
  // Every process signs with the one key kept in the store.
  const keys = await Promise.all(nodes.map((n) => api(n.url, 'GET', '/api/v1/push/key')));
  assert.equal(new Set(keys.map((k) => k.json.publicKey)).size, 1);
  const bob = await session(b.url, 'bob');
  const browser = service.browser();
  const sub = await api(b.url, 'POST', '/api/v1/push/subscriptions', browser.json, bob);
  assert.equal(sub.status, 201, sub.body);
  const ann = await session(a.url, 'ann');
  const ids: number[] = [];
  for (let i = 0; i < SENDS; i++) {
    const via = [a, b, c][i % 3] as Node;
    const r = await api(via.url, 'POST', '/api/v1/messages', { to: 'bob', text: `m${i}` }, ann);
    assert.equal(r.status, 201, r.body);
    ids.push(r.json.id);
  }
  await service.waitFor(SENDS, 15_000);
  // Two more sweeps of every process: a duplicate would come now.
  await sleep(4_500);
  assert.deepEqual(service.rejected, []);
  const pushed = service.received.map((p) => JSON.parse(p.plaintext).id as number);
  assert.equal(pushed.length, SENDS, `pushes: ${pushed.length}`);
  assert.deepEqual(
    [...pushed].sort((x, y) => x - y),
    ids,
  );
});
