import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { NICK_KEY_VERSION } from '../../domain/confusables.js';
import { ChatError } from '../../domain/errors.js';
import { isStoreUnavailable } from '../../domain/store-unavailable.js';
import { accountsContract } from '../accounts.contract.js';
import { LEGACY_PREFIX } from '../accounts-keys.js';
import { auditContract } from '../audit.contract.js';
import { notifyContract } from '../notify.contract.js';
import { pushContract } from '../push.contract.js';
import { checkMigratedRooms } from '../room-lives.contract.js';
import { storeContract } from '../store.contract.js';
import type { Store } from '../store.js';
import { DamagedDatabaseError, migrate, SCHEMA_VERSION } from './schema.js';
import { SqliteStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `store-${++n}.db`);
const open = (path: string, maxOfflinePerUser = 10): SqliteStore =>
  new SqliteStore({ path, synchronous: 'normal', maxOfflinePerUser });

storeContract('sqlite', (limits) => open(file(), limits.maxOfflinePerUser));
accountsContract('sqlite', () => open(file()));
// `--store memory`: the same engine on a database in this process's memory (open-store.ts).
storeContract('sqlite :memory:', (limits) => open(':memory:', limits.maxOfflinePerUser));
// Other processes on the same file: each store is another connection.
const sharedFiles = new WeakMap<object, string>();
pushContract('sqlite', {
  open: () => {
    const path = file();
    const store = open(path);
    sharedFiles.set(store, path);
    return store;
  },
  again: (first) => open(sharedFiles.get(first) as string),
});
pushContract('sqlite :memory:', { open: () => open(':memory:') });

// The notify suite reaches tables of its own through the store's connection (configure).
const connections = new WeakMap<Store, { db: Database.Database; path: string }>();
const openWired = (path: string): SqliteStore => {
  let db: Database.Database | undefined;
  const store = new SqliteStore({
    path,
    synchronous: 'normal',
    maxOfflinePerUser: 10,
    configure: (d) => {
      db = d;
    },
  });
  connections.set(store, { db: db as Database.Database, path });
  return store;
};
const wired = (store: Store) => connections.get(store) as { db: Database.Database; path: string };
for (const [name, path] of [
  ['sqlite', file],
  ['sqlite :memory:', () => ':memory:'],
] as const) {
  notifyContract(name, {
    open: async () => openWired(path()),
    ...(name === 'sqlite' && { twin: async (store: Store) => openWired(wired(store).path) }),
    subscribe: async (store, nick) => {
      wired(store)
        .db.prepare(
          `INSERT INTO push_subscriptions (endpoint, nick, p256dh, auth, session, created)
           VALUES (?, ?, 'k', 'a', 's', 1)`,
        )
        .run(`https://push.example/${nick}`, nick);
    },
    mentionRows: async (store) =>
      (wired(store).db.prepare('SELECT count(*) AS n FROM mention_rows').get() as { n: number }).n,
  });
}

for (const [name, path] of [
  ['sqlite', file],
  ['sqlite :memory:', () => ':memory:'],
] as const) {
  auditContract(name, {
    open: () => openWired(path()),
    exec: async (store, sql) => wired(store).db.exec(sql),
  });
}

