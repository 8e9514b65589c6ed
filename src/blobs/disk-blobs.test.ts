import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { blobsContract, keyOf, readAll } from './blobs.contract.js';
import { DiskBlobStore, STALE_TEMP_MS } from './disk-blobs.js';

// Every store in a directory of its own under one temp root, removed at the end.
const root = await mkdtemp(join(tmpdir(), 'ssechat-disk-blobs-'));
let n = 0;
const newDir = (): string => join(root, `data-${++n}`, 'blobs');
after(() => rm(root, { recursive: true, force: true }));

blobsContract('disk', () => DiskBlobStore.open(newDir()));

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('DiskBlobStore', () => {
  test('lays a blob out at <k0k1>/<k2k3>/<key>, private to the server', async () => {
    const dir = newDir();
    const store = await DiskBlobStore.open(dir);
    const bytes = Buffer.from('laid out');
    const key = keyOf(bytes);
    await store.put(key, bytes);
    const path = join(dir, key.slice(0, 2), key.slice(2, 4), key);
    assert.deepEqual(await filesUnder(dir), [path.slice(dir.length + 1)]);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    for (const d of [dir, join(dir, 'tmp'), join(dir, key.slice(0, 2)), join(path, '..')]) {
      assert.equal((await stat(d)).mode & 0o777, 0o700, d);
    }
    await store.close();
  });

  test('puts of one key, one after another and at once, leave one file and no temp file', async () => {
    const dir = newDir();
    const store = await DiskBlobStore.open(dir);
    const bytes = Buffer.alloc(200_000, 7);
    const key = keyOf(bytes);
    const source = join(root, `source-${++n}`);
    await writeFile(source, bytes);
    await store.put(key, bytes);
    await Promise.all(Array.from({ length: 6 }, (_, i) => store.put(key, i % 2 ? source : bytes)));
    assert.deepEqual(await filesUnder(dir), [join(key.slice(0, 2), key.slice(2, 4), key)]);
    await store.close();
  });

  test('a put that fails leaves no temp file and no blob', async () => {
    const dir = newDir();
    const store = await DiskBlobStore.open(dir);
    const key = keyOf(Buffer.from('missing'));
    await assert.rejects(store.put(key, join(root, 'no-such-file')), { code: 'ENOENT' });
    // A directory has a size to stat, then fails the copy: the temp file must go.
    const notAFile = join(root, `dir-${++n}`);
    await mkdir(notAFile);
    await assert.rejects(store.put(key, notAFile));
    assert.equal(await store.stat(key), undefined);
    assert.deepEqual(await filesUnder(dir), []);
    await store.close();
  });

  test('a crash’s temp files are never blobs, and open removes the stale ones', async () => {
    const dir = newDir();
    const bytes = Buffer.from('half written');
    const key = keyOf(bytes);
    // As a crash mid-put leaves it: the temp file of a put that never reached its rename, one
    // of them named like a key, and one of a put that may still be running elsewhere.
    const tmp = join(dir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const old = (Date.now() - STALE_TEMP_MS - 60_000) / 1000;
    for (const name of ['0123abcd.part', key]) {
      await writeFile(join(tmp, name), bytes.subarray(0, 4));
      await utimes(join(tmp, name), old, old);
    }
    await writeFile(join(tmp, 'fresh.part'), bytes);
    const store = await DiskBlobStore.open(dir);
    assert.deepEqual(await readdir(tmp), ['fresh.part']);
    assert.equal(await store.stat(key), undefined);
    assert.equal(await store.read(key), undefined);
    assert.equal(await store.delete(key, Date.now()), true);
    // The key stores normally; the fresh temp file is not touched.
    await store.put(key, bytes);
    assert.deepEqual(await readAll(await store.read(key)), bytes);
    assert.deepEqual(await readdir(tmp), ['fresh.part']);
    await store.close();
  });

  test('a stream opened before a delete reads the whole blob', async () => {
    const store = await DiskBlobStore.open(newDir());
    const bytes = Buffer.alloc(500_000, 3);
    const key = keyOf(bytes);
    await store.put(key, bytes);
    const stream = await store.read(key);
    assert.equal(await store.delete(key, Date.now() + 1000), true);
    assert.equal(await store.stat(key), undefined);
    assert.ok((await readAll(stream)).equals(bytes));
    await store.close();
  });
});
