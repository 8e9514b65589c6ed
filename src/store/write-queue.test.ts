import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Settle } from './pending-write.js';
import { type CommitBatch, WriteQueue } from './write-queue.js';

interface Item {
  readonly n: number;
  readonly done: Settle<number>;
}

/** A queue whose commits are recorded, settling each item with its number. */
function queue(sync: boolean, maxBatch?: number, fail?: (batch: Item[]) => boolean) {
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
  const q = new WriteQueue<Item>({ commit, maxBatch, health });
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
}

test('flushNow writes a synchronous engine queue before it returns', async () => {
  const { q, add, batches } = queue(true);
  const p = add(1);
  q.flushNow();
  assert.deepEqual(batches, [[1]]);
  assert.equal(await p, 1);
});