// The versions the migration tests go back to, named by the step that follows each: a new
// step at the end must not move them. Going back also undoes every later step (in reverse).
/** Before step 6 (users.registered). */
const BEFORE_REGISTERED = 5;
/** Before step 7 (invites.invited_id). */
const BEFORE_INVITE_ORDER = 6;
/** Undoes step 8 (notifications), so that a test can go back to a version before it. */
// Each undoes one migration step, back to the version before it.
// (The reactions step's wider CHECK on kind stays: it cannot be narrowed, and the step keeps it.)
const UNDO_BLOCKS = 'DROP TABLE blocks; ALTER TABLE messages DROP COLUMN withheld;';
const UNDO_INVITES = `${UNDO_BLOCKS} DROP TABLE invite_uses; DROP TABLE invite_links; DROP TABLE server_settings;`;
const UNDO_LAST_SEEN = `${UNDO_INVITES} ALTER TABLE users DROP COLUMN last_seen;`;
const UNDO_REPORTS = `${UNDO_LAST_SEEN} DROP TABLE reports;`;
const UNDO_SANCTIONS = `${UNDO_REPORTS} DROP TABLE sanctions; DROP TABLE address_bans;`;
const UNDO_ADMINS = `${UNDO_SANCTIONS} DROP TABLE audit; ALTER TABLE users DROP COLUMN admin;`;
const UNDO_REACTIONS = `${UNDO_ADMINS} DROP TABLE reactions;`;
const UNDO_DEPARTED = `${UNDO_REACTIONS} DROP TABLE departed;`;
const UNDO_PROFILES = `${UNDO_DEPARTED} DROP TABLE profiles;`;
const UNDO_REPLIES = `${UNDO_PROFILES} ALTER TABLE messages DROP COLUMN reply_to;`;
const UNDO_SEARCH = `${UNDO_REPLIES} DROP TABLE messages_fts;
  DELETE FROM meta WHERE key = 'search_backfill';`;
const UNDO_UPLOADS = `${UNDO_SEARCH} ALTER TABLE messages DROP COLUMN attachments;
  DROP TABLE uploads; DROP TABLE blob_trash;`;
const UNDO_NOTIFICATIONS = `${UNDO_UPLOADS} DROP INDEX members_folded;
  ALTER TABLE messages DROP COLUMN added;
  ALTER TABLE messages DROP COLUMN mentions;
  DROP TABLE mention_rows; DROP TABLE read_markers; DROP TABLE notify_levels;
  DROP TABLE attention; DROP TABLE push_subscriptions; DROP TABLE user_settings;
  DROP TABLE secrets;`;

// The schema of version 1, as released: the migration test starts from it.
const VERSION_1 = `
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, sender TEXT NOT NULL,
    recipient TEXT NOT NULL, text TEXT NOT NULL
  );
  CREATE TABLE offline (
    recipient TEXT NOT NULL, message_id INTEGER NOT NULL REFERENCES messages(id),
    PRIMARY KEY (recipient, message_id)
  ) WITHOUT ROWID;
  PRAGMA user_version = 1;`;

// Version 2, as released, from version 1: receipts, clientIds, accounts.
const VERSION_2 = `
  ${VERSION_1.replace('PRAGMA user_version = 1;', '')}
  ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'
    CHECK (kind IN ('message', 'read'));
  ALTER TABLE messages ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE messages ADD COLUMN client_id TEXT;
  ALTER TABLE messages ADD COLUMN up_to INTEGER;
  CREATE UNIQUE INDEX messages_client_id ON messages (sender, client_id)
    WHERE client_id IS NOT NULL;
  CREATE INDEX messages_recipient ON messages (recipient, id);
  CREATE INDEX messages_sender ON messages (sender, id);
  CREATE INDEX offline_message ON offline (message_id);
  CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE users (
    nick TEXT PRIMARY KEY COLLATE NOCASE, password TEXT NOT NULL, created INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE credentials (
    secret_hash TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'token', 'ticket')), nick TEXT NOT NULL,
    label TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL
  );
  CREATE INDEX credentials_nick ON credentials (nick, kind);
  PRAGMA user_version = 2;`;

