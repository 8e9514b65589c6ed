import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import pg from 'pg';
import { admin, TEST_DATABASE_URL, testSchemas } from '../../../test/pg-schemas.js';
import { NICK_KEY_VERSION } from '../../domain/confusables.js';
import { eventId, type LoggedEvent, type NewMessage } from '../../domain/events.js';
import { parseSearch } from '../../domain/search.js';
import { isStoreUnavailable } from '../../domain/store-unavailable.js';
import { accountsContract } from '../accounts.contract.js';
import { LEGACY_PREFIX } from '../accounts-keys.js';
import { auditContract } from '../audit.contract.js';
import { notifyContract } from '../notify.contract.js';
import { pushContract } from '../push.contract.js';
import { checkMigratedRooms } from '../room-lives.contract.js';
import { storeContract } from '../store.contract.js';
import type { Appended, Store } from '../store.js';
import { migrate, SCHEMA_VERSION } from './schema.js';
import { BACKFILL_CHUNK, searchVector } from './search.js';
import { PostgresStore } from './store.js';

const url = TEST_DATABASE_URL;
const newSchema = testSchemas('ssechat_test_');
const open = (schema: string, maxOfflinePerUser = 10): Promise<PostgresStore> =>
  PostgresStore.open({ url, schema, maxOfflinePerUser, poolSize: 4 });

storeContract('postgres', (limits) => open(newSchema(), limits.maxOfflinePerUser));
accountsContract('postgres', () => open(newSchema()));
// Other nodes on the same schema: each store is another pool.
const schemaOf = new WeakMap<object, string>();
pushContract('postgres', {
  open: async () => {
    const schema = newSchema();
    const store = await open(schema);
    schemaOf.set(store, schema);
    return store;
  },
  again: (first) => open(schemaOf.get(first) as string),
});

