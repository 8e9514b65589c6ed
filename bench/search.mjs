// bench/search.mjs [--engines sqlite,postgres] [--messages 1000000] [--users 1000]
//                  [--queries 200] [--concurrency 4] [--phase 10] [--interval-ms 20] [--paced-rate 10]
//                  [--before 509d522] [--database-url URL] [--startup-timeout 600]
//                  [--backfill-timeout 1800] [--timeout 7200] [--quick]
//
// Search on a large log (issue 21), per engine, against one ssechat (the server on CPU 0, the
// load on CPU 1, loopback only, /tmp/bench.lock held from the first server start to the last
// stop):
//
// 1. The log before the index. The build at --before (the commit before the index; built once
//    by bench/lib/builds.mjs) makes the database and its rooms, and --messages messages of
//    --users users are inserted straight into it (bench/lib/search-corpus.mjs): broadcasts,
//    DMs, three rooms, Zipf words, a common word (in about 20 % of messages) and a planted
//    rare one (in 45, 30 of them seen by the searcher). That build is started on it once
//    (its startup time, the reference), then this build: the time from its spawn to its port
//    and to /readyz answering 200 is what its migration blocks startup; then, while a
//    broadcast is sent every --interval-ms and timed to an SSE reader, the rare word is
//    searched every 500 ms until all 30 hits are found (the oldest message has it): the
//    background backfill's duration, the server's CPU over it, and the broadcasts' delay
//    meanwhile. At the end this build is restarted on the indexed log (startup again).
// 2. The index's size: SQLite per object from dbstat, PostgreSQL per relation, against the
//    same figures before the migration (and the summed size of any tsvector column).
// 3. Search latency over HTTP keep-alive, --queries queries one at a time and the same
//    number over --concurrency connections, for the common word, the rare word, a prefix
//    (`bug*`) and two common words, as the searcher (user0: every broadcast, their DMs, two
//    rooms).
// 4. Broadcast delay under search: the broadcast→SSE latency (p50/p99/max) for --phase
//    seconds idle, then while the common word is searched --paced-rate times a second (many
//    users now and then: one search's own block shows), then while wrk keeps --concurrency
//    searches of the common word (then of the prefix) in flight (a loop: the server's core
//    saturates, and a broadcast waits behind the searches queued before it), then idle
//    again; and the server's event-loop delay over each phase from /metrics (prom-client's
//    monitorEventLoopDelay, reset at each scrape; it samples every 10 ms, so an idle loop
//    reads about 10 ms).
//
// What indexing adds to a send is measured by bench/compare.mjs (README). Bounded: each
// server start by --startup-timeout, the backfill by --backfill-timeout (seconds), each
// query set by SET_LIMIT_MS, everything by --timeout. Progress on stderr, a table and one
// JSON line on stdout, the whole result in RESULTS_DIR (default bench/results)/<date>-search.json.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pg from 'pg';
import { dropSchema, dropSchemaSync } from './lib/backends.mjs';
import { commitOf, exportBuild } from './lib/builds.mjs';
import { api, freePort, login, SseReader } from './lib/http.mjs';
import { cpuWatch, percentile, pgCpuNs, round } from './lib/measure.mjs';
import {
  ensureBuild,
  installCleanup,
  pinSelf,
  ROOT,
  run,
  sleep,
  tempDir,
  withBenchLock,
} from './lib/process.mjs';
import { gitCommit, parseArgs, printResult, say, table, today } from './lib/report.mjs';
import {
  Corpus,
  createRooms,
  RARE_SEEN,
  SEARCHER,
  seedPostgres,
  seedSqlite,
} from './lib/search-corpus.mjs';
import { startSsechat } from './lib/server.mjs';
import { nowUs } from './lib/sse-load.mjs';
import { parseWrk } from './lib/wrk.mjs';

const args = parseArgs(process.argv.slice(2));
const quick = Boolean(args.quick);
const ENGINES = String(args.engines ?? 'sqlite,postgres').split(',');
for (const e of ENGINES)
  if (e !== 'sqlite' && e !== 'postgres') throw new Error(`unknown engine ${e}`);