describe('SqliteStore', () => {
  test('uses WAL and keeps ids, mailboxes, receipts and accounts across a reopen', async () => {
    const path = file();
    const first = new SqliteStore({ path, maxOfflinePerUser: 10, synchronous: 'full' });
    const msg = { from: 'a', to: 'b', text: 'kept', ts: 1, offline: true, clientId: 'k' };
    const { message: kept } = await first.append(msg);
    const read = await first.appendReceipt({ from: 'b', to: 'a', upTo: kept.id, ts: 2 });
    await first.accounts.createUser('Ann', 'hash', 1);
    await first.close();

    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();

    const second = open(path);
    assert.equal(await second.head(), read.id);
    assert.deepEqual(await second.since('a', 0, 10), [
      { kind: 'message', message: kept },
      { kind: 'read', receipt: read },
    ]);
    assert.deepEqual(await second.takeOffline('b'), [kept]);
    assert.deepEqual(await second.append(msg), { message: kept, created: false });
    assert.equal(await second.accounts.passwordHash('Ann'), 'hash');
    const { message: next } = await second.append({ ...msg, clientId: 'k2', offline: false });
    assert.ok(next.id > read.id);
    await second.close();
  });

  test('ids are not reused after a prune and a reopen', async () => {
    const path = file();
    const first = open(path);
    const send = (text: string) =>
      first.append({ from: 'a', to: 'all', text, ts: 1, offline: false });
    await Promise.all(['x', 'y', 'z'].map(send));
    assert.equal(await first.prune({ olderThan: 0, keep: 1 }), 2);
    const head = await first.head();
    await first.close();

    const second = open(path);
    assert.equal(await second.head(), head);
    assert.equal(await second.prunedThrough(), head - 1);
    const r = await second.appendReceipt({ from: 'a', to: 'b', upTo: head, ts: 2 });
    assert.equal(r.id, head + 1);
    await second.close();
  });

  test('prunes in chunks, and more than one chunk in a call', async () => {
    const store = open(file());
    const total = 25_001;
    const sends = [];
    for (let i = 0; i < total; i++) {
      const offline = i % 1000 === 0;
      sends.push(store.append({ from: 'a', to: `u${i}`, text: 't', ts: i, offline }));
    }
    const last = (await Promise.all(sends)).at(-1)?.message;
    assert.equal(await store.prune({ olderThan: 0, keep: 1 }), total - 1);
    assert.equal(await store.prunedThrough(), (last?.id ?? 0) - 1);
    assert.deepEqual(await store.takeOffline('u1000'), []);
    assert.deepEqual(await store.since('a', 0, 10), [{ kind: 'message', message: last }]);
    await store.close();
  });

  test('migrates a version-1 database and keeps its messages and mailboxes', async () => {
    const path = file();
    const old = new Database(path);
    old.exec(VERSION_1);
    const insert = old.prepare(
      'INSERT INTO messages (ts, sender, recipient, text) VALUES (?, ?, ?, ?)',
    );
    insert.run(10, 'a', 'all', 'hello');
    insert.run(20, 'a', 'b', 'waiting');
    old.prepare('INSERT INTO offline (recipient, message_id) VALUES (?, ?)').run('b', 2);
    old.close();

    const store = open(path);
    const hello = { id: 1, ts: 10, from: 'a', to: 'all', text: 'hello', offline: false };
    const waiting = { id: 2, ts: 20, from: 'a', to: 'b', text: 'waiting', offline: true };
    assert.deepEqual(await store.message(1), hello);
    assert.deepEqual(await store.history('b', 'a', Number.MAX_SAFE_INTEGER, 10), [waiting]);
    assert.deepEqual(await store.takeOffline('b'), [waiting]);
    assert.equal(await store.head(), 2);
    const { message } = await store.append({ ...hello, clientId: 'c' });
    assert.equal(message.id, 3);
    assert.equal(await store.accounts.createUser('Ann', 'h', 1), true);
    await store.close();

    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
  });

  test('migrates a version-2 database: ids, mailboxes, receipts and clientIds kept', async () => {
    const path = file();
    const old = new Database(path);
    old.exec(VERSION_2);
    const insert = old.prepare(
      `INSERT INTO messages (id, kind, ts, sender, recipient, text, offline, client_id, up_to)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // A gap below 7: ids are kept, not renumbered.
    insert.run(3, 'message', 10, 'a', 'b', 'waiting', 1, 'k', null);
    insert.run(5, 'message', 20, 'a', 'all', 'hello', 0, null, null);
    insert.run(7, 'read', 30, 'b', 'a', '', 0, null, 3);
    old.prepare('INSERT INTO offline (recipient, message_id) VALUES (?, ?)').run('b', 3);
    old.exec(`INSERT INTO meta (key, value) VALUES ('pruned_through', 2);
      INSERT INTO users (nick, password, created) VALUES ('Ann', 'h', 1);`);
    old.close();

    const store = open(path);
    const waiting = { id: 3, ts: 10, from: 'a', to: 'b', text: 'waiting', offline: true };
    const keyed = { ...waiting, clientId: 'k' };
    const hello = { id: 5, ts: 20, from: 'a', to: 'all', text: 'hello', offline: false };
    const read = { id: 7, ts: 30, from: 'b', to: 'a', upTo: 3 };
    assert.deepEqual(await store.since('a', 0, 10), [
      { kind: 'message', message: keyed },
      { kind: 'message', message: hello },
      { kind: 'read', receipt: read },
    ]);
    assert.equal(await store.head(), 7);
    assert.equal(await store.prunedThrough(), 2);
    assert.deepEqual(await store.append({ ...waiting, text: 'retry', clientId: 'k' }), {
      message: keyed,
      created: false,
    });
    assert.equal(await store.accounts.passwordHash('Ann'), 'h');
    // The new kinds fit, and continue the sequence.
    const created = await store.appendMember({
      room: '#r',
      user: 'a',
      by: 'a',
      action: 'create',
      ts: 40,
      bigRoom: 100,
    });
    assert.equal(created.at(-1)?.id, 8);
    const edit = await store.appendEdit({ target: 3, from: 'a', to: 'b', text: 'edited', ts: 50 });
    assert.equal(edit.id, 9);
    assert.deepEqual(await store.takeOffline('b'), [{ ...keyed, text: 'edited', edited: 50 }]);
    await store.close();

    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.deepEqual(db.pragma('integrity_check', { simple: true }), 'ok');
    // The mailbox still references the messages table.
    const [fk] = db.pragma('foreign_key_list(offline)') as Array<{ table: string }>;
    assert.equal(fk?.table, 'messages');
    const leftovers = db
      .prepare("SELECT name FROM sqlite_schema WHERE name LIKE '%\\_v_' ESCAPE '\\'")
      .all();
    assert.deepEqual(leftovers, []);
    db.close();
  });

  test('migrates accounts to a registration point of 0: they keep what they saw', async () => {
    const path = file();
    const first = open(path);
    const { message } = await first.append({
      from: 'a',
      to: 'Ann',
      text: 't',
      ts: 1,
      offline: true,
    });
    await first.close();
    // Back to the version before registration points, with an account made then.
    const old = new Database(path);
    old.exec(`${UNDO_NOTIFICATIONS}
      DROP INDEX invites_oldest;
      ALTER TABLE invites DROP COLUMN invited_id;
      ALTER TABLE users DROP COLUMN registered;
      INSERT INTO users (nick, password, created) VALUES ('Ann', 'h', 2);
      PRAGMA user_version = ${BEFORE_REGISTERED};`);
    old.close();
    const store = open(path);
    assert.deepEqual(await store.since('Ann', 0, 10), [{ kind: 'message', message }]);
    assert.deepEqual(await store.takeOffline('Ann'), [message]);
    assert.equal(await store.accounts.passwordHash('Ann'), 'h');
    await store.close();
  });

  test('migrates invitations to their order: the log id of each, 0 where pruned', async () => {
    const path = file();
    const first = open(path);
    const change = { ts: 1, bigRoom: 100 } as const;
    for (const room of ['#b', '#a']) {
      await first.appendMember({ ...change, room, action: 'create', user: 'ann', by: 'ann' });
      await first.appendMember({ ...change, room, action: 'invite', user: 'bob', by: 'ann' });
    }
    await first.close();
    const old = new Database(path);
    old.exec(`${UNDO_NOTIFICATIONS}
      DROP INDEX invites_oldest;
      ALTER TABLE invites DROP COLUMN invited_id;
      INSERT INTO rooms (name, visibility, history, created_by, created, members) VALUES
        ('#c', 'private', 'all', 'ann', 1, 1);
      INSERT INTO members (room, nick, role, joined) VALUES ('#c', 'ann', 'owner', 9);
      INSERT INTO invites (room, nick, invited_by) VALUES ('#c', 'bob', 'ann');
      PRAGMA user_version = ${BEFORE_INVITE_ORDER};`);
    old.close();
    open(path).close();
    const db = new Database(path);
    const rows = db.prepare('SELECT room, invited_id FROM invites ORDER BY invited_id').all();
    db.close();
    assert.deepEqual(rows, [
      { room: '#c', invited_id: 0 },
      { room: '#b', invited_id: 2 },
      { room: '#a', invited_id: 4 },
    ]);
  });

  test('an edit or delete of a broadcast is seen by everyone, a receipt is not', async () => {
    const store = open(file());
    const { message } = await store.append({
      from: 'a',
      to: 'all',
      text: 't',
      ts: 1,
      offline: false,
    });
    const edit = await store.appendEdit({
      target: message.id,
      from: 'a',
      to: 'all',
      text: 'u',
      ts: 2,
    });
    const del = await store.appendDelete({ target: message.id, from: 'a', to: 'all', ts: 3 });
    await store.appendReceipt({ from: 'a', to: 'all', upTo: message.id, ts: 4 });
    assert.deepEqual(await store.since('zed', 0, 10), [
      { kind: 'message', message: { ...message, text: '', edited: 2, deleted: true } },
      { kind: 'edit', edit: { ...edit, text: '' } },
      { kind: 'delete', delete: del },
    ]);
    await store.close();
  });

  test('migrates version-3 rooms: empty rooms go, invitations know their inviter', async () => {
    const path = file();
    const old = new Database(path);
    migrate(old, path, 3);
    // #live: ann (owner) and mod (moderator); mod invited bob, a departed moderator invited
    // cat. #empty: everyone left; dan still holds an invitation to it.
    old.exec(`
      INSERT INTO messages (id, kind, ts, sender, recipient, text, actor, action, role) VALUES
        (1, 'member', 1, 'ann', '#live', '', 'ann', 'create', 'owner'),
        (2, 'member', 1, 'mod', '#live', '', 'mod', 'join', 'member'),
        (3, 'member', 1, 'bob', '#live', '', 'mod', 'invite', NULL),
        (4, 'member', 1, 'cat', '#live', '', 'gone', 'invite', NULL),
        (5, 'member', 1, 'eve', '#empty', '', 'eve', 'create', 'owner'),
        (6, 'member', 1, 'dan', '#empty', '', 'eve', 'invite', NULL),
        (7, 'member', 1, 'eve', '#empty', '', 'eve', 'leave', NULL);
      INSERT INTO messages (id, ts, sender, recipient, text) VALUES (8, 1, 'ann', '#live', 'hi');
      INSERT INTO rooms (name, visibility, history, created_by, created, members) VALUES
        ('#live', 'private', 'all', 'ann', 1, 2), ('#empty', 'public', 'all', 'eve', 1, 0);
      INSERT INTO members (room, nick, role, joined) VALUES
        ('#live', 'ann', 'owner', 1), ('#live', 'mod', 'moderator', 2);
      INSERT INTO invites (room, nick) VALUES ('#live', 'bob'), ('#live', 'cat'), ('#empty', 'dan');
      INSERT INTO spans (nick, room, from_id, to_id) VALUES
        ('ann', '#live', 1, NULL), ('mod', '#live', 2, NULL), ('eve', '#empty', 5, 7);`);
    old.close();

    const store = open(path);
    assert.equal(await store.room('#empty'), undefined);
    assert.deepEqual(await store.rooms('dan'), []);
    assert.deepEqual(
      (await store.rooms('cat')).map((r) => r.name),
      [],
    );
    assert.deepEqual(
      (await store.rooms('bob')).map((r) => [r.name, r.invited]),
      [['#live', true]],
    );
    assert.deepEqual(
      (await store.history('ann', '#live', 100, 10)).map((m) => m.text),
      ['hi'],
    );
    // Eve's replay of the removed room stays; the name is free.
    assert.deepEqual(
      (await store.since('eve', 0, 10)).map((e) => e.kind === 'member' && e.change.action),
      ['create', 'invite', 'leave'],
    );
    await checkMigratedRooms(store);
    await store.close();
  });

  test('a refused change fails only its own promise, and writes nothing', async () => {
    const store = open(file());
    const change = { room: '#r', user: 'a', by: 'a', ts: 1, bigRoom: 100 } as const;
    const results = await Promise.allSettled([
      store.appendMember({ ...change, action: 'create' }),
      store.appendMember({ ...change, action: 'create', user: 'b', by: 'b' }),
      store.appendEdit({ target: 99, from: 'a', to: 'b', text: 'x', ts: 1 }),
      store.appendMember({ ...change, action: 'join', user: 'c', by: 'c' }),
      store.appendDelete({ target: 99, from: 'a', to: 'b', ts: 1 }),
      store.appendMember({ ...change, action: 'remove', user: 'a', by: 'c' }),
      store.append({ from: 'c', to: '#r', text: 'hi', ts: 2, offline: false }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    const ids = (await store.log(0, 10)).map((e) => e.kind);
    assert.deepEqual(ids, ['member', 'member', 'message']);
    assert.deepEqual(await store.members('#r'), [
      { user: 'a', role: 'owner' },
      { user: 'c', role: 'member' },
    ]);
    assert.equal((await store.room('#r'))?.members, 2);
    await store.close();
  });

  test('two stores on one file decide a room against what the other wrote', async () => {
    const path = file();
    const [a, b] = [open(path), open(path)];
    const change = { room: '#r', ts: 1, bigRoom: 100 } as const;
    await a.appendMember({ ...change, action: 'create', user: 'ann', by: 'ann' });
    await assert.rejects(
      b.appendMember({ ...change, action: 'create', user: 'bob', by: 'bob' }),
      (err) => err instanceof ChatError && err.code === 'CHAT_ROOM_EXISTS',
    );
    const join = await b.appendMember({ ...change, action: 'join', user: 'bob', by: 'bob' });
    assert.equal(await a.role('#r', 'bob'), 'member');
    assert.deepEqual(await a.memberships(), {
      head: join.at(-1)?.id,
      members: [
        { room: '#r', user: 'ann', role: 'owner', since: 1 },
        { room: '#r', user: 'bob', role: 'member', since: 2 },
      ],
    });
    await Promise.all([a.close(), b.close()]);
  });

  test('a restart in another auth mode ends the sessions of the old one', async () => {
    const path = file();
    const cred = {
      kind: 'session' as const,
      id: 'x',
      nick: 'alice',
      label: '',
      created: 1,
      expires: 0,
    };
    const first = open(path);
    await first.accounts.setAuthMode('open');
    await first.accounts.addCredential('h', cred);
    await first.close();
    const second = open(path);
    assert.equal(await second.accounts.setAuthMode('open'), 0);
    assert.ok(await second.accounts.credential('h', 2));
    await second.close();
    const third = open(path);
    assert.equal(await third.accounts.setAuthMode('accounts'), 1);
    assert.equal(await third.accounts.credential('h', 2), undefined);
    await third.close();
  });

  test('accounts that looked alike before keep working, and get look-alike keys once', async () => {
    const path = file();
    const first = open(path);
    await first.accounts.createUser('alice', 'h-alice', 1);
    await first.close();
    // As an older ssechat left it: look-alikes registered, no keys.
    const old = new Database(path);
    const insert = old.prepare('INSERT INTO users (nick, password, created) VALUES (?, ?, ?)');
    insert.run('\u0430lice', 'h-cyrillic', 2);
    insert.run('ali\u034Fce', 'h-cgj', 3);
    old.exec("UPDATE users SET nick_key = NULL; DELETE FROM meta WHERE key = 'nick_key_version'");
    old.close();

    const store = open(path);
    assert.equal(await store.accounts.passwordHash('\u0430lice'), 'h-cyrillic');
    assert.equal(await store.accounts.passwordHash('ali\u034Fce'), 'h-cgj');
    // The oldest keeps the key that new registrations meet.
    assert.equal(await store.accounts.lookAlike('\uFF41\uFF4C\uFF49\uFF43\uFF45'), 'alice');
    assert.equal(await store.accounts.createUser('\uFF41\uFF4C\uFF49\uFF43\uFF45', 'h', 4), false);
    assert.equal(await store.accounts.createUser('bob', 'h', 4), true);
    await store.close();
    const keys = () => {
      const db = new Database(path, { readonly: true });
      const rows = db.prepare('SELECT nick, nick_key FROM users ORDER BY created').all();
      db.close();
      return rows as { nick: string; nick_key: string }[];
    };
    const after = keys();
    assert.deepEqual(
      after.map((r) => r.nick_key),
      ['alice', `${LEGACY_PREFIX}\u0430lice`, `${LEGACY_PREFIX}ali\u034Fce`, 'bob'],
    );
    // Done once: a reopen changes nothing.
    await open(path).close();
    assert.deepEqual(keys(), after);
  });

  test('new look-alike keys (NICK_KEY_VERSION) rebuild at startup, and new collisions keep working', async () => {
    const path = file();
    const first = open(path);
    // Registered when keys did not see capital look-alikes: "BOВ" (Cyrillic В) got a key of its own.
    await first.accounts.createUser('BOB', 'h-bob', 1);
    await first.close();
    const old = new Database(path);
    old
      .prepare('INSERT INTO users (nick, password, created) VALUES (?, ?, ?)')
      .run('BO\u0412', 'h-cyrillic', 2);
    old.prepare("UPDATE users SET nick_key = 'old:' || nick").run();
    old
      .prepare("UPDATE meta SET value = ? WHERE key = 'nick_key_version'")
      .run(NICK_KEY_VERSION - 1);
    old.close();

    const store = open(path);
    assert.equal(await store.accounts.passwordHash('BOB'), 'h-bob');
    assert.equal(await store.accounts.passwordHash('BO\u0412'), 'h-cyrillic');
    assert.equal(await store.accounts.lookAlike('\u0392\u039F\u0392'), 'BOB');
    assert.equal(await store.accounts.createUser('\u0392\u039F\u0392', 'h', 3), false);
    await store.close();
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT nick_key FROM users ORDER BY created').all();
    db.close();
    assert.deepEqual(
      rows.map((r) => (r as { nick_key: string }).nick_key),
      ['bob', `${LEGACY_PREFIX}BO\u0412`],
    );
  });

  test('a file that cannot grow: appends fail as unavailable, ping fails until it may grow', async () => {
    let db: Database.Database | undefined;
    const store = new SqliteStore({
      path: file(),
      synchronous: 'normal',
      maxOfflinePerUser: 10,
      configure: (connection) => {
        db = connection;
      },
    });
    assert.ok(db);
    const kept = await store.append({ from: 'a', to: 'all', text: 'kept', ts: 1, offline: false });
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    let failure: unknown;
    for (let i = 0; i < 1_000 && failure === undefined; i++) {
      const text = `${i} ${'x'.repeat(2_000)}`;
      failure = await store.append({ from: 'a', to: 'all', text, ts: 1, offline: true }).then(
        () => undefined,
        (err: unknown) => err,
      );
    }
    assert.equal((failure as { code?: string }).code, 'SQLITE_FULL');
    assert.equal(isStoreUnavailable(failure), true);
    await assert.rejects(store.ping(), /the store cannot write: .*\(SQLITE_FULL\)/);
    db.pragma(`max_page_count = ${pages + 10_000}`);
    await store.ping();
    assert.deepEqual(await store.message(kept.message.id), kept.message);
    await store.close();
  });

  test('refuses a damaged file when asked to check it', () => {
    const path = file();
    const db = new Database(path);
    db.exec('CREATE TABLE t (x TEXT)');
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
      INSERT INTO t SELECT hex(randomblob(100)) FROM n`);
    db.close();
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    // Page 3, a leaf of t: its cell pointers overwritten.
    bytes.fill(0xa5, 2 * pageSize + 8, 2 * pageSize + 200);
    writeFileSync(path, bytes);
    assert.throws(
      () =>
        new SqliteStore({ path, synchronous: 'normal', maxOfflinePerUser: 1, quickCheck: true }),
      (err: unknown) => err instanceof DamagedDatabaseError && /^quick_check: /.test(err.message),
    );
  });

  test('refuses a database from a newer ssechat', () => {
    const path = file();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => open(path), /schema version 99, newer/);
  });
});