// The notify suite reaches tables of its own by the store's schema.
const schemas = new WeakMap<Store, string>();
const openIn = async (schema: string): Promise<Store> => {
  const store = await open(schema);
  schemas.set(store, schema);
  return store;
};
notifyContract('postgres', {
  open: () => openIn(newSchema()),
  twin: (store) => openIn(schemas.get(store) as string),
  subscribe: async (store, nick) => {
    await admin(
      `INSERT INTO ${schemas.get(store)}.push_subscriptions
         (endpoint, nick, p256dh, auth, session, created) VALUES ($1, $2, 'k', 'a', 's', 1)`,
      [`https://push.example/${nick}`, nick],
    );
  },
  mentionRows: async (store) =>
    (
      await admin<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${schemas.get(store)}.mention_rows`,
      )
    )[0]?.n ?? 0,
});

auditContract('postgres', {
  open: () => openIn(newSchema()),
  exec: (store, sql) => admin(`SET search_path TO ${schemas.get(store)}; ${sql}`),
});

// The versions the migration tests go back to, named by the step that follows each: a new
// step at the end must not move them. Going back also undoes every later step.
/** Before step 5 (users.registered). */
const BEFORE_REGISTERED = 4;
/** Before step 6 (invites.invited_id). */
const BEFORE_INVITE_ORDER = 5;
/** Before step 9 (messages.search). */
const BEFORE_SEARCH = 8;

/** Undoes step 9 (search) in `schema`, to go back before it. */
async function undoSearch(schema: string): Promise<void> {
  // The steps after search (departed, profiles, replies, admins, sanctions, reports, last_seen, invites,
  // blocks) first.
  await admin(`SET search_path TO ${schema};
    DROP TABLE blocks;
    ALTER TABLE messages DROP COLUMN withheld;
    DROP TABLE invite_uses, invite_links, server_settings;
    ALTER TABLE users DROP COLUMN last_seen;
    DROP TABLE sanctions, address_bans;
    DROP TABLE audit;
    DROP FUNCTION audit_refuse();
    ALTER TABLE users DROP COLUMN admin;
    DROP TABLE reports;
    DROP TABLE departed;
    DROP TABLE profiles;
    ALTER TABLE messages DROP COLUMN reply_to;
    ALTER TABLE messages DROP COLUMN search;
    DELETE FROM meta WHERE key = 'search_backfill';`);
}

/** Undoes steps 7 (notifications), 8 (uploads) and those after in `schema`, to go back before them. */
async function undoNotifications(schema: string): Promise<void> {
  await undoSearch(schema);
  await admin(`SET search_path TO ${schema};
    ALTER TABLE messages DROP COLUMN attachments;
    DROP TABLE uploads, blob_trash;
    DROP INDEX members_folded;
    ALTER TABLE messages DROP COLUMN added, DROP COLUMN mentions;
    DROP TABLE mention_rows, read_markers, notify_levels, attention, push_subscriptions,
      user_settings, secrets;`);
}

const msg = (over: Partial<NewMessage> = {}): NewMessage => ({
  from: 'a',
  to: 'b',
  text: 't',
  ts: 1,
  offline: false,
  ...over,
});
const idOf = (e: LoggedEvent): number => eventId(e);

describe('PostgresStore', () => {
  test('keeps ids, mailboxes, receipts and accounts across a reopen', async () => {
    const schema = newSchema();
    const first = await open(schema);
    const sent = msg({ text: 'kept', offline: true, clientId: 'k' });
    const { message: kept } = await first.append(sent);
    const read = await first.appendReceipt({ from: 'b', to: 'a', upTo: kept.id, ts: 2 });
    await first.accounts.createUser('Ann', 'hash', 1);
    await first.close();

    const second = await open(schema);
    assert.equal(await second.head(), read.id);
    assert.deepEqual(await second.since('a', 0, 10), [
      { kind: 'message', message: kept },
      { kind: 'read', receipt: read },
    ]);
    assert.deepEqual(await second.takeOffline('b'), [kept]);
    assert.deepEqual(await second.append(sent), { message: kept, created: false });
    assert.equal(await second.accounts.passwordHash('Ann'), 'hash');
    const { message: next } = await second.append({ ...sent, clientId: 'k2', offline: false });
    assert.ok(next.id > read.id);
    await second.close();
  });

  test('ids are not reused after a prune and a reopen', async () => {
    const schema = newSchema();
    const first = await open(schema);
    await Promise.all(['x', 'y', 'z'].map((text) => first.append(msg({ to: 'all', text }))));
    assert.equal(await first.prune({ olderThan: 0, keep: 1 }), 2);
    const head = await first.head();
    await first.close();

    const second = await open(schema);
    assert.equal(await second.head(), head);
    assert.equal(await second.prunedThrough(), head - 1);
    const r = await second.appendReceipt({ from: 'a', to: 'b', upTo: head, ts: 2 });
    assert.equal(r.id, head + 1);
    await second.close();
  });

  test('prunes in chunks, and more than one chunk in a call', async () => {
    const store = await open(newSchema());
    const total = 25_001;
    const sends = [];
    for (let i = 0; i < total; i++) {
      const offline = i % 1000 === 0;
      sends.push(store.append(msg({ to: `u${i}`, ts: i, offline })));
    }
    const last = (await Promise.all(sends)).at(-1)?.message;
    assert.equal(await store.prune({ olderThan: 0, keep: 1 }), total - 1);
    assert.equal(await store.prunedThrough(), (last?.id ?? 0) - 1);
    assert.deepEqual(await store.takeOffline('u1000'), []);
    assert.deepEqual(await store.since('a', 0, 10), [{ kind: 'message', message: last }]);
    await store.close();
  });

  test('two nodes appending at once make ids visible in id order only', async () => {
    const schema = newSchema();
    const [a, b, reader] = await Promise.all([open(schema), open(schema), open(schema)]);
    const total = 600;
    let writing = true;
    // The commits of both nodes race; between them, the reader must never see a hole that a
    // later commit fills. The schema is new and no append fails, so the ids are 1..total: each
    // snapshot of the log must be 1..k, and a cursor that follows it must collect every id.
    const watch = (async () => {
      const collected: number[] = [];
      let polls = 0;
      // One more poll after the writers finished, so the last commits are collected too.
      for (let last = false; !last; ) {
        last = !writing;
        const visible = (await reader.log(0, total)).map(idOf);
        assert.deepEqual(
          visible,
          visible.map((_, i) => i + 1),
          'a snapshot of the log has a hole',
        );
        const cursor = collected.at(-1) ?? 0;
        collected.push(...(await reader.log(cursor, total)).map(idOf));
        polls++;
      }
      return { collected, polls };
    })();
    // Awaited below; this only keeps a failed check from being reported as unhandled first.
    watch.catch(() => {});
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < total; i++) {
      const node = i % 2 === 0 ? a : b;
      sends.push(
        i % 7 === 0
          ? node.appendReceipt({ from: 'b', to: 'a', upTo: 1, ts: i })
          : node.append(msg({ ts: i })),
      );
      // Small batches from both nodes, many transactions in flight at once.
      if (i % 10 === 9) await turn();
    }
    await Promise.all(sends);
    writing = false;
    const { collected, polls } = await watch;
    assert.deepEqual(
      collected,
      Array.from({ length: total }, (_, i) => i + 1),
    );
    assert.ok(polls > 1, 'the reader polled while the nodes wrote');
    await Promise.all([a.close(), b.close(), reader.close()]);
  });

  test('the mailbox limit and takeOffline hold across nodes', async () => {
    const schema = newSchema();
    const [a, b] = await Promise.all([open(schema, 5), open(schema, 5)]);
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).append(msg({ text: `m${i}`, offline: true })),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
    const [takenA, takenB] = await Promise.all([a.takeOffline('b'), b.takeOffline('b')]);
    const ids = [...takenA, ...takenB].map((m) => m.id);
    assert.equal(ids.length, 5);
    assert.equal(new Set(ids).size, 5);
    await Promise.all([a.close(), b.close()]);
  });

  test('a registration on one node splits racing appends on another exactly', async () => {
    const schema = newSchema();
    const [a, b] = await Promise.all([open(schema, 1000), open(schema, 1000)]);
    // Appends in many batches (one per turn), with the registration somewhere among them.
    const sends: Array<Promise<Appended>> = [];
    let registering: Promise<boolean> | undefined;
    for (let i = 0; i < 200; i++) {
      sends.push(a.append(msg({ to: 'kim', text: `m${i}`, offline: true })));
      if (i === 100) registering = b.accounts.createUser('kim', 'h', 1);
      if (i % 10 === 0) await turn();
    }
    assert.equal(await registering, true);
    const ids = (await Promise.all(sends)).map((r) => r.message.id);
    const [row] = await admin<{ registered: number }>(
      `SELECT registered::int FROM ${schema}.users WHERE nick = 'kim'`,
    );
    const registered = row?.registered ?? -1;
    const after = ids.filter((id) => id > registered);
    assert.deepEqual((await a.since('kim', 0, 1000)).map(idOf), after);
    assert.deepEqual(
      (await a.takeOffline('kim')).map((m) => m.id),
      after,
    );
    await Promise.all([a.close(), b.close()]);
  });

  test('migrates accounts to a registration point of 0: they keep what they saw', async () => {
    const schema = newSchema();
    const first = await open(schema);
    const { message } = await first.append(msg({ to: 'Ann', offline: true }));
    await first.close();
    // Back to the version before registration points, with an account made then.
    await undoNotifications(schema);
    await admin(`ALTER TABLE ${schema}.invites DROP COLUMN invited_id`);
    await admin(`ALTER TABLE ${schema}.users DROP COLUMN registered`);
    await admin(`UPDATE ${schema}.schema_version SET version = ${BEFORE_REGISTERED}`);
    await admin(`INSERT INTO ${schema}.users (nick, password, created) VALUES ('Ann', 'h', 2)`);
    const second = await open(schema);
    assert.deepEqual(await second.since('Ann', 0, 10), [{ kind: 'message', message }]);
    assert.deepEqual(await second.takeOffline('Ann'), [message]);
    assert.equal(await second.accounts.passwordHash('Ann'), 'h');
    await second.close();
  });

  test('migrates invitations to their order: the log id of each, 0 where pruned', async () => {
    const schema = newSchema();
    const first = await open(schema);
    const change = { ts: 1, bigRoom: 100 } as const;
    for (const room of ['#b', '#a']) {
      await first.appendMember({ ...change, room, action: 'create', user: 'ann', by: 'ann' });
      await first.appendMember({ ...change, room, action: 'invite', user: 'bob', by: 'ann' });
    }
    await first.close();
    await undoNotifications(schema);
    await admin(`ALTER TABLE ${schema}.invites DROP COLUMN invited_id`);
    await admin(`INSERT INTO ${schema}.rooms (name, visibility, history, created_by, created, members)
      VALUES ('#c', 'private', 'all', 'ann', 1, 1)`);
    await admin(
      `INSERT INTO ${schema}.invites (room, nick, invited_by) VALUES ('#c', 'bob', 'ann')`,
    );
    await admin(`UPDATE ${schema}.schema_version SET version = ${BEFORE_INVITE_ORDER}`);
    await (await open(schema)).close();
    const rows = await admin(
      `SELECT room, invited_id::int AS invited_id FROM ${schema}.invites ORDER BY invited_id`,
    );
    assert.deepEqual(rows, [
      { room: '#c', invited_id: 0 },
      { room: '#b', invited_id: 2 },
      { room: '#a', invited_id: 4 },
    ]);
  });

  test('migrates messages from before search: indexed after startup, as they are now', async () => {
    const schema = newSchema();
    const first = await open(schema, 10_000);
    // More than two chunks of the backfill (BACKFILL_CHUNK).
    const sends: Array<Promise<Appended>> = [];
    for (let i = 0; i < 2 * BACKFILL_CHUNK + 500; i++) {
      sends.push(first.append(msg({ to: 'all', text: `word${i % 7} common`, ts: i })));
    }
    const ids = (await Promise.all(sends)).map((r) => r.message.id);
    const { message: secret } = await first.append(msg({ from: 'ann', to: 'bob', text: 'secret' }));
    const { message: edited } = await first.append(msg({ to: 'all', text: 'old wording' }));
    const { message: gone } = await first.append(msg({ to: 'all', text: 'deleted wording' }));
    await first.append(msg({ to: 'all', text: '!!! ...' }));
    await first.appendEdit({ target: edited.id, from: 'a', to: 'all', text: 'new wording', ts: 2 });
    await first.appendDelete({ target: gone.id, from: 'a', to: 'all', ts: 2 });
    await first.close();
    await undoSearch(schema);
    await admin(`UPDATE ${schema}.schema_version SET version = ${BEFORE_SEARCH}`);

    const second = await open(schema);
    await second.backfilled();
    const find = async (viewer: string, q: string, limit = 10) =>
      (
        await second.search(viewer, { ...parseSearch(q), before: Number.MAX_SAFE_INTEGER, limit })
      ).messages.map((m) => m.id);
    assert.deepEqual(await find('cat', 'wording'), [edited.id]);
    assert.deepEqual(await find('cat', 'old'), []);
    assert.deepEqual(await find('cat', 'deleted'), []);
    assert.deepEqual(await find('cat', 'secret'), []);
    assert.deepEqual(await find('bob', 'secret'), [secret.id]);
    const word3 = ids.filter((_, i) => i % 7 === 3).reverse();
    assert.deepEqual(await find('cat', 'word3 common', 1000), word3);
    // Every message holds what an append of its text would write; the cursor is gone.
    const rows = await admin<{ id: number; text: string }>(
      `SELECT id::int, text FROM ${schema}.messages WHERE kind = 'message'`,
    );
    const differ = await admin(
      `SELECT u.id FROM unnest($1::int8[], $2::text[]) AS u (id, vector)
         JOIN ${schema}.messages m ON m.id = u.id
        WHERE m.search IS DISTINCT FROM u.vector::tsvector`,
      [rows.map((r) => r.id), rows.map((r) => searchVector(r.text))],
    );
    assert.deepEqual(differ, []);
    assert.deepEqual(
      await admin(`SELECT key FROM ${schema}.meta WHERE key = 'search_backfill'`),
      [],
    );
    await second.close();
  });

  test('a clientId used on one node is a retry on another', async () => {
    const schema = newSchema();
    const [a, b] = await Promise.all([open(schema), open(schema)]);
    const first = await a.append(msg({ clientId: 'c' }));
    assert.deepEqual(await b.append(msg({ clientId: 'c', text: 'retry' })), {
      message: first.message,
      created: false,
    });
    await Promise.all([a.close(), b.close()]);
  });

  test('membership changes of one room are decided one at a time across nodes', async () => {
    const schema = newSchema();
    const [a, b] = await Promise.all([open(schema), open(schema)]);
    const change = (node: PostgresStore, action: 'create' | 'join', room: string, user: string) =>
      node.appendMember({ room, user, by: user, action, ts: 1, bigRoom: 100 });
    const rooms = Array.from({ length: 8 }, (_, i) => `#r${i}`);
    const creates = await Promise.allSettled(
      rooms.flatMap((room) => [change(a, 'create', room, 'ann'), change(b, 'create', room, 'bob')]),
    );
    assert.equal(creates.filter((r) => r.status === 'fulfilled').length, rooms.length);
    const joins = Array.from({ length: 20 }, (_, i) =>
      change(i % 2 ? a : b, 'join', '#r0', `u${i}`),
    );
    await Promise.all(joins);
    assert.equal((await a.room('#r0'))?.members, 21);
    assert.equal((await b.members('#r0')).length, 21);
    await Promise.all([a.close(), b.close()]);
  });

  test('a refused change draws no id and fails nothing else in its batch', async () => {
    const store = await open(newSchema());
    const writes = await Promise.allSettled([
      store.append(msg()),
      store.appendMember({ room: '#r', user: 'a', by: 'a', action: 'join', ts: 1, bigRoom: 9 }),
      store.appendEdit({ target: 99, from: 'a', to: 'b', text: 'x', ts: 1 }),
      store.appendDelete({ target: 99, from: 'a', to: 'b', ts: 1 }),
      store.append(msg()),
    ]);
    assert.deepEqual(
      writes.map((w) => w.status),
      ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.deepEqual((await store.log(0, 10)).map(eventId), [1, 2]);
    await store.close();
  });

  test('migrates version-2 rooms: empty rooms go, invitations know their inviter', async () => {
    const schema = newSchema();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migrate(client, schema, true, 2);
      await client.query(`SET search_path TO ${schema}`);
      await client.query(`
        INSERT INTO messages (id, kind, ts, sender, recipient, text, actor, action, role) VALUES
          (1, 'member', 1, 'ann', '#live', '', 'ann', 'create', 'owner'),
          (2, 'member', 1, 'mod', '#live', '', 'mod', 'join', 'member'),
          (3, 'member', 1, 'bob', '#live', '', 'mod', 'invite', NULL),
          (4, 'member', 1, 'cat', '#live', '', 'gone', 'invite', NULL),
          (5, 'member', 1, 'eve', '#empty', '', 'eve', 'create', 'owner'),
          (6, 'member', 1, 'eve', '#empty', '', 'eve', 'leave', NULL);
        SELECT setval('messages_id_seq', 6);
        INSERT INTO rooms (name, visibility, history, created_by, created, members) VALUES
          ('#live', 'private', 'all', 'ann', 1, 2), ('#empty', 'public', 'all', 'eve', 1, 0);
        INSERT INTO members (room, nick, role, since) VALUES
          ('#live', 'ann', 'owner', 1), ('#live', 'mod', 'moderator', 2);
        INSERT INTO invites (room, nick) VALUES ('#live', 'bob'), ('#live', 'cat');
        INSERT INTO spans (nick, room, from_id, to_id) VALUES
          ('ann', '#live', 1, NULL), ('mod', '#live', 2, NULL), ('eve', '#empty', 5, 6);`);
    } finally {
      await client.end();
    }
    const store = await open(schema);
    assert.equal(await store.room('#empty'), undefined);
    assert.deepEqual(await store.rooms('cat'), []);
    await checkMigratedRooms(store);
    await store.close();
  });

  test('nodes opening a new schema at once migrate it once', async () => {
    const schema = newSchema();
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(schema)));
    const rows = await admin<{ version: number }>(`SELECT version FROM ${schema}.schema_version`);
    assert.deepEqual(rows, [{ version: SCHEMA_VERSION }]);
    await Promise.all(stores.map((s) => s.append(msg())));
    assert.equal(await stores[0]?.head(), 4);
    await Promise.all(stores.map((s) => s.close()));
  });

  test('accounts that looked alike before keep working, and get look-alike keys once', async () => {
    const schema = newSchema();
    const first = await open(schema);
    await first.accounts.createUser('alice', 'h-alice', 1);
    await first.close();
    // As an older ssechat left it: look-alikes registered, no keys.
    await admin(
      `INSERT INTO ${schema}.users (nick, password, created)
         VALUES ('\u0430lice', 'h-cyrillic', 2), ('ali\u034Fce', 'h-cgj', 3)`,
    );
    await admin(`UPDATE ${schema}.users SET nick_key = NULL`);
    await admin(`DELETE FROM ${schema}.meta WHERE key = 'nick_key_version'`);

    // Two nodes start at once: the migrate lock makes one do the work.
    const [store, other] = await Promise.all([open(schema), open(schema)]);
    await other.close();
    assert.equal(await store.accounts.passwordHash('\u0430lice'), 'h-cyrillic');
    assert.equal(await store.accounts.passwordHash('ali\u034Fce'), 'h-cgj');
    assert.equal(await store.accounts.lookAlike('\uFF41\uFF4C\uFF49\uFF43\uFF45'), 'alice');
    assert.equal(await store.accounts.createUser('\uFF41\uFF4C\uFF49\uFF43\uFF45', 'h', 4), false);
    assert.equal(await store.accounts.createUser('bob', 'h', 4), true);
    await store.close();
    const keys = () =>
      admin<{ nick_key: string }>(`SELECT nick_key FROM ${schema}.users ORDER BY created`);
    const after = await keys();
    assert.deepEqual(
      after.map((r) => r.nick_key),
      ['alice', `${LEGACY_PREFIX}\u0430lice`, `${LEGACY_PREFIX}ali\u034Fce`, 'bob'],
    );
    await (await open(schema)).close();
    assert.deepEqual(await keys(), after);
  });

  test('new look-alike keys (NICK_KEY_VERSION) rebuild at startup, and new collisions keep working', async () => {
    const schema = newSchema();
    const first = await open(schema);
    // Registered when keys did not see capital look-alikes: "BOВ" (Cyrillic В) got a key of its own.
    await first.accounts.createUser('BOB', 'h-bob', 1);
    await first.close();
    await admin(
      `INSERT INTO ${schema}.users (nick, password, created) VALUES ('BO\u0412', 'h-cyrillic', 2)`,
    );
    await admin(`UPDATE ${schema}.users SET nick_key = 'old:' || nick`);
    await admin(
      `UPDATE ${schema}.meta SET value = ${NICK_KEY_VERSION - 1} WHERE key = 'nick_key_version'`,
    );

    const store = await open(schema);
    assert.equal(await store.accounts.passwordHash('BOB'), 'h-bob');
    assert.equal(await store.accounts.passwordHash('BO\u0412'), 'h-cyrillic');
    assert.equal(await store.accounts.lookAlike('\u0392\u039F\u0392'), 'BOB');
    assert.equal(await store.accounts.createUser('\u0392\u039F\u0392', 'h', 3), false);
    await store.close();
    const rows = await admin<{ nick_key: string }>(
      `SELECT nick_key FROM ${schema}.users ORDER BY created`,
    );
    assert.deepEqual(
      rows.map((r) => r.nick_key),
      ['bob', `${LEGACY_PREFIX}BO\u0412`],
    );
  });

  test('refuses a schema from a newer ssechat', async () => {
    const schema = newSchema();
    await (await open(schema)).close();
    await admin(`UPDATE ${schema}.schema_version SET version = 99`);
    await assert.rejects(open(schema), /schema version 99, newer/);
  });

  test('refuses a schema name that would need quoting', async () => {
    await assert.rejects(
      PostgresStore.open({ url, schema: 'Bad-Name', maxOfflinePerUser: 1 }),
      /must be 1 to 63 characters/,
    );
  });

  test('an options parameter in the URL keeps the schema in the search path', async () => {
    const withOptions = `${url}${url.includes('?') ? '&' : '?'}options=-c%20statement_timeout%3D60000`;
    const store = await PostgresStore.open({
      url: withOptions,
      schema: newSchema(),
      maxOfflinePerUser: 1,
    });
    const { message } = await store.append(msg());
    assert.equal(await store.head(), message.id);
    await store.close();
  });

  test('a database that cannot write: appends fail as unavailable, ping fails until a write works', async () => {
    const schema = newSchema();
    const store = await open(schema);
    await store.append(msg({ text: 'before' }));
    await store.ping();
    // A trigger stands in for a full disk: every insert or update fails with SQLSTATE 53100.
    await admin(`CREATE FUNCTION ${schema}.refuse_write() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$;
      CREATE TRIGGER refuse_write BEFORE INSERT OR UPDATE ON ${schema}.messages
        FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse_write();
      CREATE TRIGGER refuse_write BEFORE INSERT OR UPDATE ON ${schema}.meta
        FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse_write();`);
    const failed = await store.append(msg({ text: 'refused' })).catch((err: unknown) => err);
    assert.equal((failed as { code?: string }).code, '53100');
    assert.equal(isStoreUnavailable(failed), true);
    await assert.rejects(store.ping(), /the store cannot write: could not extend file \(53100\)/);
    await assert.rejects(store.ping(), /53100/);
    await admin(
      `DROP TRIGGER refuse_write ON ${schema}.messages; DROP TRIGGER refuse_write ON ${schema}.meta`,
    );
    await store.ping();
    await store.ping();
    assert.deepEqual(
      (await store.history('a', 'b', Number.MAX_SAFE_INTEGER, 10)).map((m) => m.text),
      ['before'],
    );
    await store.close();
  });

  test('open fails when the server cannot be reached', async () => {
    const closed = 'postgres://postgres@127.0.0.1:1/test';
    await assert.rejects(PostgresStore.open({ url: closed, maxOfflinePerUser: 1 }), /ECONNREFUSED/);
  });
});
