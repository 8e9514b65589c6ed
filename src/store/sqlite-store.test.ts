import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from './sqlite-store.js';
import { storeContract } from './store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `store-${++n}.db`);

storeContract(
  'sqlite',
  (limits) => new SqliteStore({ path: file(), synchronous: 'normal', ...limits }),
);

describe('SqliteStore', () => {
  test('uses WAL and keeps mailboxes and ids across a reopen', async () => {
    const path = file();
    const limits = { maxOfflinePerUser: 10, synchronous: 'full' as const };
    const first = new SqliteStore({ path, ...limits });
    const kept = await first.append({ from: 'a', to: 'b', text: 'kept', ts: 1, offline: true });
    await first.close();

    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();

    const second = new SqliteStore({ path, ...limits });
    assert.deepEqual(await second.takeOffline('b'), [kept]);
    const next = await second.append({ from: 'a', to: 'all', text: 'x', ts: 2, offline: false });
    assert.ok(next.id > kept.id);
    await second.close();
  });

  test('refuses a database from a newer ssechat', () => {
    const path = file();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(
      () => new SqliteStore({ path, synchronous: 'normal', maxOfflinePerUser: 1 }),
      /schema version 99, newer/,
    );
  });
});
