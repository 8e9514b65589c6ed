import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Settle } from './pending-write.js';
import { type CommitBatch, LINGER_BUSY_MS, MAX_LINGER_TURNS, WriteQueue } from './write-queue.js';

interface Item {
  readonly n: number;
  readonly done: Settle<number>;
}

/** A queue whose commits are recorded, settling each item with its number. */
function queue(
  sync: boolean,
  maxBatch?: number,
  fail?: (batch: Item[]) => boolean,
  lingerBusyMs?: number,
) {
  const batches: number[][] = [];
  const outcomes: string[] = [];
  const write = (batch: Item[]) => {
    batches.push(batch.map((i) => i.n));
    if (fail?.(batch)) throw new Error('cannot write');
    return batch.map((i) => () => i.done.resolve(i.n));
  };
  const commit: CommitBatch<Item> = sync ? write : async (batch) => write(batch);
  const health = {
    succeeded: () => void outcomes.push('ok'),
    failed: (err: unknown) => void outcomes.push((err as Error).message),
  };
  const q = new WriteQueue<Item>({ commit, maxBatch, health, lingerBusyMs });
  const add = (n: number) => q.add<number>((done) => ({ n, done }));
  return { q, add, batches, outcomes };
}

for (const sync of [true, false]) {
  const engine = sync ? 'a synchronous engine' : 'an asynchronous engine';

  test(`${engine}: one turn's writes form one batch, later ones the next, in call order`, async () => {
    const { add, batches, outcomes } = queue(sync);
    const first = [add(1), add(2), add(3)];
    assert.deepEqual(batches, [], 'nothing is written before the end of the turn');
    assert.deepEqual(await Promise.all(first), [1, 2, 3]);
    assert.deepEqual(await add(4), 4);
    assert.deepEqual(batches, [[1, 2, 3], [4]]);
    assert.deepEqual(outcomes, ['ok', 'ok']);
  });

  test(`${engine}: a full batch goes at once; flushed waits for what was queued`, async () => {
    const { q, add, batches } = queue(sync, 2);
    const all = [add(1), add(2), add(3)];
    assert.deepEqual(batches, [[1, 2]]);
    await q.flushed();
    assert.deepEqual(batches, [[1, 2], [3]]);
    assert.deepEqual(await Promise.all(all), [1, 2, 3]);
  });

  test(`${engine}: a failed batch rejects its writes only; the next batch is written`, async () => {
    const { add, outcomes } = queue(sync, undefined, (batch) => batch[0]?.n === 1);
    const failed = [add(1), add(2)];
    await Promise.all(failed.map((p) => assert.rejects(p, /cannot write/)));
    assert.equal(await add(3), 3);
    assert.deepEqual(outcomes, ['cannot write', 'ok']);
  });

  test(`${engine}: a health listener that throws stops neither the batch nor the queue`, async () => {
    const write = (batch: Item[]) => batch.map((i) => () => i.done.resolve(i.n));
    const commit: CommitBatch<Item> = sync ? write : async (batch) => write(batch);
    const health = {
      succeeded: () => {
        throw new Error('listener bug');
      },
      failed: () => {
        throw new Error('listener bug');
      },
    };
    const q = new WriteQueue<Item>({ commit, health });
    const add = (n: number) => q.add<number>((done) => ({ n, done }));
    assert.deepEqual(await Promise.all([add(1), add(2)]), [1, 2]);
    assert.equal(await add(3), 3, 'the queue went on writing');
  });

  test(`${engine}: an idle queue's lone write does not wait; nor does one with no company`, async () => {
    const { add, batches } = queue(sync);
    await add(1);
    await new Promise((r) => setTimeout(r, 5 * LINGER_BUSY_MS));
    const two = add(2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(batches, [[1], [2]], 'written at the end of its turn');
    await two;
    const busy = queue(sync, undefined, undefined, 60_000);
    await busy.add(1);
    const lone = busy.add(2);
    // One turn for the write, one turn of waiting that brings nothing: then it goes.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(busy.batches, [[1], [2]]);
    await lone;
  });
}

// An asynchronous engine's writes made during a commit join the next batch anyway (the
// writer picks them up when the commit settles).
test('a synchronous engine: a lone write while busy waits turns for company, up to MAX_LINGER_TURNS', async () => {
  // Busy however slow the machine: the last commit counts as recent for a minute.
  const { add, batches } = queue(true, undefined, undefined, 60_000);
  await add(1);
  // One write per turn, as a client whose requests arrive one per turn sends them.
  const later = [add(2)];
  for (let n = 3; n <= 6; n++) {
    await new Promise((r) => setImmediate(r));
    later.push(add(n));
  }
  await Promise.all(later);
  // 2 waited MAX_LINGER_TURNS turns, taking 3, 4 and 5; 6 came after the commit.
  assert.equal(MAX_LINGER_TURNS, 3);
  assert.deepEqual(batches, [[1], [2, 3, 4, 5], [6]]);
});

test('flushNow writes a synchronous engine queue before it returns', async () => {
  const { q, add, batches } = queue(true);
  const p = add(1);
  q.flushNow();
  assert.deepEqual(batches, [[1]]);
  assert.equal(await p, 1);
});
