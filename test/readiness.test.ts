// /healthz and /readyz over the real wire: ready while the store, the bus and presence answer,
// 503 naming what failed when PostgreSQL or Redis goes away (each reached through a TCP
// proxy that the test cuts, leaving a closed port), and 503 while draining.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect as dial, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { RunningServer } from '../src/main.js';
import { get, startTestServer } from './helpers.js';

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.SSECHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// One schema and one key prefix per run, removed at the end.
const RUN = `${process.pid}_${randomBytes(3).toString('hex')}`;
const SCHEMA = `ssechat_ready_${RUN}`;
const PREFIX = `ssechat-test:ready:${RUN}:`;

/** A TCP proxy on a free port; cut() drops its connections and closes the port. */
interface Proxy {
  readonly port: number;
  cut(): Promise<void>;
}

async function proxy(target: string): Promise<Proxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = dial(Number(port), hostname);
    track(client);
    track(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end).pipe(upstream);
    upstream.on('error', end).on('close', end).pipe(client);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as { port: number }).port,
    cut: () =>
      new Promise((ok) => {
        server.close(() => ok());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** `url` with its port replaced by the proxy's. */
function via(url: string, p: Proxy): string {
  const u = new URL(url);
  u.port = String(p.port);
  return u.toString();
}

/** The JSON of a /readyz answer: `status` when ready, `error` when not. */
interface ReadyBody {
  readonly status?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly checks: Record<string, string>;
}

/** Polls /readyz until it answers `status` (readiness reuses a result for up to 1 s). */
async function readyzUntil(base: string, status: number): Promise<ReadyBody> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const reply = await get(base, '/readyz');
    assert.equal(reply.headers['cache-control'], 'no-store');
    if (reply.status === status) return JSON.parse(reply.body);
    if (Date.now() > deadline) throw new Error(`readyz stayed ${reply.status}: ${reply.body}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

describe('/healthz and /readyz, one process', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('ready while everything answers; draining turns readyz to 503, not healthz', async () => {
    assert.deepEqual(await readyzUntil(server.url, 200), {
      status: 'ok',
      checks: { store: 'ok', bus: 'ok', presence: 'ok' },
    });
    server.markDraining();
    const body = await readyzUntil(server.url, 503);
    assert.equal(body.error?.code, 'SERVER_UNAVAILABLE');
    const health = await get(server.url, '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
    assert.equal((await get(server.url, '/readyz', {}, 'HEAD')).status, 503);
  });
});

describe('/readyz of a cluster node whose PostgreSQL or Redis goes away', () => {
  const servers: RunningServer[] = [];
  const proxies: Proxy[] = [];

  /** A node on PostgreSQL and Redis, each reached through a proxy of its own. */
  async function node(): Promise<{ server: RunningServer; db: Proxy; redis: Proxy }> {
    const db = await proxy(DATABASE_URL);
    const redis = await proxy(REDIS_URL);
    proxies.push(db, redis);
    const server = await startTestServer({
      store: 'postgres',
      databaseUrl: via(DATABASE_URL, db),
      databaseSchema: SCHEMA,
      bus: 'redis',
      redisUrl: via(REDIS_URL, redis),
      redisPrefix: PREFIX,
    });
    servers.push(server);
    return { server, db, redis };
  }

  after(async () => {
    for (const server of servers) await server.close();
    for (const p of proxies) await p.cut();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    // Our own name, checked by the schema rules: no quoting needed.
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('PostgreSQL gone: 503 naming the store', async () => {
    const { server, db } = await node();
    await readyzUntil(server.url, 200);
    await db.cut();
    const body = await readyzUntil(server.url, 503);
    assert.equal(body.error?.code, 'SERVER_NOT_READY');
    assert.match(body.error?.message ?? '', /store \((failed|timeout)\)/);
    assert.deepEqual(
      { ...body.checks, store: 'down' },
      {
        store: 'down',
        bus: 'ok',
        presence: 'ok',
      },
    );
  });

  test('Redis gone: 503 naming the bus and presence', async () => {
    const { server, redis } = await node();
    await readyzUntil(server.url, 200);
    const started = Date.now();
    await redis.cut();
    const body = await readyzUntil(server.url, 503);
    assert.equal(body.error?.code, 'SERVER_NOT_READY');
    assert.equal(body.checks.store, 'ok');
    assert.notEqual(body.checks.bus, 'ok');
    assert.notEqual(body.checks.presence, 'ok');
    assert.match(body.error?.message ?? '', /bus \(/);
    // The ping timeout (2 s) plus the reuse of the last result (1 s) bound the wait.
    assert.ok(Date.now() - started < 3_500, `noticed after ${Date.now() - started} ms`);
  });
});