const MESSAGES = Number(args.messages ?? (quick ? 100_000 : 1_000_000));
const USERS = Number(args.users ?? 1000);
const QUERIES = Number(args.queries ?? (quick ? 50 : 200));
const CONCURRENCY = Number(args.concurrency ?? 4);
const PHASE_S = Number(args.phase ?? (quick ? 3 : 10));
const INTERVAL_MS = Number(args['interval-ms'] ?? 20);
/** Searches a second of the paced phase: many users searching now and then. */
const PACED = Number(args['paced-rate'] ?? 10);
const BEFORE = String(args.before ?? '509d522');
const DB_URL = String(args['database-url'] ?? 'postgres://postgres@127.0.0.1:5432/test');
const STARTUP_TIMEOUT_MS = Number(args['startup-timeout'] ?? 600) * 1000;
const BACKFILL_TIMEOUT_MS = Number(args['backfill-timeout'] ?? 1800) * 1000;
/** Longest one set of QUERIES queries may take before it stops short (reported as `stopped`). */
const SET_LIMIT_MS = 120_000;
/** Longest wait for PostgreSQL's autovacuum after the backfill, before the searches. */
const VACUUM_WAIT_MS = 600_000;
/** How often the backfill's progress is polled (a search for the rare word). */
const POLL_MS = 500;
/** Results per search page (the API's default). */
const PAGE = 20;
/** A broadcast not received this long after the phase's last send counts as lost. */
const DRAIN_MS = 3000;
const RESULTS = process.env.RESULTS_DIR ?? join(ROOT, 'bench', 'results');

installCleanup(Number(args.timeout ?? 7200) * 1000, 'bench/search');
pinSelf();

const baseDir = exportBuild(commitOf(BEFORE));
const baseBin = join(baseDir, 'bin', 'ssechat.js');
await ensureBuild();
const sqlite = createRequire(join(ROOT, 'package.json'))('better-sqlite3');

// ---- the clients ------------------------------------------------------------------------

/** Polls /readyz every 20 ms until it answers 200; resolves ms since the server's spawn. */
async function untilReady(server, timeoutMs = STARTUP_TIMEOUT_MS) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (server.proc.exitCode !== null) throw new Error(`server exited:\n${server.log()}`);
    const r = await api(server.port, 'GET', '/readyz', undefined, { timeoutMs: 5000 }).catch(
      () => null,
    );
    if (r?.status === 200) return round(performance.now() - server.spawnedAt, 0);
    if (performance.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Starts a build (`bin`, default this one) on the log; resolves it with its startup times. */
async function start(port, storeFlags, dataDir, bin) {
  const server = await startSsechat(port, storeFlags, {
    dataDir,
    bin,
    startTimeoutMs: STARTUP_TIMEOUT_MS,
  });
  const listen_ms = round(performance.now() - server.spawnedAt, 0);
  const ready_ms = await untilReady(server);
  return { server, startup: { listen_ms, ready_ms } };
}

/** The server's event-loop delay since the last scrape (ms), from /metrics. */
async function loopDelay(port) {
  const r = await api(port, 'GET', '/metrics');
  const get = (name) => {
    const m = new RegExp(`^ssechat_nodejs_eventloop_lag_${name}_seconds\\S* (\\S+)$`, 'm').exec(
      String(r.body),
    );
    return m ? round(Number(m[1]) * 1000, 1) : null;
  };
  return { loop_p50_ms: get('p50'), loop_p99_ms: get('p99'), loop_max_ms: get('max') };
}

/**
 * Searches are limited per user and address (http/api-reading.ts, SEARCHES: 60 a minute,
 * with no flag to lift it), which would answer most of a loop with 429. Each search here
 * comes from an address of its own, given in X-Forwarded-For to a server that trusts it
 * (--trust-proxy yes), as if many users of the same rights searched: node's searches count
 * up from 10.0.0.0, each wrk phase from a block of WRK_BLOCK addresses of its own above.
 */
let searches = 0;
const WRK_BLOCK = 1 << 20;
const address = (n) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** The path of a search for `q`, a page of `limit`. */
const searchPath = (q, limit = PAGE) => `/api/v1/search?q=${encodeURIComponent(q)}&limit=${limit}`;

/** GET /api/v1/search as `cookie` on `agent`; resolves `{ status, body, ms }`. */
async function search(port, agent, cookie, q, limit = PAGE) {
  const t0 = performance.now();
  const headers = { 'X-Forwarded-For': address(searches++) };
  const r = await api(port, 'GET', searchPath(q, limit), undefined, {
    cookie,
    agent,
    headers,
    timeoutMs: 60_000,
  });
  return { status: r.status, body: r.body, ms: performance.now() - t0 };
}

/**
 * `count` searches for `q`, `concurrency` at a time on as many keep-alive connections, after
 * 10 unmeasured ones: latency percentiles, searches/s, failures, and what the first answer
 * held. Stops short after SET_LIMIT_MS.
 */
async function latencies(port, cookie, q, concurrency, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    for (let i = 0; i < 10; i++) await search(port, agent, cookie, q);
    const first = await search(port, agent, cookie, q);
    if (first.status !== 200)
      throw new Error(`search ${q}: ${first.status} ${JSON.stringify(first.body).slice(0, 300)}`);
    const ms = [];
    let failed = 0;
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < count && performance.now() - t0 < SET_LIMIT_MS) {
        next++;
        const r = await search(port, agent, cookie, q);
        if (r.status === 200) ms.push(r.ms);
        else failed++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const wall = (performance.now() - t0) / 1000;
    ms.sort((a, b) => a - b);
    return {
      query: q,
      concurrency,
      searches: ms.length,
      failed,
      stopped: ms.length + failed < count,
      p50_ms: round(percentile(ms, 50), 2),
      p99_ms: round(percentile(ms, 99), 2),
      max_ms: round(ms.at(-1), 2),
      per_s: round(ms.length / wall, 0),
      results: first.body.results?.length ?? null,
      more: first.body.next !== null && first.body.next !== undefined,
    };
  } finally {
    agent.destroy();
  }
}

