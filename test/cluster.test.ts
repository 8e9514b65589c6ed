/**
 * Three ssechat processes as one chat, on PostgreSQL and Redis (issue 7). Each run uses its
 * own PostgreSQL schema and its own redis-server on a free port (so that restarting it here
 * cannot disturb anything else), and removes both at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { killNode, type Node, PrivateRedis, spawnNode } from './cluster-kit.js';
import { api, SseClient, session } from './helpers.js';

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `ssechat_cluster_${process.pid}_${randomBytes(3).toString('hex')}`;
const GRACE_MS = 300;

let redis: PrivateRedis;
const nodes: Node[] = [];

/** Starts one ssechat node of the cluster; resolves once it listens. */
function startNode(): Promise<Node> {
  return spawnNode([
    ...['--port', '0', '--store', 'postgres', '--database-url', DATABASE_URL],
    ...['--database-schema', SCHEMA, '--bus', 'redis', '--redis-url', redis.url],
    ...['--redis-prefix', `${SCHEMA}:`, '--presence-grace-ms', String(GRACE_MS)],
  ]);
}

const kill = killNode;

/** Opens an events stream; `last` resumes from an id. */
function events(base: string, cookie: Record<string, string>, last?: string): Promise<SseClient> {
  return SseClient.open(
    base,
    '/api/v1/events',
    last ? { ...cookie, 'Last-Event-ID': last } : cookie,
  );
}

/** The ids of the `message` events a stream received, as numbers. */
const messageIds = (c: SseClient): number[] =>
  c.events.filter((e) => e.type === 'message').map((e) => Number(e.id));

