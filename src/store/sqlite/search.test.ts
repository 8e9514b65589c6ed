import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { parseSearch } from '../../domain/search.js';
import { migrate, SEARCH_VERSION } from './schema.js';
import { BACKFILL_CHUNK } from './search.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-search-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Whether the backfill of the file at `path` has finished (its cursor is gone). */
function backfilled(path: string): boolean {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT 1 FROM meta WHERE key = 'search_backfill'").get() === undefined;
  } finally {
    db.close();
  }
}

describe('SqliteStore search index', () => {
  test('a database from before the index is indexed in the background, newest first, edits and deletes kept', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    migrate(old, path, SEARCH_VERSION - 1);
    const rows = BACKFILL_CHUNK * 2 + 7;
    const insert = old.prepare(
      'INSERT INTO messages (ts, sender, recipient, text, deleted) VALUES (?, ?, ?, ?, ?)',
    );
    old.transaction(() => {
      for (let i = 1; i <= rows; i++) {
        const gone = i === 3 ? 1 : 0;
        insert.run(i, 'alice', 'all', gone ? '' : `legacy message ${i} zebra${i % 2}`, gone);
      }
    })();
    old.close();

    const store = new SqliteStore({ path, maxOfflinePerUser: 10, synchronous: 'normal' });
    try {
      // Startup does not wait for the index: a write made now is indexed at once...
      const fresh = await store.append({
        from: 'bob',
        to: 'all',
        text: 'legacy fresh',
        ts: 9,
        offline: false,
      });
      // ...and an old message edited before the backfill reaches it is found by its new text.
      await store.appendEdit({ target: 1, from: 'alice', to: 'all', text: 'rewritten', ts: 10 });
      const search = async (q: string, limit = 100) =>
        (await store.search('carol', { ...parseSearch(q), before: Number.MAX_SAFE_INTEGER, limit }))
          .messages.length;
      for (let i = 0; i < 200 && !backfilled(path); i++) await sleep(20);
      assert.ok(backfilled(path), 'the backfill finished');
      assert.equal(await search('rewritten'), 1);
      assert.equal(await search('"message 1"'), 0);
      // Every row but the deleted and the rewritten one, and the fresh one.
      let found = 0;
      let before: number | null = Number.MAX_SAFE_INTEGER;
      while (before !== null) {
        const page = await store.search('carol', { ...parseSearch('legacy'), before, limit: 100 });
        found += page.messages.length;
        before = page.next;
      }
      assert.equal(found, rows - 2 + 1);
      assert.equal(await search('zebra1', 1000), (rows + 1) / 2 - 2);
      assert.ok(fresh.created);
    } finally {
      await store.close();
    }
    const db = new Database(path);
    db.exec("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')");
    db.close();
  });

  test('a new database needs no backfill', async () => {
    const path = join(dir, 'new.db');
    const store = new SqliteStore({ path, maxOfflinePerUser: 10, synchronous: 'normal' });
    await store.close();
    assert.ok(backfilled(path));
  });
});
