import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqliteStore } from '../store/sqlite/store.js';
import { AccountExport, EXPORT_PAGE } from './account-export.js';

/** A store that is gone with the test: SQLite on `:memory:`, as `--store memory` opens it. */
const memoryStore = () =>
  new SqliteStore({ path: ':memory:', synchronous: 'normal', maxOfflinePerUser: 10 });

test('an export reads in bounded pages, stops at its cap, and holds only what the user sees', async () => {
  const store = memoryStore();
  const n = EXPORT_PAGE * 2 + 10;
  for (let i = 0; i < n; i++) {
    const to = i % 2 === 0 ? 'all' : 'bob';
    await store.append({
      from: i % 4 === 1 ? 'cat' : 'ann',
      to,
      text: `m${i}`,
      ts: i,
      offline: false,
    });
  }
  const exports = new AccountExport(store);
  const pages: number[] = [];
  const texts: string[] = [];
  const all = exports.messages('ann');
  for (;;) {
    const next = await all.next();
    if (next.done) {
      assert.equal(next.value.truncated, false);
      break;
    }
    pages.push(next.value.length);
    texts.push(...next.value.map((m) => m.text));
  }
  assert.ok(pages.every((p) => p <= EXPORT_PAGE));
  // Broadcasts and ann's own DMs; cat's DMs to bob are not ann's.
  const expected = Array.from({ length: n }, (_, i) => i)
    .filter((i) => i % 2 === 0 || i % 4 === 3)
    .map((i) => `m${i}`);
  assert.deepEqual(texts, expected);

  const capped = exports.messages('ann', 5);
  const got: string[] = [];
  let result: { truncated: boolean } | undefined;
  for (;;) {
    const next = await capped.next();
    if (next.done) {
      result = next.value;
      break;
    }
    got.push(...next.value.map((m) => m.text));
  }
  assert.deepEqual(got, expected.slice(0, 5));
  assert.deepEqual(result, { truncated: true });
  await store.close();
});
