import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { migrate, REACTIONS_VERSION, SCHEMA_VERSION } from './schema.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-sqlite-reactions-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the reactions step widens the CHECK on kind in place and leaves a sound file', async () => {
  const path = join(dir, 'before.db');
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  migrate(old, path, REACTIONS_VERSION - 1);
  old.exec(`
    INSERT INTO messages (id, ts, sender, recipient, text, offline) VALUES
      (1, 1, 'ann', 'bob', 'hi', 1), (2, 2, 'bob', 'all', 'hello', 0);
    INSERT INTO messages (id, kind, ts, sender, recipient, text, up_to) VALUES
      (3, 'edit', 3, 'bob', 'all', 'hello!', 2);
    UPDATE messages SET text = 'hello!', edited = 3 WHERE id = 2;
    INSERT INTO offline (recipient, message_id) VALUES ('bob', 1);`);
  assert.throws(
    () =>
      old.exec(
        "INSERT INTO messages (kind, ts, sender, recipient, text) VALUES ('react', 1, 'a', 'b', '👍')",
      ),
    /CHECK constraint failed/,
  );
  // A second connection on the file, open across the step: it must read the new schema too.
  const other = new Database(path);
  old.close();

  const store = new SqliteStore({ path, synchronous: 'normal', maxOfflinePerUser: 10 });
  const reaction = await store.appendReaction({
    target: 2,
    from: 'ann',
    to: 'all',
    emoji: '👍',
    on: true,
    ts: 4,
  });
  assert.equal(reaction?.id, 4);
  assert.deepEqual(
    (await store.since('ann', 0, 10)).map((e) => e.kind),
    ['message', 'message', 'edit', 'react'],
  );
  assert.deepEqual((await store.history('carl', 'all', 100, 10))[0]?.reactions, [
    { emoji: '👍', count: 1, users: ['ann'] },
  ]);
  assert.deepEqual(
    (await store.takeOffline('bob')).map((m) => m.text),
    ['hi'],
  );
  await store.close();

  assert.equal(other.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.deepEqual(other.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
  const reacts = other.prepare("SELECT count(*) AS n FROM messages WHERE kind = 'react'");
  assert.deepEqual(reacts.get(), { n: 1 });
  // The CHECK still refuses any other kind, on a connection that was open during the step.
  assert.throws(
    () =>
      other.exec(
        "INSERT INTO messages (kind, ts, sender, recipient, text) VALUES ('bogus', 1, 'a', 'b', '')",
      ),
    /CHECK constraint failed/,
  );
  other.exec(
    "INSERT INTO messages (kind, ts, sender, recipient, text, up_to) VALUES ('react', 5, 'bob', 'all', '🎉', 2)",
  );
  other.close();
});

test("the step leaves the connection's defensive mode on", () => {
  const path = join(dir, 'defensive.db');
  const db = new Database(path);
  migrate(db, path);
  db.pragma('writable_schema = ON');
  assert.throws(
    () => db.exec("UPDATE sqlite_schema SET sql = sql WHERE name = 'messages'"),
    /may not be modified/,
  );
  db.close();
});