/**
 * Searches for `q` at PACED a second for `seconds`, on an absolute schedule (a slow answer
 * does not hold the next search back, up to 4 in flight on keep-alive connections): many
 * users searching now and then, the server never saturated. Resolves the phase's figures.
 */
async function pacedSearches(port, cookie, q, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const ms = [];
  let failed = 0;
  const t0 = performance.now();
  const pending = [];
  for (let n = 0; n < seconds * PACED; n++) {
    const wait = t0 + (n * 1000) / PACED - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(
      search(port, agent, cookie, q).then(
        (r) => (r.status === 200 ? ms.push(r.ms) : failed++),
        () => failed++,
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  ms.sort((a, b) => a - b);
  return {
    searches_per_s: round(ms.length / seconds, 1),
    search_p50_ms: round(percentile(ms, 50), 2),
    search_p99_ms: round(percentile(ms, 99), 2),
    search_errors: failed,
  };
}

/**
 * Broadcasts from `txCookie` every INTERVAL_MS, read by one SSE stream of `rxCookie`: each
 * text carries its sequence number and send time (sse-load.mjs's marker, on the monotonic
 * clock), so each arrival gives its send→receive latency. `phase(done)` sends until `done()`
 * says stop and then resolves the phase's latencies.
 */
async function broadcastProbe(port, txCookie, rxCookie) {
  const arrived = new Map();
  let hello;
  const helloSeen = new Promise((resolve) => {
    hello = resolve;
  });
  const reader = new SseReader((event, _id, data) => {
    if (event === 'hello') hello();
    if (event !== 'message' || !data) return;
    const m = /~B(\d+)~T(\d+)~/.exec(data);
    if (m) arrived.set(Number(m[1]), nowUs() - Number(m[2]));
  });
  const req = request({
    host: '127.0.0.1',
    port,
    path: '/api/v1/events',
    headers: { Cookie: rxCookie, Accept: 'text/event-stream' },
    agent: false,
  });
  req.on('response', (res) => {
    res.setEncoding('utf8');
    res.on('data', (d) => reader.push(d));
  });
  req.on('error', () => {});
  req.end();
  await Promise.race([
    helloSeen,
    sleep(10_000).then(() => Promise.reject(new Error('probe stream: no hello in 10 s'))),
  ]);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let seq = 0;
  return {
    async phase(done) {
      const first = seq + 1;
      let failed = 0;
      const t0 = performance.now();
      const sends = [];
      for (let n = 0; !done(); n++) {
        const wait = t0 + n * INTERVAL_MS - performance.now();
        if (wait > 0) await sleep(wait);
        const s = ++seq;
        const text = `probe ~B${s}~T${nowUs()}~`;
        sends.push(
          api(port, 'POST', '/api/v1/messages', { to: 'all', text }, { cookie: txCookie, agent })
            .then((r) => {
              if (r.status !== 201) failed++;
            })
            .catch(() => {
              failed++;
            }),
        );
      }
      const last = seq;
      await Promise.all(sends);
      const drain = performance.now() + DRAIN_MS;
      while (arrived.size < last - first + 1 && performance.now() < drain) await sleep(20);
      const lat = [];
      for (let s = first; s <= last; s++) if (arrived.has(s)) lat.push(arrived.get(s) / 1000);
      arrived.clear();
      lat.sort((a, b) => a - b);
      return {
        broadcasts: last - first + 1,
        failed,
        lost: last - first + 1 - lat.length,
        p50_ms: round(percentile(lat, 50), 2),
        p99_ms: round(percentile(lat, 99), 2),
        max_ms: round(lat.at(-1), 2),
      };
    },
    close() {
      agent.destroy();
      req.destroy();
    },
  };
}

/** A phase of `seconds` of broadcasts (whatever load the caller runs beside them). */
async function timedPhase(server, probe, seconds, engine) {
  await loopDelay(server.port); // resets the histogram
  const stop = watchCpu(server, engine);
  const until = performance.now() + seconds * 1000;
  const probed = await probe.phase(() => performance.now() >= until);
  return { ...probed, ...(await loopDelay(server.port)), ...stop() };
}

/**
 * Watches the server's CPU (and PostgreSQL's, for that engine) until the stopper it returns
 * is called: server CPU s and %, the busy share of CPU 0 that was not the server's (other
 * work on this box, and PostgreSQL's own when it ran there), PostgreSQL's CPU s and % of one
 * core (every postgres process: other clients of it count too).
 */
function watchCpu(server, engine) {
  const stop = cpuWatch(server.pid);
  const pg0 = engine === 'postgres' ? pgCpuNs().ns : 0;
  return () => {
    const c = stop();
    const pg = engine === 'postgres' ? (pgCpuNs().ns - pg0) / 1e9 : null;
    return {
      server_cpu_s: round(c.server_cpu_ns / 1e9, 1),
      server_cpu_pct: round((100 * c.server_cpu_ns) / 1e9 / c.wall_s, 0),
      other_cpu0_pct: c.other_cpu_pct,
      ...(pg !== null && { pg_cpu_s: round(pg, 1), pg_cpu_pct: round((100 * pg) / c.wall_s, 0) }),
    };
  };
}

/**
 * Writes wrk's Lua script for GETs (of the URL given to wrk) as `cookie`, each request from
 * the next address of block `block` (see WRK_BLOCK), into `dir`; returns its file.
 */
function wrkSearchScript(dir, cookie, block) {
  const file = join(dir, `search-${block}.lua`);
  writeFileSync(
    file,
    [
      `local n = ${block * WRK_BLOCK}`,
      'wrk.method = "GET"',
      `wrk.headers["Cookie"] = "${cookie}"`,
      'request = function()',
      '  n = n + 1',
      // LuaJIT (Lua 5.1): no bit operators.
      '  wrk.headers["X-Forwarded-For"] = "10." .. (math.floor(n / 65536) % 256) .. "." .. (math.floor(n / 256) % 256) .. "." .. (n % 256)',
      '  return wrk.format()',
      'end',
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * Resolves how `schema`.messages was vacuumed after the backfill: 'autovacuum' once its
 * last_autovacuum moves (polled every second); 'VACUUM' when autovacuum is off on this server
 * (it is on the shared test server here), where this runs the VACUUM autovacuum would have
 * run; 'not yet' after `timeoutMs`.
 */
async function vacuumed(schema, timeoutMs) {
  const db = new pg.Client({ connectionString: DB_URL });
  await db.connect();
  const last = async () =>
    (
      await db.query(
        `SELECT last_autovacuum FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'messages'`,
        [schema],
      )
    ).rows[0]?.last_autovacuum?.getTime() ?? 0;
  try {
    const { rows } = await db.query('SHOW autovacuum');
    if (rows[0]?.autovacuum !== 'on') {
      await db.query(`VACUUM ${schema}.messages`);
      return 'VACUUM';
    }
    const before = await last();
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if ((await last()) > before) return 'autovacuum';
      await sleep(1000);
    }
    return 'not yet';
  } finally {
    await db.end();
  }
}

// ---- sizes --------------------------------------------------------------------------------

/** Bytes per table and index of the log: SQLite from dbstat, PostgreSQL per relation. */
async function sizes(engine, where) {
  if (engine === 'sqlite') {
    const db = new sqlite(where, { readonly: true, fileMustExist: true });
    try {
      const out = {};
      for (const r of db
        .prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name')
        .all())
        out[r.name] = r.bytes;
      return { objects: out, tsvector: null };
    } finally {
      db.close();
    }
  }
  const db = new pg.Client({ connectionString: DB_URL });
  await db.connect();
  try {
    const { rows } = await db.query(
      `SELECT c.relname AS name,
              CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid) ELSE pg_table_size(c.oid) END AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'i', 'm')`,
      [where],
    );
    const out = {};
    for (const r of rows) out[r.name] = Number(r.bytes);
    // The index's own column, if the engine keeps one: its values' summed size.
    const cols = await db.query(
      `SELECT a.attname FROM pg_attribute a
        WHERE a.attrelid = to_regclass($1) AND a.atttypid = 'tsvector'::regtype AND NOT a.attisdropped`,
      [`${where}.messages`],
    );
    let tsvector = null;
    for (const { attname } of cols.rows) {
      const s = await db.query(
        `SELECT sum(pg_column_size(${attname}))::bigint AS b FROM ${where}.messages`,
      );
      tsvector = (tsvector ?? 0) + Number(s.rows[0].b);
    }
    return { objects: out, tsvector };
  } finally {
    await db.end();
  }
}

/** What the migration and backfill added: new objects, and growth of the old ones. */
function sizeDelta(before, after) {
  const added = {};
  const grown = {};
  for (const [name, bytes] of Object.entries(after.objects)) {
    if (!(name in before.objects)) added[name] = bytes;
    else if (bytes !== before.objects[name]) grown[name] = bytes - before.objects[name];
  }
  const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
  const mib = (b) => round(b / 2 ** 20, 1);
  return {
    new_objects_mib: mib(sum(added)),
    grown_objects_mib: mib(sum(grown)),
    tsvector_column_mib: after.tsvector === null ? null : mib(after.tsvector),
    log_mib_before: mib(sum(before.objects)),
    added: Object.fromEntries(Object.entries(added).map(([k, v]) => [k, mib(v)])),
    grown: Object.fromEntries(Object.entries(grown).map(([k, v]) => [k, mib(v)])),
  };
}

// ---- one engine ---------------------------------------------------------------------------

/** Every server trusts X-Forwarded-For: see `address`. */
const TRUST = ['--trust-proxy', 'yes'];

/** Makes the log before the index for `engine`; resolves where it is and how it was made. */
async function makeLog(engine, corpus) {
  const progress = (rows) => {
    if (rows % 200_000 === 0) say(`  ${engine}: ${rows} messages inserted`);
  };
  if (engine === 'sqlite') {
    const dataDir = tempDir('ssechat-search-');
    const path = join(dataDir, 'ssechat.db');
    const { SqliteStore } = await import(join(baseDir, 'dist/src/store/sqlite/store.js'));
    const store = new SqliteStore({ path, synchronous: 'normal', maxOfflinePerUser: 1000 });
    await createRooms(store, corpus);
    await store.close();
    const seeded = seedSqlite(path, corpus, progress);
    return { dataDir, storeFlags: TRUST, where: path, seeded };
  }
  const schema = `ssechat_bench_search_${process.pid}`;
  process.on('exit', () => dropSchemaSync(DB_URL, schema));
  await dropSchema(DB_URL, schema);
  const { PostgresStore } = await import(join(baseDir, 'dist/src/store/postgres/store.js'));
  const store = await PostgresStore.open({ url: DB_URL, schema, maxOfflinePerUser: 1000 });
  await createRooms(store, corpus);
  await store.close();
  const seeded = await seedPostgres(DB_URL, schema, corpus, progress);
  const storeFlags = ['--store', 'postgres', '--database-url', DB_URL];
  storeFlags.push('--database-schema', schema, ...TRUST);
  return { dataDir: tempDir('ssechat-search-'), storeFlags, where: schema, seeded, schema };
}

async function measureEngine(engine) {
  const corpus = new Corpus({ messages: MESSAGES, users: USERS });
  say(`${engine}: writing ${MESSAGES} messages of ${USERS} users as build ${BEFORE} left them`);
  const log = await makeLog(engine, corpus);
  const queries = corpus.queries();
  const seededBytes =
    engine === 'sqlite' ? statSync(log.where).size : null; /* the file, checkpointed */
  say(
    `${engine}: seeded in ${(log.seeded.ms / 1000).toFixed(1)} s; common "${queries.common.q}" in ` +
      `${queries.common.matches} (searcher sees ${queries.common.seen}), rare "${queries.rare.q}" ` +
      `in ${queries.rare.matches} (sees ${queries.rare.seen})`,
  );
  const before = await sizes(engine, log.where);
  const row = {
    engine,
    log: { ...corpus.summary(), seed_s: round(log.seeded.ms / 1000, 1), file_bytes: seededBytes },
    queries,
  };
  await withBenchLock(async () => {
    const port = await freePort();
    say(`${engine}: build ${BEFORE} starting on the log (the reference)`);
    const base = await start(port, log.storeFlags, log.dataDir, baseBin);
    await base.server.stop();
    say(`${engine}: this build starting on the log (its migration)`);
    const head = await start(port, log.storeFlags, log.dataDir);
    const { server } = head;
    try {
      const cookie = await login(port, SEARCHER);
      const probe = await broadcastProbe(port, await login(port, 'tx'), await login(port, 'rx'));
      say(`${engine}: ready after ${head.startup.ready_ms} ms; waiting for the backfill`);
      // The backfill: the rare word until every hit the searcher may see is found.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let found = 0;
      let polls = 0;
      let complete = false;
      const t0 = performance.now();
      await loopDelay(port);
      const cpu = watchCpu(server, engine);
      const poller = (async () => {
        while (performance.now() - t0 < BACKFILL_TIMEOUT_MS) {
          const r = await search(port, agent, cookie, queries.rare.q, 100);
          polls++;
          if (r.status !== 200)
            throw new Error(`search: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
          found = r.body.results.length;
          if (found >= RARE_SEEN) return true;
          await sleep(POLL_MS);
        }
        return false;
      })().then((done) => {
        complete = done;
      });
      let stopProbe = false;
      const during = probe.phase(() => stopProbe);
      await poller.finally(() => {
        stopProbe = true;
      });
      const backfillMs = performance.now() - t0;
      const cpuUse = cpu();
      const probed = await during;
      agent.destroy();
      row.startup = {
        before_build: base.startup,
        migrating: head.startup,
      };
      row.backfill = {
        complete,
        found,
        expected: RARE_SEEN,
        polls,
        // From /readyz answering 200 (plus the logins) to the last hit found: POLL_MS resolution.
        after_ready_s: round(backfillMs / 1000, 1),
        ...cpuUse,
        broadcast: { ...probed, ...(await loopDelay(port)) },
      };
      say(
        `${engine}: backfill ${complete ? 'done' : 'NOT done'} ${row.backfill.after_ready_s} s after ready ` +
          `(${found}/${RARE_SEEN}); broadcasts meanwhile p99 ${probed.p99_ms} ms, max ${probed.max_ms} ms ` +
          `(other load on CPU 0: ${row.backfill.other_cpu0_pct}%)`,
      );
      if (engine === 'postgres') {
        // The backfill rewrote every row: the old versions are (auto)vacuum's. Its pass is
        // part of what the backfill costs, and searches measured during it would measure it.
        const t1 = performance.now();
        let how = null;
        await loopDelay(port);
        const stop = watchCpu(server, engine);
        const probing = probe.phase(() => how !== null);
        how = await vacuumed(log.schema, VACUUM_WAIT_MS);
        row.vacuum = {
          how,
          after_backfill_s: round((performance.now() - t1) / 1000, 1),
          ...stop(),
          broadcast: { ...(await probing), ...(await loopDelay(port)) },
        };
        say(
          `${engine}: vacuum (${how}) ${row.vacuum.after_backfill_s} s after the backfill; ` +
            `broadcasts meanwhile p99 ${row.vacuum.broadcast.p99_ms} ms, max ${row.vacuum.broadcast.max_ms} ms`,
        );
      }
      row.index = sizeDelta(before, await sizes(engine, log.where));
      say(`${engine}: index ${JSON.stringify(row.index)}`);

      row.search = [];
      for (const [name, { q }] of Object.entries(queries)) {
        for (const c of [1, CONCURRENCY]) {
          const r = await latencies(port, cookie, q, c, QUERIES);
          row.search.push({ name, ...r });
          say(
            `${engine}: search ${name} "${q}" c${c}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ` +
              `max ${r.max_ms} ms, ${r.per_s}/s, ${r.results} results${r.more ? ' (more)' : ''}`,
          );
        }
      }

      row.broadcast = [];
      const scripts = tempDir('ssechat-search-wrk-');
      const common = queries.common.q;
      const phases = [
        { name: 'idle' },
        { name: `search ${common} ${PACED}/s`, q: common, paced: true },
        { name: `search ${common} c${CONCURRENCY}`, q: common },
        { name: `search ${queries.prefix.q} c${CONCURRENCY}`, q: queries.prefix.q },
        { name: 'idle again' },
      ];
      for (const [i, { name, q, paced }] of phases.entries()) {
        let load = null;
        if (q !== undefined && paced) {
          load = pacedSearches(port, cookie, q, PHASE_S + 1);
        } else if (q !== undefined) {
          const script = wrkSearchScript(scripts, cookie, i + 1);
          const wrk = run(
            'wrk',
            [
              ...['-t1', `-c${CONCURRENCY}`, `-d${PHASE_S + 1}s`, '--latency'],
              ...['-s', script, `http://127.0.0.1:${port}${searchPath(q)}`],
            ],
            (PHASE_S + 31) * 1000,
          );
          load = wrk.then(({ out }) => {
            const w = parseWrk(out);
            return {
              searches_per_s: round(w.rps, 0),
              search_p50_ms: round(w.latencyMs.p50, 2),
              search_p99_ms: round(w.latencyMs.p99, 2),
              search_errors: w.non2xx + w.socketErrors,
            };
          });
        }
        if (load) await sleep(500);
        const r = { phase: name, ...(await timedPhase(server, probe, PHASE_S, engine)) };
        if (load) Object.assign(r, await load);
        row.broadcast.push(r);
        say(
          `${engine}: broadcasts, ${name}: p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms, ` +
            `lost ${r.lost}; event loop p99 ${r.loop_p99_ms} ms, max ${r.loop_max_ms} ms` +
            (load ? `; ${r.searches_per_s} searches/s, p99 ${r.search_p99_ms} ms` : '') +
            ` (other load on CPU 0: ${r.other_cpu0_pct}%)`,
        );
      }
      probe.close();
    } catch (err) {
      say(`${engine}: the server's last output:\n${server.log()}`);
      throw err;
    } finally {
      await server.stop();
    }
    say(`${engine}: this build starting again on the indexed log`);
    const again = await start(port, log.storeFlags, log.dataDir);
    await again.server.stop();
    row.startup.indexed = again.startup;
  });
  if (log.schema) await dropSchema(DB_URL, log.schema);
  return row;
}

// ---- the run ------------------------------------------------------------------------------

const started = new Date();
// Taken now: the result file written at the end would make the tree look changed.
const commit = gitCommit();
const rows = [];
for (const engine of ENGINES) rows.push(await measureEngine(engine));

const goals = [];
const lines = [];
for (const r of rows) {
  // "A search must not delay a broadcast by more than a few milliseconds" (issue 21): 5 ms
  // over idle at p99, with searches now and then, and with a loop of them. Idle is the
  // quieter of the two idle phases: the first may still meet the backfill's aftermath
  // (PostgreSQL's autovacuum of the rows it rewrote) or other work on this shared box.
  const idle = r.broadcast
    .filter((b) => b.phase.startsWith('idle'))
    .reduce((a, b) => (b.p99_ms < a.p99_ms ? b : a));
  for (const [busy, what] of [
    [r.broadcast.find((b) => b.phase.endsWith('/s')), `the common word is searched ${PACED}/s`],
    [
      r.broadcast.find((b) => b.phase.endsWith(`${r.queries.common.q} c${CONCURRENCY}`)),
      `${CONCURRENCY} clients search the common word in a loop`,
    ],
  ]) {
    goals.push({
      goal: `${r.engine}: broadcast p99 while ${what} ≤ idle p99 + 5 ms`,
      value: busy.p99_ms,
      baseline: idle.p99_ms,
      ratio: round(busy.p99_ms / idle.p99_ms, 2),
      met: busy.p99_ms - idle.p99_ms <= 5,
      unit: 'ms',
    });
  }
  const s = r.startup;
  lines.push(
    [
      r.engine,
      'startup ready, build before / migrating / indexed (ms)',
      `${s.before_build.ready_ms} / ${s.migrating.ready_ms} / ${s.indexed.ready_ms}`,
    ],
    [
      r.engine,
      'backfill after ready (s), server CPU (s), PostgreSQL CPU (s)',
      `${r.backfill.after_ready_s}${r.backfill.complete ? '' : ' (not done)'}, ${r.backfill.server_cpu_s}, ${r.backfill.pg_cpu_s ?? '-'}`,
    ],
    [
      r.engine,
      'broadcasts during backfill p50/p99/max (ms), loop p99/max, other CPU 0',
      `${r.backfill.broadcast.p50_ms} / ${r.backfill.broadcast.p99_ms} / ${r.backfill.broadcast.max_ms}, ${r.backfill.broadcast.loop_p99_ms} / ${r.backfill.broadcast.loop_max_ms}, ${r.backfill.other_cpu0_pct}%`,
    ],
    ...(r.vacuum
      ? [
          [
            r.engine,
            `vacuum after the backfill (${r.vacuum.how}) s; broadcasts p99/max (ms)`,
            `${r.vacuum.after_backfill_s}; ${r.vacuum.broadcast.p99_ms} / ${r.vacuum.broadcast.max_ms}`,
          ],
        ]
      : []),
    [
      r.engine,
      'index size (MiB): new objects, growth of old',
      `${r.index.new_objects_mib}, ${r.index.grown_objects_mib}${r.index.tsvector_column_mib === null ? '' : ` (tsvector column ${r.index.tsvector_column_mib})`}`,
    ],
    ...r.search.map((x) => [
      r.engine,
      `search ${x.name} "${x.query}" c${x.concurrency} p50/p99/max (ms), /s`,
      `${x.p50_ms} / ${x.p99_ms} / ${x.max_ms}, ${x.per_s}`,
    ]),
    ...r.broadcast.map((b) => [
      r.engine,
      `broadcast ${b.phase} p50/p99/max (ms), loop p99/max, other CPU 0, PostgreSQL`,
      `${b.p50_ms} / ${b.p99_ms} / ${b.max_ms}, ${b.loop_p99_ms} / ${b.loop_max_ms}, ${b.other_cpu0_pct}%, ${b.pg_cpu_pct ?? '-'}%`,
    ]),
  );
}
process.stderr.write(`\n${table(['engine', 'figure', 'value'], lines)}\n`);
const params = {
  messages: MESSAGES,
  users: USERS,
  queries: QUERIES,
  concurrency: CONCURRENCY,
  phase_s: PHASE_S,
  interval_ms: INTERVAL_MS,
  paced_rate: PACED,
  before: BEFORE,
  quick,
};
mkdirSync(RESULTS, { recursive: true });
// A run of one engine has a file of its own: it must not replace a run of both.
const file = join(RESULTS, `${today()}-search${ENGINES.length === 1 ? `-${ENGINES[0]}` : ''}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ scenario: 'search', commit, started, finished: new Date(), params, rows, goals }, null, 2)}\n`,
);
say(`bench/search: wrote ${file}`);
printResult({ scenario: 'search', commit, params, rows, goals });
process.exit(0);
