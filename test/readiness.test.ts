// /healthz and /readyz over the real wire: ready while the store, the bus and presence answer,
// 503 naming what failed when PostgreSQL or Redis goes away (each reached through a TCP
// proxy that the test cuts, leaving a closed port) or when the SQLite file cannot grow (a
// full disk, simulated with PRAGMA max_page_count), and 503 while draining.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as dial, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { configWith } from '../src/config.js';
import { type RunningServer, startServer } from '../src/main.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { api, get, NO_LIMITS, recordingLogger, session, startTestServer } from './helpers.js';

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

describe('a SQLite file that cannot grow (a full disk)', () => {
  test('sends get 503 SERVER_STORE_UNAVAILABLE and /readyz 503 naming the store, until there is space again; nothing acknowledged is lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssechat-full-'));
    let db: Database.Database | undefined;
    // A subject of its own: the default's startup warning is not one this test looks for.
    const config = configWith({
      port: 0,
      store: 'sqlite',
      dataDir: dir,
      pushSubject: 'mailto:ops@chat.example.com',
      ...NO_LIMITS,
    });
    const logger = recordingLogger();
    // The server's own connection: max_page_count holds for one connection only.
    const server = await startServer(config, logger, {
      openStore: async (c, _logger, hooks) =>
        new SqliteStore({
          onWriteHealth: hooks.onWriteHealth,
          path: join(dir, 'ssechat.db'),
          synchronous: c.sqliteSynchronous,
          maxOfflinePerUser: c.maxOfflinePerUser,
          configure: (connection) => {
            db = connection;
          },
        }),
    });
    try {
      assert.ok(db);
      const cookie = await session(server.url, 'filler');
      const acked = new Map<number, string>();
      const send = async (text: string) => {
        const reply = await api(
          server.url,
          'POST',
          '/api/v1/messages',
          { to: 'all', text },
          cookie,
        );
        if (reply.status === 201) acked.set(reply.json.id, text);
        return reply;
      };
      for (let i = 0; i < 5; i++) assert.equal((await send(`before ${i}`)).status, 201);
      await readyzUntil(server.url, 200);

      // The file may not grow beyond its size now: the next pages the log needs are refused.
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${pages}`);
      let refused: Awaited<ReturnType<typeof send>> | undefined;
      for (let i = 0; i < 2_000 && refused === undefined; i++) {
        const reply = await send(`filling ${i} ${'y'.repeat(1_000)}`);
        if (reply.status !== 201) refused = reply;
      }
      assert.ok(refused, 'every send was stored although the file could not grow');
      assert.equal(refused.status, 503, refused.body);
      assert.equal(refused.json.error.code, 'SERVER_STORE_UNAVAILABLE');
      assert.equal(refused.headers['retry-after'], '10');
      // Logged as what it is, for the operator: not as a bug, and once, not once a request.
      for (let i = 0; i < 30; i++) {
        assert.equal((await send(`more ${i} ${'z'.repeat(1_000)}`)).status, 503);
      }
      const failing = logger.lines.filter((l) => l.msg === 'store cannot write');
      assert.equal(failing.length, 1, JSON.stringify(logger.lines));
      assert.equal(failing[0]?.level, 'warn');
      assert.equal(failing[0]?.fields?.code, 'SQLITE_FULL');
      assert.equal(logger.lines.filter((l) => l.msg === 'request failed').length, 0);
      // Nothing else about the store in these few seconds, and no stack: it is no bug.
      assert.deepEqual(
        logger.lines.map((l) => l.msg),
        ['store cannot write'],
      );
      assert.doesNotMatch(JSON.stringify(logger.lines), /\bat \S+ \(|stack/);
      const full = await readyzUntil(server.url, 503);
      assert.equal(full.error?.code, 'SERVER_NOT_READY');
      assert.equal(full.checks.store, 'failed');
      assert.match(full.error?.message ?? '', /store \(failed\)/);
      // Not ready stays not ready while nothing can be written, and sends are still refused.
      await new Promise((ok) => setTimeout(ok, 1_100));
      assert.equal((await get(server.url, '/readyz')).status, 503);
      assert.equal((await send(`still full ${'z'.repeat(1_000)}`)).status, 503);

      // Space again: readiness finds out by itself (no send needed), and sends work.
      db.pragma(`max_page_count = ${pages + 100_000}`);
      assert.equal((await readyzUntil(server.url, 200)).checks.store, 'ok');
      assert.equal((await send('space again')).status, 201);
      // The way back is logged once too, with how many requests were refused since.
      const back = logger.lines.filter((l) => l.msg === 'store writes again');
      assert.equal(back.length, 1, JSON.stringify(logger.lines));
      assert.equal(back[0]?.fields?.refused, 32);
      // Readiness said it once too, however often /readyz was asked.
      assert.deepEqual(
        logger.lines.map((l) => l.msg),
        ['store cannot write', 'readiness check failed', 'store writes again'],
      );

      // Every acknowledged message is in the history, once.
      const stored = new Map<number, string>();
      let before: number | null | undefined;
      do {
        const query = `with=all&limit=200${before ? `&before=${before}` : ''}`;
        const page = await api(server.url, 'GET', `/api/v1/messages?${query}`, undefined, cookie);
        assert.equal(page.status, 200);
        for (const m of page.json.messages) {
          assert.equal(stored.has(m.id), false);
          stored.set(m.id, m.text);
        }
        before = page.json.before;
      } while (before);
      for (const [id, text] of acked) assert.equal(stored.get(id), text, `message ${id} lost`);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
