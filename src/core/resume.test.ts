import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventId, type LoggedEvent } from '../domain/events.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { Resume } from './resume.js';

async function storeWith(n: number): Promise<SqliteStore> {
  const store = memoryStore();
  for (let i = 1; i <= n; i++) {
    // Every third message is a DM between others, which the viewer "ann" must not see.
    const to = i % 3 === 0 ? 'bob' : 'all';
    await store.append({ from: 'cat', to, text: `m${i}`, ts: i, offline: false });
  }
  return store;
}

/** Counts the Store reads a Resume makes (since). */
function countReads(store: SqliteStore): { n: number } {
  const reads = { n: 0 };
  const since = store.since.bind(store);
  store.since = (viewer, after, limit) => {
    reads.n++;
    return since(viewer, after, limit);
  };
  return reads;
}

/** A store that is gone with the test: SQLite on `:memory:`, as `--store memory` opens it. */
function memoryStore(): SqliteStore {
  return new SqliteStore({ path: ':memory:', synchronous: 'normal', maxOfflinePerUser: 10 });
}

async function collect(resume: Resume, after: number, head: number) {
  const pages = resume.replay('ann', after, head);
  const seen: LoggedEvent[] = [];
  for (;;) {
    const next = await pages.next();
    if (next.done) return { seen: seen.map(eventId), stopped: next.value };
    seen.push(...next.value);
  }
}

test('plan: fresh, replay, and each reset reason', async () => {
  const store = await storeWith(10);
  const resume = new Resume(store, 100);
  assert.deepEqual(await resume.plan(undefined, 10), { kind: 'fresh' });
  assert.deepEqual(await resume.plan('', 10), { kind: 'fresh' });
  assert.deepEqual(await resume.plan('0', 10), { kind: 'replay', after: 0 });
  assert.deepEqual(await resume.plan('7', 10), { kind: 'replay', after: 7 });
  assert.deepEqual(await resume.plan('10', 10), { kind: 'replay', after: 10 });
  for (const bad of ['x', '-1', '1.5', '07', ' 7', '1e3', '99999999999999999999']) {
    assert.deepEqual(await resume.plan(bad, 10), { kind: 'reset', reason: 'invalid' }, bad);
  }
  assert.deepEqual(await resume.plan('11', 10), { kind: 'reset', reason: 'unknown' });
  await store.prune({ olderThan: 0, keep: 4 });
  assert.deepEqual(await resume.plan('5', 10), { kind: 'reset', reason: 'expired' });
  assert.deepEqual(await resume.plan('6', 10), { kind: 'replay', after: 6 });
});

test('replay yields what the viewer sees in (after, head], in order, across pages', async () => {
  const store = await storeWith(700);
  const resume = new Resume(store, 10_000);
  const { seen, stopped } = await collect(resume, 100, 650);
  const expected = [];
  for (let id = 101; id <= 650; id++) if (id % 3 !== 0) expected.push(id);
  assert.deepEqual(seen, expected);
  assert.equal(stopped, undefined);
  // Nothing to replay at the head.
  assert.deepEqual(await collect(resume, 650, 650), { seen: [], stopped: undefined });
});

test('replay stops with too-far-behind past maxReplay', async () => {
  const store = await storeWith(1000);
  const resume = new Resume(store, 300);
  const { stopped, seen } = await collect(resume, 0, 1000);
  assert.equal(stopped, 'too-far-behind');
  assert.ok(seen.length <= 300);
});

test('replay stops with expired when retention runs between pages', async () => {
  const store = await storeWith(1000);
  const resume = new Resume(store, 10_000);
  const pages = resume.replay('ann', 100, 1000);
  const first = await pages.next();
  assert.equal(first.done, false);
  await store.prune({ olderThan: 0, keep: 200 });
  let next = await pages.next();
  while (!next.done) next = await pages.next();
  assert.equal(next.value, 'expired');
});

test('streams resuming from the same point share a page; a later head reads again', async () => {
  const store = await storeWith(300);
  const reads = countReads(store);
  const resume = new Resume(store, 10_000);
  const first = await collect(resume, 200, 290);
  assert.equal(reads.n, 1);
  // Ten tabs of the same user, back with the same Last-Event-ID and the same head.
  for (let tab = 0; tab < 9; tab++) assert.deepEqual(await collect(resume, 200, 290), first);
  assert.equal(reads.n, 1, 'one Store read for ten identical replays');
  // Ten at the same moment share the one read in flight.
  const together = await Promise.all(Array.from({ length: 10 }, () => collect(resume, 201, 290)));
  assert.equal(reads.n, 2);
  // 201 is a DM between others: from 201 the viewer sees what it sees from 200.
  for (const t of together) assert.deepEqual(t.seen, first.seen);
  // Someone else, or the same user at a later head, reads again and sees what it must.
  await store.append({ from: 'cat', to: 'all', text: 'late', ts: 301, offline: false });
  const later = await collect(resume, 200, 301);
  assert.equal(reads.n, 3);
  // 291 to 300 but every third (a DM between others), then 301.
  assert.deepEqual(later.seen, [...first.seen, 292, 293, 295, 296, 298, 299, 301]);
  assert.equal(later.stopped, undefined);
});

test('a cached page still stops at retention that ran since it was read', async () => {
  const store = await storeWith(300);
  const resume = new Resume(store, 10_000);
  assert.equal((await collect(resume, 100, 300)).stopped, undefined);
  await store.prune({ olderThan: 0, keep: 150 });
  assert.equal((await collect(resume, 100, 300)).stopped, 'expired');
});

test("only a replay's first page is kept: a long replay reads its later pages each time", async () => {
  const store = await storeWith(900);
  const reads = countReads(store);
  const resume = new Resume(store, 10_000);
  const once = await collect(resume, 0, 900);
  const perReplay = reads.n;
  assert.ok(perReplay >= 3, `${perReplay} pages`);
  assert.deepEqual(await collect(resume, 0, 900), once);
  assert.equal(
    reads.n,
    2 * perReplay - 1,
    'the first page came from the cache, the rest from the Store',
  );
});