describe('a cluster of three ssechat processes on PostgreSQL and Redis', () => {
  before(async () => {
    redis = await PrivateRedis.start();
    // The first node creates the schema; the others find it migrated.
    nodes.push(await startNode());
    nodes.push(...(await Promise.all([startNode(), startNode()])));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => kill(n, 'SIGKILL')));
    await redis.stop();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  });

  test('a DM sent on node A reaches every tab of the recipient on B and C; a broadcast, all', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const ann = await session(a.url, 'ann');
    const bob = await session(a.url, 'bob');
    const cat = await session(c.url, 'cat');
    const bobOnB = await events(b.url, bob);
    const bobOnC = await events(c.url, bob);
    const catOnC = await events(c.url, cat);
    for (const s of [bobOnB, bobOnC, catOnC]) await s.waitFor((x) => x.of('hello').length === 1);
    const dm = await api(a.url, 'POST', '/api/v1/messages', { to: 'bob', text: 'psst' }, ann);
    assert.equal(dm.status, 201);
    const all = await api(a.url, 'POST', '/api/v1/messages', { to: 'all', text: 'hi all' }, ann);
    for (const s of [bobOnB, bobOnC]) {
      await s.waitFor((x) => x.of('message').length === 2, 5_000);
      assert.deepEqual(
        s.of('message').map((m) => m.text),
        ['psst', 'hi all'],
      );
    }
    await catOnC.waitFor((x) => x.of('message').length === 1, 5_000);
    assert.deepEqual(messageIds(catOnC), [all.json.id]);
    for (const s of [bobOnB, bobOnC, catOnC]) s.close();
  });

  test('joins and leaves are exact across nodes', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const watcher = await session(c.url, 'watcher');
    const roamer = await session(a.url, 'roamer');
    const watch = await events(c.url, watcher);
    await watch.waitFor((x) => x.of('hello').length === 1);
    const tab1 = await events(a.url, roamer);
    await watch.waitFor((x) => x.of('join').some((j) => j.user === 'roamer'), 5_000);
    const tab2 = await events(b.url, roamer);
    await tab2.waitFor((x) => x.of('hello').length === 1);
    assert.ok(tab2.of('hello')[0].online.includes('roamer'));
    const presence = await api(b.url, 'GET', '/api/v1/presence', undefined, watcher);
    assert.ok(presence.json.online.includes('roamer'));
    tab1.close();
    await new Promise((r) => setTimeout(r, GRACE_MS * 3));
    assert.equal(watch.of('leave').filter((l) => l.user === 'roamer').length, 0);
    tab2.close();
    await watch.waitFor((x) => x.of('leave').some((l) => l.user === 'roamer'), 5_000);
    await new Promise((r) => setTimeout(r, GRACE_MS * 2));
    assert.equal(watch.of('join').filter((j) => j.user === 'roamer').length, 1);
    assert.equal(watch.of('leave').filter((l) => l.user === 'roamer').length, 1);
    watch.close();
  });

  test('rooms across nodes: membership changes on one node steer delivery on the others', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const owner = await session(a.url, 'owner');
    const member = await session(b.url, 'member');
    const outsider = await session(c.url, 'outsider');
    const call = (
      node: Node,
      who: Record<string, string>,
      method: string,
      path: string,
      body?: unknown,
    ) => api(node.url, method, `/api/v1${path}`, body ?? {}, who);
    assert.equal(
      (await call(a, owner, 'POST', '/rooms', { name: 'crew', visibility: 'private' })).status,
      201,
    );
    assert.equal(
      (await call(b, owner, 'POST', '/rooms/crew/invite', { user: 'member' })).status,
      201,
    );
    assert.equal((await call(c, member, 'POST', '/rooms/crew/join')).status, 201);
    const memberOnC = await events(c.url, member);
    const outsiderOnC = await events(c.url, outsider);
    const ownerOnB = await events(b.url, owner);
    for (const s of [memberOnC, outsiderOnC, ownerOnB])
      await s.waitFor((x) => x.of('hello').length === 1);
    const say = async (node: Node, text: string) => {
      const reply = await call(node, owner, 'POST', '/messages', { to: '#crew', text });
      assert.equal(reply.status, 201, reply.body);
      return reply.json.id as number;
    };
    const first = await say(a, 'one');
    await memberOnC.waitFor((x) => x.of('message').some((m) => m.text === 'one'), 5_000);
    // An edit on B and a leave on A; then a message on A must not reach the member on C.
    assert.equal(
      (await call(b, owner, 'PATCH', `/messages/${first}`, { text: 'one!' })).status,
      200,
    );
    await memberOnC.waitFor((x) => x.of('edit').some((e) => e.text === 'one!'), 5_000);
    assert.equal((await call(a, member, 'POST', '/rooms/crew/leave')).status, 201);
    await say(a, 'two');
    const fence = await api(a.url, 'POST', '/api/v1/messages', { to: 'all', text: 'fence' }, owner);
    for (const s of [memberOnC, outsiderOnC, ownerOnB]) {
      await s.waitFor((x) => x.of('message').some((m) => m.id === fence.json.id), 5_000);
    }
    assert.deepEqual(
      memberOnC.of('message').map((m) => m.text),
      ['one', 'fence'],
    );
    assert.deepEqual(
      outsiderOnC.of('message').map((m) => m.text),
      ['fence'],
    );
    assert.deepEqual(
      ownerOnB.of('message').map((m) => m.text),
      ['one', 'two', 'fence'],
    );
    assert.ok(!outsiderOnC.raw.includes('#crew'));
    // A node started now loads the directory from PostgreSQL: the owner's stream on it gets
    // the room's messages.
    const late = await startNode();
    nodes.push(late);
    const ownerOnLate = await events(late.url, owner);
    await ownerOnLate.waitFor((x) => x.of('hello').length === 1);
    await say(b, 'three');
    await ownerOnLate.waitFor((x) => x.of('message').some((m) => m.text === 'three'), 5_000);
    for (const s of [memberOnC, outsiderOnC, ownerOnB, ownerOnLate]) s.close();
  });

  test('kill -9 of a node mid-traffic: its clients resume on another node and miss nothing', async () => {
    const [a, b, c] = nodes as [Node, Node, Node];
    const sender = await session(a.url, 'sender');
    const readers = await Promise.all(['r1', 'r2', 'r3'].map((n) => session(a.url, n)));
    const first = await Promise.all(readers.map((r) => events(c.url, r)));
    for (const s of first) await s.waitFor((x) => x.of('hello').length === 1);
    const startIds = first.map((s) => s.of('hello')[0].id as number);
    const acked: number[] = [];
    let sending = true;
    const pump = (async () => {
      for (let i = 0; sending && i < 400; i++) {
        const node = i % 2 === 0 ? a : b;
        const reply = await api(
          node.url,
          'POST',
          '/api/v1/messages',
          { to: 'all', text: `m${i}` },
          sender,
        );
        if (reply.status === 201) acked.push(reply.json.id);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await kill(c, 'SIGKILL');
    // Each reader comes back on A or B with the last id it saw.
    const second = await Promise.all(
      first.map((s, i) => {
        const last = s.events.filter((e) => e.id !== undefined).at(-1)?.id;
        return events(i % 2 === 0 ? a.url : b.url, readers[i] as Record<string, string>, last);
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    sending = false;
    await pump;
    const marker = await api(a.url, 'POST', '/api/v1/messages', { to: 'all', text: 'end' }, sender);
    acked.push(marker.json.id);
    for (const [i, s] of second.entries()) {
      await s.waitFor((x) => x.of('message').some((m) => m.text === 'end'), 10_000);
      const got = [...messageIds(first[i] as SseClient), ...messageIds(s)];
      const expected = acked.filter((id) => id > (startIds[i] as number)).sort((x, y) => x - y);
      assert.deepEqual(got, expected, `reader ${i}`);
      s.close();
    }
    assert.ok(acked.length > 20, `only ${acked.length} messages were sent`);
    // Bring C back for the tests that follow.
    nodes[2] = await startNode();
  });

  test('Redis restarts: nodes reconnect, and streams get every message exactly once', async () => {
    const [a, b] = nodes as [Node, Node];
    const sender = await session(a.url, 'sender2');
    const reader = await session(b.url, 'reader2');
    const stream = await events(b.url, reader);
    await stream.waitFor((x) => x.of('hello').length === 1);
    const acked: number[] = [];
    const send = async (text: string) => {
      const reply = await api(a.url, 'POST', '/api/v1/messages', { to: 'all', text }, sender);
      assert.equal(reply.status, 201, reply.body);
      acked.push(reply.json.id);
    };
    await send('before');
    await stream.waitFor((x) => x.of('message').length === 1, 5_000);
    await redis.stop();
    // Sent while Redis is down: stored in PostgreSQL and acknowledged.
    for (let i = 0; i < 5; i++) await send(`during ${i}`);
    await redis.start();
    await send('after');
    await stream.waitFor((x) => x.of('message').some((m) => m.text === 'after'), 10_000);
    let got = messageIds(stream);
    let resumed: SseClient | undefined;
    if (stream.closed) {
      // A node may end streams while it cannot reach Redis; the client resumes.
      const last = stream.events.filter((e) => e.id !== undefined).at(-1)?.id;
      resumed = await events(b.url, reader, last);
      await resumed.waitFor((x) => x.of('message').some((m) => m.text === 'after'), 10_000);
      got = [...got, ...messageIds(resumed)];
    }
    assert.deepEqual(got, acked);
    stream.close();
    resumed?.close();
  });
});
