/**
 * A real ssechat process on PostgreSQL, through a FaultProxy, under the faults of issue 17:
 * connection resets mid-traffic, and a pause longer than the server's
 * idle_in_transaction_session_timeout (10 s). The process must stay up and keep answering
 * sends: 503 during the fault is allowed, a dead process is not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { killNode, type Node, spawnNode } from './cluster-kit.js';
import { FaultProxy } from './fault-proxy.js';
import { api, session } from './helpers.js';

const DATABASE_URL =
  process.env.SSECHAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `ssechat_pgfaults_${process.pid}_${randomBytes(3).toString('hex')}`;

let proxy: FaultProxy;
let node: Node;
let base = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts ssechat on PostgreSQL through the proxy. */
async function start(): Promise<void> {
  const via = new URL(DATABASE_URL);
  via.hostname = '127.0.0.1';
  via.port = String(proxy.port);
  node = await spawnNode(
    [
      '--port',
      '0',
      '--store',
      'postgres',
      '--database-url',
      via.toString(),
      '--database-schema',
      SCHEMA,
    ],
    'pipe',
  );
  base = node.url;
}

const alive = () => node.child.exitCode === null && node.child.signalCode === null;
const output = () => node.output();

/** Sends with a clientId until one is stored (201) or `ms` pass; returns the statuses seen. */
async function sendUntilStored(
  who: Record<string, string>,
  clientId: string,
  ms: number,
): Promise<number[]> {
  const statuses: number[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const reply = await api(
      base,
      'POST',
      '/api/v1/messages',
      { to: 'bob', text: clientId, clientId },
      who,
    ).catch(() => ({ status: 0 }));
    statuses.push(reply.status);
    if (reply.status === 201 || reply.status === 200) return statuses;
    await sleep(100);
  }
  return statuses;
}

describe('an ssechat process whose PostgreSQL connections fail', () => {
  before(async () => {
    const target = new URL(DATABASE_URL);
    proxy = await FaultProxy.start(Number(target.port || 5432), target.hostname);
    await start();
  });

  after(async () => {
    await killNode(node);
    await proxy.close();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  });

  test('survives connection resets mid-traffic and keeps storing sends', {
    timeout: 30_000,
  }, async () => {
    const ann = await session(base, 'ann');
    let stop = false;
    const statuses: number[] = [];
    // Four senders, each sending one message after another, retrying each with its clientId.
    const senders = [0, 1, 2, 3].map(async (s) => {
      for (let i = 0; !stop; i++) {
        statuses.push(...(await sendUntilStored(ann, `r${s}-${i}`, 10_000)));
      }
    });
    for (let round = 0; round < 5; round++) {
      // Slow round trips so that resets land inside transactions.
      proxy.latency(round % 2 === 0 ? 30 : 0);
      await sleep(400);
      proxy.reset();
    }
    proxy.latency(0);
    await sleep(500);
    stop = true;
    await Promise.all(senders);
    assert.ok(alive(), `ssechat is alive: ${output().slice(-2000)}`);
    const failed = statuses.filter((s) => s !== 201 && s !== 200);
    console.log(
      `# resets: ${statuses.length} sends, ${failed.length} failed (${[...new Set(failed)].join(', ')})`,
    );
    assert.ok(
      failed.every((s) => s === 503),
      `only 503 while faulty: ${failed}`,
    );
    assert.deepEqual(await sendUntilStored(ann, 'after-resets', 5_000), [201]);
  });

  test('survives a pause longer than idle_in_transaction_session_timeout', {
    timeout: 45_000,
  }, async () => {
    const ann = await session(base, 'ann');
    // A send in flight when the link stops: its batch is inside a transaction.
    proxy.latency(100);
    const during = sendUntilStored(ann, 'paused', 25_000);
    await sleep(250);
    proxy.pause();
    const paused = Date.now();
    await sleep(12_000);
    proxy.heal();
    proxy.latency(0);
    const statuses = await during;
    const recovered = Date.now() - paused;
    console.log(
      `# pause 12 s: statuses ${[...new Set(statuses)].join(', ')}, stored ${recovered} ms after the pause began`,
    );
    await sleep(1_000);
    assert.ok(alive(), `ssechat is alive: ${output().slice(-2000)}`);
    assert.equal(statuses.at(-1), 201);
    assert.ok(
      statuses.every((s) => s === 201 || s === 503),
      `only 503 while faulty: ${statuses}`,
    );
    assert.deepEqual(await sendUntilStored(ann, 'after-pause', 5_000), [201]);
    const ready = await api(base, 'GET', '/readyz');
    assert.equal(ready.status, 200);
  });
});
