import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobStore } from './blob-store.js';

/** The key of `bytes`, as the uploads code computes it. */
export const keyOf = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Every byte of `stream`, or its error. */
export async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  assert.ok(stream, 'the blob is readable');
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Waits until Date.now() has moved past `t`, so that a later putAt is strictly greater. */
async function after1ms(t: number): Promise<void> {
  while (Date.now() <= t) await sleep(1);
}

/** Chunk sizes a backend may cut at (PostgreSQL's CHUNK_SIZE, the disk's read size). */
const BOUNDARIES = [64 * 1024, 256 * 1024, 512 * 1024];
/** Large enough to span several chunks of any backend, and not a multiple of one. */
const LARGE = 1024 * 1024 + 12_345;

/**
 * The BlobStore contract (blob-store.ts), run by every backend's test file. `make` opens a
 * fresh, empty store; the suite closes it.
 */
export function blobsContract(name: string, make: () => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let files: string;
    const large = randomBytes(LARGE);
    const largeKey = keyOf(large);
    let n = 0;
    /** A new file holding `bytes`, for a put from a path. */
    const fileOf = async (bytes: Buffer): Promise<string> => {
      const path = join(files, `source-${++n}`);
      await writeFile(path, bytes);
      return path;
    };

    before(async () => {
      files = await mkdtemp(join(tmpdir(), 'ssechat-blobs-contract-'));
    });
    after(async () => {
      await rm(files, { recursive: true, force: true });
    });
    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await store.close();
    });

    test('a Buffer put is stat-ed and read back whole', async () => {
      const bytes = Buffer.from('hello, blobs');
      const key = keyOf(bytes);
      const start = Date.now();
      await store.put(key, bytes);
      const info = await store.stat(key);
      assert.equal(info?.size, bytes.length);
      assert.ok(info && info.putAt >= start && info.putAt <= Date.now(), 'putAt is the put');
      assert.deepEqual(await readAll(await store.read(key)), bytes);
    });

    test('a file put is copied: the source stays the caller’s, the blob outlives it', async () => {
      const bytes = randomBytes(5000);
      const key = keyOf(bytes);
      const path = await fileOf(bytes);
      await store.put(key, path);
      assert.ok((await readdir(files)).includes(path.split('/').at(-1) as string));
      await rm(path);
      assert.equal((await store.stat(key))?.size, bytes.length);
      assert.deepEqual(await readAll(await store.read(key)), bytes);
    });

    test('an empty blob is a blob', async () => {
      const empty = Buffer.alloc(0);
      await store.put(keyOf(empty), empty);
      assert.equal((await store.stat(keyOf(empty)))?.size, 0);
      assert.deepEqual(await readAll(await store.read(keyOf(empty))), empty);
    });

    for (const from of ['a Buffer', 'a file'] as const) {
      test(`a blob of over 1 MiB from ${from} is read whole and by ranges`, async () => {
        await store.put(largeKey, from === 'a file' ? await fileOf(large) : large);
        assert.equal((await store.stat(largeKey))?.size, LARGE);
        assert.ok((await readAll(await store.read(largeKey))).equals(large));
        const ranges = [
          { start: 0, end: 0 },
          { start: LARGE - 1, end: LARGE - 1 },
          { start: 0, end: LARGE - 1 },
          { start: 1, end: LARGE - 2 },
          // Across chunk boundaries, and ending or starting exactly on them.
          ...BOUNDARIES.flatMap((b) => [
            { start: b - 10, end: b + 10 },
            { start: b - 1, end: b },
            { start: b, end: b },
            { start: b - 1, end: b - 1 },
          ]),
          { start: 1000, end: 3 * 256 * 1024 + 5 },
        ];
        for (const range of ranges) {
          const got = await readAll(await store.read(largeKey, range));
          assert.ok(
            got.equals(large.subarray(range.start, range.end + 1)),
            `range ${range.start}-${range.end}`,
          );
        }
      });
    }

    test('a large blob arrives in several pieces, not as one buffer', async () => {
      await store.put(largeKey, large);
      let pieces = 0;
      let biggest = 0;
      for await (const piece of (await store.read(largeKey)) ?? []) {
        pieces++;
        biggest = Math.max(biggest, (piece as Buffer).length);
      }
      assert.ok(pieces > 1, 'more than one piece');
      assert.ok(biggest < LARGE, 'no piece is the whole blob');
    });

    test('a range outside the blob is refused', async () => {
      const bytes = Buffer.from('0123456789');
      const key = keyOf(bytes);
      await store.put(key, bytes);
      for (const range of [
        { start: 0, end: 10 },
        { start: 5, end: 4 },
        { start: -1, end: 3 },
        { start: 0.5, end: 3 },
        { start: 10, end: 10 },
      ]) {
        await assert.rejects(store.read(key, range), RangeError, `${range.start}-${range.end}`);
      }
      assert.deepEqual(
        await readAll(await store.read(key, { start: 9, end: 9 })),
        Buffer.from('9'),
      );
    });

    test('an absent key: stat and read answer undefined, delete answers true', async () => {
      const key = keyOf(Buffer.from('never put'));
      assert.equal(await store.stat(key), undefined);
      assert.equal(await store.read(key), undefined);
      assert.equal(await store.read(key, { start: 0, end: 0 }), undefined);
      assert.equal(await store.delete(key, Date.now()), true);
    });

    test('putting a key again keeps one blob and renews its putAt', async () => {
      const bytes = randomBytes(300_000);
      const key = keyOf(bytes);
      await store.put(key, bytes);
      const first = await store.stat(key);
      assert.ok(first);
      await after1ms(first.putAt);
      await store.put(key, await fileOf(bytes));
      const second = await store.stat(key);
      assert.equal(second?.size, bytes.length);
      assert.ok(second && second.putAt > first.putAt, 'putAt renewed');
      assert.ok((await readAll(await store.read(key))).equals(bytes));
    });

    test('putting a key again with another size is refused', async () => {
      const bytes = Buffer.from('the real bytes');
      const key = keyOf(bytes);
      await store.put(key, bytes);
      await assert.rejects(store.put(key, Buffer.from('other')), /sha256/);
      assert.deepEqual(await readAll(await store.read(key)), bytes);
    });

    test('delete keeps a blob put at or after notPutSince, and deletes an older one', async () => {
      const bytes = randomBytes(70_000);
      const key = keyOf(bytes);
      await store.put(key, bytes);
      const info = await store.stat(key);
      assert.ok(info);
      assert.equal(await store.delete(key, info.putAt), false);
      assert.equal(await store.delete(key, info.putAt - 1000), false);
      assert.deepEqual(await store.stat(key), info);
      assert.ok((await readAll(await store.read(key))).equals(bytes));
      assert.equal(await store.delete(key, info.putAt + 1), true);
      assert.equal(await store.stat(key), undefined);
      assert.equal(await store.read(key), undefined);
      assert.equal(await store.delete(key, info.putAt + 1), true);
      // A key deleted can be put again.
      await store.put(key, bytes);
      assert.ok((await readAll(await store.read(key))).equals(bytes));
    });

    test('a renewal after the collector’s decision keeps the blob', async () => {
      const bytes = randomBytes(1000);
      const key = keyOf(bytes);
      await store.put(key, bytes);
      const decided = Date.now();
      await after1ms(decided);
      await store.put(key, bytes);
      assert.equal(await store.delete(key, decided), false);
      assert.ok((await readAll(await store.read(key))).equals(bytes));
    });

    test('puts racing deletes never leave a blob listed but unreadable', async () => {
      // Several keys at once, some already stored and some new, each with a put and deletes
      // in flight together. A delete decided before the race cannot take the put's blob (its
      // putAt is later); one that would delete anything may or may not, but afterwards stat
      // and read agree, and a blob listed reads whole.
      const blobs = Array.from({ length: 6 }, (_, i) => randomBytes(100_000 + i * 70_000));
      for (let round = 0; round < 8; round++) {
        for (const [i, bytes] of blobs.entries()) {
          if ((i + round) % 2 === 0) await store.put(keyOf(bytes), bytes);
        }
        const decided = Date.now();
        const anything = round % 2 === 1;
        await Promise.all(
          blobs.map(async (bytes, i) => {
            const key = keyOf(bytes);
            const source = i % 3 === 0 ? await fileOf(bytes) : bytes;
            await Promise.all([
              store.put(key, source),
              store.delete(key, decided),
              anything ? store.delete(key, Date.now() + 60_000) : store.stat(key),
              store.delete(key, decided),
            ]);
          }),
        );
        for (const bytes of blobs) {
          const key = keyOf(bytes);
          const info = await store.stat(key);
          const stream = await store.read(key);
          assert.equal(info === undefined, stream === undefined, 'stat and read agree');
          if (!anything) assert.ok(info, 'a put after the decision survives its deletes');
          if (info) {
            assert.equal(info.size, bytes.length);
            assert.ok((await readAll(stream)).equals(bytes), 'a listed blob reads whole');
          }
          // Whatever the race left, the key works as a fresh one would.
          await store.put(key, bytes);
          assert.ok((await readAll(await store.read(key))).equals(bytes));
          assert.equal(await store.delete(key, Date.now() + 1000), true);
        }
      }
    });

    test('concurrent puts of the same key all succeed and store it once', async () => {
      const bytes = randomBytes(600_000);
      const key = keyOf(bytes);
      const path = await fileOf(bytes);
      await Promise.all(Array.from({ length: 8 }, (_, i) => store.put(key, i % 2 ? path : bytes)));
      assert.equal((await store.stat(key))?.size, bytes.length);
      assert.ok((await readAll(await store.read(key))).equals(bytes));
      assert.equal(await store.delete(key, Date.now() + 1000), true);
      assert.equal(await store.stat(key), undefined);
    });

    test('keys other than 64 lowercase hex digits are refused by every method', async () => {
      const good = keyOf(Buffer.from('x'));
      const bad = [
        '../x',
        `../${good.slice(3)}`,
        good.toUpperCase(),
        good.slice(1),
        `${good}0`,
        `${good.slice(0, 62)}/x`,
        `${good}\n`,
        '',
        'abc',
      ];
      for (const key of bad) {
        await assert.rejects(store.put(key, Buffer.from('x')), /blob key/, key);
        await assert.rejects(store.stat(key), /blob key/, key);
        await assert.rejects(store.read(key), /blob key/, key);
        await assert.rejects(store.delete(key, Date.now()), /blob key/, key);
      }
    });

    test('a closed store refuses calls', async () => {
      await store.close();
      const key = keyOf(Buffer.from('x'));
      await assert.rejects(store.put(key, Buffer.from('x')), /closed/);
      await assert.rejects(store.stat(key), /closed/);
    });
  });
}
