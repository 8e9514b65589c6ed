/**
 * Blocks on a cluster of two ssechat processes (PostgreSQL and Redis, issue 23): Ann blocks
 * Eve on one process; Eve, on the other, sends her a DM, mentions her in a room, types to her
 * and reacts in the room. None of it reaches Ann's stream, live or replayed, while Carl (who
 * blocks nobody) gets each. No process keeps blocks in memory: the append's transaction and
 * the sender's process read them from the shared Store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { killNode, type Node, PrivateRedis, spawnNode } from './cluster-kit.js';
import { api, NO_LIMIT_FLAGS, SseClient, session } from './helpers.js';

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `ssechat_blocks_${process.pid}_${randomBytes(3).toString('hex')}`;
const PASSWORD = 'correct horse';

let redis: PrivateRedis;
const nodes: Node[] = [];
const streams: SseClient[] = [];

function startNode(): Promise<Node> {
  return spawnNode([
    ...['--port', '0', '--store', 'postgres', '--database-url', DATABASE_URL],
    ...['--database-schema', SCHEMA, '--bus', 'redis', '--redis-url', redis.url],
    ...['--redis-prefix', `${SCHEMA}:`, '--auth', 'accounts'],
    ...NO_LIMIT_FLAGS,
  ]);
}

describe('blocks on a cluster of two processes', () => {
  before(async () => {
    redis = await PrivateRedis.start();
    nodes.push(await startNode());
    nodes.push(await startNode());
  });

  after(async () => {
    for (const s of streams) s.close();
    await Promise.all(nodes.map((n) => killNode(n, 'SIGKILL')));
    await redis.stop();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  });

  test("a block made on one process holds for the other's sends, live and replayed", async () => {
    const [a, b] = nodes as [Node, Node];
    const ann = await session(a.url, 'ann', PASSWORD, true);
    const carl = await session(a.url, 'carl', PASSWORD, true);
    const eve = await session(b.url, 'eve', PASSWORD, true);
    const call = (url: string, who: Record<string, string>, m: string, p: string, body?: unknown) =>
      api(url, m, `/api/v1${p}`, body, who);
    const open = async (who: Record<string, string>, last?: string) => {
      const s = await SseClient.open(a.url, '/api/v1/events', {
        ...who,
        ...(last && { 'Last-Event-ID': last }),
      });
      streams.push(s);
      await s.waitFor((c) => c.of('hello').length > 0);
      return s;
    };
    assert.equal((await call(a.url, ann, 'PUT', '/blocks/eve')).status, 200);
    assert.equal((await call(b.url, eve, 'POST', '/rooms', { name: 'hall' })).status, 201);
    for (const who of [ann, carl]) {
      assert.equal((await call(a.url, who, 'POST', '/rooms/hall/join', {})).status, 201);
    }
    const annStream = await open(ann);
    const carlStream = await open(carl);
    const dm = await call(b.url, eve, 'POST', '/messages', { to: 'ann', text: 'secret' });
    const dmCarl = await call(b.url, eve, 'POST', '/messages', { to: 'carl', text: 'hi' });
    assert.equal(dm.status, 201);
    assert.equal(dmCarl.status, 201);
    await call(b.url, eve, 'POST', '/typing', { to: 'ann' });
    await call(b.url, eve, 'POST', '/typing', { to: '#hall' });
    const said = await call(b.url, eve, 'POST', '/messages', { to: '#hall', text: '@ann @carl' });
    const asked = await call(a.url, ann, 'POST', '/messages', { to: '#hall', text: 'q' });
    const put = await call(b.url, eve, 'PUT', `/messages/${asked.json.id}/reactions/%F0%9F%91%8D`);
    assert.equal(put.status, 200, put.body);
    await carlStream.waitFor((s) => s.of('reaction').length > 0);
    await carlStream.waitFor((s) => s.of('typing').some((t) => t.to === '#hall'));
    await carlStream.waitFor((s) => s.of('message').some((m) => m.id === dmCarl.json.id));
    // A barrier on Ann's stream: her own note, sent after all of Eve's.
    const note = await call(a.url, ann, 'POST', '/messages', { to: 'ann', text: 'barrier' });
    await annStream.waitFor((s) => s.of('message').some((m) => m.id === note.json.id));
    const hall = annStream.of('message').find((m) => m.id === said.json.id);
    assert.deepEqual(hall?.mentions, ['carl'], 'room messages come, without her mention');
    assert.equal(
      annStream.of('message').some((m) => m.id === dm.json.id),
      false,
    );
    assert.deepEqual(annStream.of('typing'), []);
    assert.deepEqual(annStream.of('reaction'), []);
    const replay = await open(ann, '0');
    await replay.waitFor((s) => s.of('message').some((m) => m.id === note.json.id));
    assert.equal(
      replay.of('message').some((m) => m.id === dm.json.id),
      false,
    );
    assert.deepEqual(replay.of('reaction'), []);
  });
});
