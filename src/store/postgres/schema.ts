import pg from 'pg';
import { backfillPostgresNickKeys } from '../accounts-keys.js';
import { NewerSchemaError } from '../newer-schema.js';
import {
  IDLE_IN_TRANSACTION_MS,
  LOCK_QUERY_TIMEOUT_MS,
  LOCK_WAIT_MS,
  QUERY_TIMEOUT_MS,
  type TransactionOptions,
} from './client.js';

// Each entry migrates the schema from version i to i+1; the schema_version table records how
// many ran. Append new steps, never edit old ones: databases in the field have run them.
// Version 1 is the SQLite backend's current schema (sqlite-schema.ts, version 2), in
// PostgreSQL's types.
const MIGRATIONS = [
  `-- BIGSERIAL creates messages_id_seq. PostgresStore draws ids from it explicitly, under the
   -- append lock (store.ts), and relies on its default CACHE 1: a cache would hand
   -- each session its own block of ids, so that the order of ids no longer followed commits.
   CREATE TABLE messages (
     id        BIGSERIAL PRIMARY KEY,
     kind      TEXT    NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'read')),
     ts        BIGINT  NOT NULL,
     sender    TEXT    NOT NULL,
     recipient TEXT    NOT NULL,
     text      TEXT    NOT NULL,
     offline   BOOLEAN NOT NULL DEFAULT false,
     client_id TEXT,
     -- The id of the last message a receipt covers; NULL for messages.
     up_to     BIGINT
   );
   -- Makes a retried send idempotent; under the append lock it is only a safety net.
   CREATE UNIQUE INDEX messages_client_id ON messages (sender, client_id)
     WHERE client_id IS NOT NULL;
   -- since() and history() read one person's entries in id order from these.
   CREATE INDEX messages_recipient ON messages (recipient, id);
   CREATE INDEX messages_sender ON messages (sender, id);
   CREATE TABLE offline (
     recipient  TEXT   NOT NULL,
     message_id BIGINT NOT NULL REFERENCES messages (id),
     PRIMARY KEY (recipient, message_id)
   );
   -- Without it, every message prune deletes makes the foreign key check scan all mailboxes.
   CREATE INDEX offline_message ON offline (message_id);
   CREATE TABLE meta (
     key   TEXT   PRIMARY KEY,
     value BIGINT NOT NULL
   );
   CREATE TABLE users (
     nick     TEXT   PRIMARY KEY,
     password TEXT   NOT NULL,
     created  BIGINT NOT NULL
   );
   -- lower() under the C collation folds ASCII letters only, which is what the AccountStore
   -- contract asks: "Bob" and "bob" collide, "Jöhn" and "JÖHN" do not.
   CREATE UNIQUE INDEX users_nick_folded ON users (lower(nick COLLATE "C"));
   -- No foreign key to users: with auth=open, stream tickets are issued to unregistered nicks.
   -- seq breaks ties of created when listing, oldest first (SQLite uses the rowid).
   CREATE TABLE credentials (
     seq         BIGSERIAL,
     secret_hash TEXT   PRIMARY KEY,
     id          TEXT   NOT NULL UNIQUE,
     kind        TEXT   NOT NULL CHECK (kind IN ('session', 'token', 'ticket')),
     nick        TEXT   NOT NULL,
     label       TEXT   NOT NULL,
     created     BIGINT NOT NULL,
     expires     BIGINT NOT NULL
   );
   CREATE INDEX credentials_nick ON credentials (nick, kind);`,
  `-- Rooms, edits and deletes. Membership changes, edits and deletes are logged in messages,
   -- in the one id sequence: sender is the change's user (the edit's or delete's from),
   -- recipient its room (the edit's or delete's to), up_to the target of an edit or delete.
   ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
   ALTER TABLE messages ADD CONSTRAINT messages_kind_check
     CHECK (kind IN ('message', 'read', 'member', 'edit', 'delete'));
   ALTER TABLE messages
     -- A membership change: who did it, what, the user's role afterwards (NULL: not a
     -- member) and whether only its user sees it (store.ts).
     ADD COLUMN actor   TEXT,
     ADD COLUMN action  TEXT CHECK (action IN ('create', 'join', 'invite', 'leave', 'remove', 'role')),
     ADD COLUMN role    TEXT CHECK (role IN ('owner', 'moderator', 'member')),
     ADD COLUMN quiet   BOOLEAN NOT NULL DEFAULT false,
     -- A message: the ts of its last edit, and whether it was deleted (its text is then '').
     ADD COLUMN edited  BIGINT,
     ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false;
   -- A delete empties the texts of its target's edits.
   CREATE INDEX messages_edits ON messages (up_to) WHERE kind = 'edit';
   -- Rooms outlive the log entries that made them: nothing here references messages.
   CREATE TABLE rooms (
     name       TEXT    PRIMARY KEY,
     visibility TEXT    NOT NULL CHECK (visibility IN ('public', 'private')),
     history    TEXT    NOT NULL CHECK (history IN ('joined', 'all')),
     created_by TEXT    NOT NULL,
     created    BIGINT  NOT NULL,
     -- Its rows in members, kept by the writes that change them (postgres-changes.ts).
     members    INTEGER NOT NULL DEFAULT 0
   );
   -- Room listings go by name in byte order (plain JS string order for ASCII names).
   CREATE INDEX rooms_public ON rooms (name COLLATE "C") WHERE visibility = 'public';
   CREATE TABLE members (
     room  TEXT   NOT NULL REFERENCES rooms (name),
     nick  TEXT   NOT NULL,
     role  TEXT   NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
     -- The id of the change that made them a member: members are listed in this order.
     since BIGINT NOT NULL,
     PRIMARY KEY (room, nick)
   );
   CREATE INDEX members_nick ON members (nick);
   CREATE TABLE invites (
     room TEXT NOT NULL REFERENCES rooms (name),
     nick TEXT NOT NULL,
     PRIMARY KEY (room, nick)
   );
   CREATE INDEX invites_nick ON invites (nick);
   -- Membership spans (store.ts): since() and history() read a viewer's spans by nick.
   CREATE TABLE spans (
     nick    TEXT   NOT NULL,
     room    TEXT   NOT NULL REFERENCES rooms (name),
     from_id BIGINT NOT NULL,
     -- NULL while the span is open.
     to_id   BIGINT,
     PRIMARY KEY (nick, room, from_id)
   );`,
  `-- The lives of a room (store.ts): a room is removed when its last member leaves, and its
   -- name may be created again. created_id, the id of the create that began its current life,
   -- bounds its history; 0 (the create was pruned) means from the start, right for a room
   -- that never had an earlier life.
   ALTER TABLE rooms ADD COLUMN created_id BIGINT NOT NULL DEFAULT 0;
   UPDATE rooms r SET created_id = coalesce((
     SELECT max(id) FROM messages m
      WHERE m.kind = 'member' AND m.sender = r.created_by AND m.action = 'create'
        AND m.recipient = r.name), 0);
   -- Who gave each invitation: it lapses when they leave or are removed. Found in the log
   -- where retention left it; an invitation from someone who already left lapses now.
   ALTER TABLE invites ADD COLUMN invited_by TEXT;
   UPDATE invites i SET invited_by = (
     SELECT actor FROM messages m
      WHERE m.kind = 'member' AND m.sender = i.nick AND m.action = 'invite'
        AND m.recipient = i.room
      ORDER BY m.id DESC LIMIT 1);
   DELETE FROM invites i WHERE invited_by IS NOT NULL AND NOT EXISTS (
     SELECT 1 FROM members m WHERE m.room = i.room AND m.nick = i.invited_by);
   CREATE INDEX invites_by ON invites (room, invited_by);
   -- Spans outlive their room: a replay shows its members what they saw live.
   ALTER TABLE spans DROP CONSTRAINT spans_room_fkey;
   -- Rooms already left by everyone go, with their invitations.
   DELETE FROM invites WHERE room IN (SELECT name FROM rooms WHERE members = 0);
   DELETE FROM rooms WHERE members = 0;
   -- Public rooms are listed with the most members first (postgres-rooms.ts).
   DROP INDEX rooms_public;
   CREATE INDEX rooms_listed ON rooms (members DESC, name COLLATE "C")
     WHERE visibility = 'public';
   -- The room creation rate reads a user's newest creates (room-rules.ts).
   CREATE INDEX messages_creates ON messages (sender, id)
     WHERE kind = 'member' AND action = 'create';`,
  `-- The look-alike key of each nick (core/confusables.ts): a nick whose key an account has is
   -- refused by the INSERT itself, even against another node. NULL until the backfill
   -- (accounts-keys.ts, run by migrate below in the same transaction) computes it.
   ALTER TABLE users ADD COLUMN nick_key TEXT;
   CREATE UNIQUE INDEX users_nick_key ON users (nick_key);`,
  `-- An account's registration point: the log's head when it was made. What was addressed to
   -- its nick at or below it is not the account's (store.ts). Accounts made before this step
   -- get 0 and keep seeing what they saw.
   ALTER TABLE users ADD COLUMN registered BIGINT NOT NULL DEFAULT 0;`,
  `-- The order of a user's invitations: at MAX_INVITES_PER_USER a new one replaces the oldest
   -- (room-rules.ts). invited_id is the log id of the invitation; found in the log where
   -- retention left it, else 0 (oldest of all).
   ALTER TABLE invites ADD COLUMN invited_id BIGINT NOT NULL DEFAULT 0;
   UPDATE invites i SET invited_id = coalesce((
     SELECT max(id) FROM messages m
      WHERE m.kind = 'member' AND m.sender = i.nick AND m.action = 'invite'
        AND m.recipient = i.room), 0);
   CREATE INDEX invites_oldest ON invites (nick, invited_id);`,
  `-- Notifications (store/notify-store.ts, store/push-store.ts); see sqlite/schema.ts step 9.
   ALTER TABLE messages ADD COLUMN mentions TEXT, ADD COLUMN added TEXT;
   CREATE INDEX members_folded ON members (room, lower(nick COLLATE "C"));
   CREATE TABLE mention_rows (
     nick      TEXT   NOT NULL,
     event_id  BIGINT NOT NULL,
     target    BIGINT NOT NULL,
     recipient TEXT   NOT NULL,
     PRIMARY KEY (nick, event_id)
   );
   CREATE INDEX mention_rows_event ON mention_rows (event_id);
   CREATE TABLE read_markers (
     nick         TEXT   NOT NULL,
     conversation TEXT   NOT NULL,
     up_to        BIGINT NOT NULL,
     PRIMARY KEY (nick, conversation)
   );
   CREATE TABLE notify_levels (
     nick         TEXT NOT NULL,
     conversation TEXT NOT NULL,
     level        TEXT NOT NULL CHECK (level IN ('all', 'mentions', 'none')),
     PRIMARY KEY (nick, conversation)
   );
   CREATE TABLE attention (
     nick   TEXT   NOT NULL,
     client TEXT   NOT NULL,
     until  BIGINT NOT NULL,
     PRIMARY KEY (nick, client)
   );
   CREATE TABLE push_subscriptions (
     endpoint TEXT   PRIMARY KEY,
     nick     TEXT   NOT NULL,
     p256dh   TEXT   NOT NULL,
     auth     TEXT   NOT NULL,
     session  TEXT   NOT NULL,
     created  BIGINT NOT NULL
   );
   CREATE INDEX push_subscriptions_nick ON push_subscriptions (nick, created);
   CREATE INDEX push_subscriptions_session ON push_subscriptions (session);
   CREATE TABLE user_settings (
     nick      TEXT    PRIMARY KEY,
     hide_text BOOLEAN NOT NULL DEFAULT false
   );
   CREATE TABLE secrets (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  `-- Uploads (uploads-store.ts); see sqlite/schema.ts step 10. attachments is JSON as text,
   -- read back by the same mapper as SQLite's (rows.ts).
   ALTER TABLE messages ADD COLUMN attachments TEXT;
   CREATE TABLE uploads (
     id         TEXT   PRIMARY KEY,
     owner      TEXT   NOT NULL,
     name       TEXT   NOT NULL,
     size       BIGINT NOT NULL,
     type       TEXT   NOT NULL,
     width      INTEGER,
     height     INTEGER,
     blob       TEXT   NOT NULL,
     thumb      TEXT,
     created    BIGINT NOT NULL,
     message_id BIGINT
   );
   CREATE INDEX uploads_owner ON uploads (owner, created);
   CREATE INDEX uploads_message ON uploads (message_id) WHERE message_id IS NOT NULL;
   CREATE INDEX uploads_unsent ON uploads (created) WHERE message_id IS NULL;
   CREATE INDEX uploads_blob ON uploads (blob);
   CREATE INDEX uploads_thumb ON uploads (thumb) WHERE thumb IS NOT NULL;
   CREATE TABLE blob_trash (
     key   TEXT   PRIMARY KEY,
     since BIGINT NOT NULL
   );
   CREATE INDEX blob_trash_since ON blob_trash (since);`,
  `-- Search (store.ts, "Search."; postgres/search.ts): each message's tokens (domain/search-text.ts)
   -- as a tsvector the store writes out itself, never to_tsvector, so that both engines hold
   -- the same tokens; NULL for other kinds, a deleted message and a text without a word.
   -- Without a default, ADD COLUMN changes only the catalog, and the index of a column that
   -- is NULL everywhere is built by one pass over the table that adds no entry: a step of
   -- about a second on a million messages. The index leaves NULLs out (the search's @@
   -- implies IS NOT NULL, so the planner uses it). fastupdate off: each append adds its
   -- entries at once, rather than into a pending list that some later append (holding
   -- the append lock) or a search would have to merge or read through.
   ALTER TABLE messages ADD COLUMN search tsvector;
   CREATE INDEX messages_search ON messages USING gin (search) WITH (fastupdate = off)
     WHERE search IS NOT NULL;
   -- The messages already here are indexed after startup, in the background, newest first:
   -- search_backfill is the highest id still to index (PostgresSearch.backfill).
   INSERT INTO meta (key, value)
     SELECT 'search_backfill', max(id) FROM messages HAVING max(id) > 0;`,
  `-- Profiles (store/profiles-store.ts): a display name and an avatar beside an account, keyed
   -- by the nick as registered. The avatar is the thumbnail of an upload the profile took
   -- over: avatar_key keeps that blob from the collector (garbage() looks here too).
   -- display_key is the name in lower case, for the directory's prefix search.
   CREATE TABLE profiles (
     nick         TEXT   PRIMARY KEY,
     display_name TEXT,
     display_key  TEXT,
     avatar       TEXT,
     avatar_key   TEXT,
     updated      BIGINT NOT NULL
   );
   CREATE INDEX profiles_avatar_key ON profiles (avatar_key) WHERE avatar_key IS NOT NULL;
   -- The directory's prefix search by name (profiles.ts directory): a range of this index.
   CREATE INDEX profiles_display ON profiles (display_key COLLATE "C");`,

  // Deleted accounts' reserved nicks (issue 22).
  `-- Deleted accounts (accounts.ts deleteUser): the nick and every look-alike of it (nick_key)
   -- cannot be registered again before \`until\` (ms since the epoch), so nobody takes the
   -- name of someone who just left. One row per key; a later deletion moves \`until\`.
   CREATE TABLE departed (
     nick_key TEXT   PRIMARY KEY,
     nick     TEXT   NOT NULL,
     until    BIGINT NOT NULL
   );`,
  `-- Replies (store.ts, "Replies"): the id of the message a message answers; NULL for none
   -- and for every other kind. Its preview is read through the target's id (the primary key),
   -- so no index; without a default, ADD COLUMN changes only the catalog.
   ALTER TABLE messages ADD COLUMN reply_to BIGINT;`,
  `-- Reactions (store.ts, Reactions); see sqlite/schema.ts, the reactions step. A reaction is
   -- logged in messages as kind 'react' (text: the emoji, up_to: the target, deleted: taken
   -- back); reactions has one row per (message, emoji, user), with the id of the event that
   -- added it, which orders a message's reactions. IF NOT EXISTS: the migration tests take a
   -- current schema back to an older version and run the later steps again.
   ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
   ALTER TABLE messages ADD CONSTRAINT messages_kind_check
     CHECK (kind IN ('message', 'read', 'member', 'edit', 'delete', 'react'));
   CREATE TABLE IF NOT EXISTS reactions (
     message_id BIGINT NOT NULL,
     emoji      TEXT   NOT NULL,
     nick       TEXT   NOT NULL,
     event_id   BIGINT NOT NULL,
     ts         BIGINT NOT NULL,
     PRIMARY KEY (message_id, emoji, nick)
   );`,
  `-- Server admins and the audit log (issue 23); see sqlite/schema.ts, the admins step. A
   -- server-wide role, and the append-only log of every admin and moderator action, written in
   -- the transaction of the change it records. The trigger refuses every UPDATE, DELETE and
   -- TRUNCATE of it, whatever it would touch; retention never touches it. detail is JSON (as
   -- text, read back as written). IF NOT EXISTS / OR REPLACE: the migration tests take a
   -- current schema back to an older version and run the later steps again.
   ALTER TABLE users ADD COLUMN IF NOT EXISTS admin BOOLEAN NOT NULL DEFAULT false;
   CREATE TABLE IF NOT EXISTS audit (
     id      BIGSERIAL PRIMARY KEY,
     ts      BIGINT NOT NULL,
     actor   TEXT   NOT NULL,
     action  TEXT   NOT NULL,
     target  TEXT,
     room    TEXT,
     message BIGINT,
     reason  TEXT   NOT NULL DEFAULT '',
     detail  TEXT
   );
   -- Pages newest first by id, narrowed by one of these (AuditStore.list).
   CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, id);
   CREATE INDEX IF NOT EXISTS audit_target ON audit (target, id);
   CREATE INDEX IF NOT EXISTS audit_action ON audit (action, id);
   CREATE INDEX IF NOT EXISTS audit_room ON audit (room, id);
   CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       RAISE EXCEPTION 'audit rows are never changed or deleted'
         USING ERRCODE = 'insufficient_privilege';
     END
   $$;
   DROP TRIGGER IF EXISTS audit_append_only ON audit;
   CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
     FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();`,
  // Sanctions (issue 23; core/sanctions.ts): a user's ban or mute, one row per kind, kept
  // after it expires (until the next change) but only in force while until is 0 or ahead;
  // and bans of client addresses (open mode), each a network (an IPv4 /32 or IPv6 /64),
  // read whole by every process every second (MAX_ADDRESS_BANS).
  `CREATE TABLE IF NOT EXISTS sanctions (
     nick   TEXT    NOT NULL,
     kind   TEXT    NOT NULL CHECK (kind IN ('ban', 'mute')),
     since  BIGINT  NOT NULL,
     until  BIGINT  NOT NULL,
     reason TEXT    NOT NULL,
     "by"   TEXT    NOT NULL,
     PRIMARY KEY (nick, kind)
   );
   CREATE TABLE IF NOT EXISTS address_bans (
     id     BIGSERIAL PRIMARY KEY,
     prefix TEXT    NOT NULL,
     since  BIGINT  NOT NULL,
     until  BIGINT  NOT NULL,
     reason TEXT    NOT NULL,
     "by"   TEXT    NOT NULL
   );
   CREATE INDEX IF NOT EXISTS address_bans_prefix ON address_bans (prefix);`,
  `-- Reports of messages (issue 23); see sqlite/schema.ts, the reports step. IF NOT EXISTS:
   -- the migration tests take a current schema back to an older version and run the later
   -- steps again.
   CREATE TABLE IF NOT EXISTS reports (
     id         BIGSERIAL PRIMARY KEY,
     message    BIGINT NOT NULL,
     reporter   TEXT   NOT NULL,
     reason     TEXT   NOT NULL,
     ts         BIGINT NOT NULL,
     room       TEXT,
     status     TEXT   NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'dismissed', 'actioned')),
     outcome    TEXT   CHECK (outcome IN ('dismiss', 'delete', 'mute', 'ban', 'kick')),
     handled_by TEXT,
     handled_ts BIGINT,
     note       TEXT   NOT NULL DEFAULT ''
   );
   CREATE UNIQUE INDEX IF NOT EXISTS reports_open_once ON reports (message, reporter)
     WHERE status = 'open';
   CREATE INDEX IF NOT EXISTS reports_reporter ON reports (reporter, id);
   CREATE INDEX IF NOT EXISTS reports_room ON reports (room, id);
   CREATE INDEX IF NOT EXISTS reports_status ON reports (status, id);`,
  `-- Last seen (roster-store.ts, issue 23); see sqlite/schema.ts, the last_seen step. With a
   -- constant default, ADD COLUMN changes only the catalog.
   ALTER TABLE users ADD COLUMN IF NOT EXISTS last_seen BIGINT NOT NULL DEFAULT 0;`,

  `-- Registration (issue 23; registration-store.ts): the mode an admin set at runtime (one
   -- row; NULL or no row: the --registration flag), and the invite links. An invite keeps only
   -- the hash of its code; seq orders the list (newest first); the partial index serves the
   -- count of active invites (MAX_ACTIVE_INVITES). Not \`invites\`: that table is the rooms'.
   CREATE TABLE server_settings (
     id           INTEGER PRIMARY KEY CHECK (id = 1),
     registration TEXT CHECK (registration IN ('open', 'invite', 'closed'))
   );
   CREATE TABLE invite_links (
     seq        BIGSERIAL PRIMARY KEY,
     id         TEXT    NOT NULL UNIQUE,
     code_hash  TEXT    NOT NULL UNIQUE,
     created_by TEXT    NOT NULL,
     created    BIGINT  NOT NULL,
     expires    BIGINT  NOT NULL,
     max_uses   INTEGER NOT NULL CHECK (max_uses >= 1),
     uses       INTEGER NOT NULL DEFAULT 0,
     revoked    BOOLEAN NOT NULL DEFAULT false,
     CHECK (uses <= max_uses)
   );
   CREATE INDEX invite_links_active ON invite_links (expires)
     WHERE NOT revoked AND uses < max_uses;
   -- Who registered with which invite, and when (GET /api/v1/admin/invites/<id>): a row per
   -- use, written in the account's transaction; kept when the account goes, as history.
   CREATE TABLE invite_uses (
     invite TEXT   NOT NULL,
     nick   TEXT   NOT NULL,
     ts     BIGINT NOT NULL,
     PRIMARY KEY (invite, nick)
   );`,
  `-- Blocks (issue 23); see sqlite/schema.ts, the blocks step. IF NOT EXISTS: the migration
   -- tests take a current schema back to an older version and run the later steps again.
   CREATE TABLE IF NOT EXISTS blocks (
     blocker TEXT   NOT NULL,
     blocked TEXT   NOT NULL,
     since   BIGINT NOT NULL,
     PRIMARY KEY (blocker, blocked)
   );
   CREATE INDEX IF NOT EXISTS blocks_blocked ON blocks (blocked, blocker);
   ALTER TABLE messages ADD COLUMN IF NOT EXISTS withheld BOOLEAN NOT NULL DEFAULT false;`,
];

/** The schema version this ssechat writes; a database with a higher one is refused. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The first schema version with reactions (for the migration test of that step). */
export const REACTIONS_VERSION =
  MIGRATIONS.findIndex((m) => m.includes('TABLE IF NOT EXISTS reactions')) + 1;

/**
 * Classes of the two-key advisory locks ssechat takes (`pg_advisory_xact_lock(class, key)`);
 * the key is schemaKey(schema), so that stores in different schemas of one database do not
 * wait for each other. Advisory locks are database-wide: these numbers only have to differ
 * from those of other applications on the same database.
 */
export const LOCK = {
  /** Held while migrating, so that nodes starting at once run each step once. */
  migrate: 0x55ec_0001,
  /** Held by every append transaction from before it draws ids until it commits. */
  append: 0x55ec_0002,
  /** Held while reading and changing the recorded auth mode. */
  authMode: 0x55ec_0003,
  /** Held while storing a push subscription, so that a user's cap holds across nodes. */
  push: 0x55ec_0004,
} as const;

/**
 * The `lock` of an inTransaction that takes the append lock of the schema whose lock key is
 * `key`: tried with BEGIN, in one round trip (the lock is usually free); when it is busy, the
 * server gives up the wait after LOCK_WAIT_MS (lock_timeout, for this transaction only), and
 * the client takes a connection that has not answered by LOCK_QUERY_TIMEOUT_MS as silent.
 * Both are integers we chose, not input: safe to inline.
 */
export function appendLock(key: number): NonNullable<TransactionOptions['lock']> {
  return {
    attempt: `SET LOCAL lock_timeout = ${LOCK_WAIT_MS}; SELECT pg_try_advisory_xact_lock(${LOCK.append}, ${key}) AS taken`,
    wait: `SELECT pg_advisory_xact_lock(${LOCK.append}, ${key})`,
    timeoutMs: LOCK_QUERY_TIMEOUT_MS,
  };
}

/**
 * Schema names are restricted to lowercase ASCII letters, digits and `_`, at most 63 bytes
 * (PostgreSQL's identifier limit): such a name needs no quoting, neither in SQL nor in the
 * `options` connection parameter, where a space or a backslash would need escaping.
 */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `schema` is a name PostgresStore accepts (see SCHEMA_NAME). */
export function checkSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(
      `PostgreSQL schema "${schema}" must be 1 to 63 characters from a-z 0-9 _, not starting with a digit`,
    );
  }
}

/** The second advisory-lock key for `schema`: FNV-1a, as a signed 32-bit integer. */
export function schemaKey(schema: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < schema.length; i++) {
    h ^= schema.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * The name of the schema the store's tables live in: `schema` when given, else the first
 * existing schema of the connection's search_path. Lock keys hash it, so that a node given
 * `public` and a node given no schema (on a default search_path) take the same locks.
 */
export async function effectiveSchema(
  client: pg.ClientBase,
  schema: string | undefined,
): Promise<string> {
  if (schema !== undefined) return schema;
  const { rows } = await client.query<{ name: string | null }>('SELECT current_schema() AS name');
  const name = rows[0]?.name;
  if (!name) throw new Error('no schema of the PostgreSQL search_path exists: name one');
  return name;
}

/**
 * Brings `schema` (see effectiveSchema) up to SCHEMA_VERSION in one transaction, creating it
 * first when `create` (it was named in the options), and gives accounts their look-alike keys
 * (backfillPostgresNickKeys), or throws when it was written by a newer
 * ssechat (whose schema this one cannot know). The transaction holds the migrate advisory lock
 * from its start, so nodes that start at once queue up: the first migrates, the others find
 * the current version and do nothing. `upTo` stops at an older version (for the migration
 * tests, which fill a schema as an earlier ssechat left it).
 */
export async function migrate(
  client: pg.ClientBase,
  schema: string,
  create: boolean,
  upTo = SCHEMA_VERSION,
): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK.migrate, schemaKey(schema)]);
    if (create) {
      // Inside the lock: two concurrent CREATE SCHEMA IF NOT EXISTS can both try to insert the
      // name and one fails on the catalog's unique index. Looked up first, because CREATE
      // SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even when the schema
      // exists, which a role given only an existing schema (say `public`) lacks.
      const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
        schema,
      ]);
      // The name was checked by checkSchemaName, so it needs no quoting. SET LOCAL makes the
      // new schema the target of what follows even if this connection's search_path was
      // resolved before it existed.
      if (rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`SET LOCAL search_path TO ${schema}`);
    }
    // One row, so that the version is a single value to read and update.
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_version (
         one     BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
         version INTEGER NOT NULL
       )`,
    );
    await client.query('INSERT INTO schema_version (version) VALUES (0) ON CONFLICT DO NOTHING');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new NewerSchemaError(`PostgreSQL schema ${schema}`, current, SCHEMA_VERSION);
    }
    for (let version = current; version < upTo; version++) {
      await client.query(MIGRATIONS[version] as string);
    }
    await client.query('UPDATE schema_version SET version = $1', [Math.max(current, upTo)]);
    // The keys live in the column of step 4; a migration test that stops short of it has none.
    if (upTo >= 4) await backfillPostgresNickKeys(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** How long opening a connection may take before the query that needed it fails. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The pool settings shared by every PostgresStore connection. */
export function poolConfig(url: string, schema: string | undefined, max: number): pg.PoolConfig {
  const settings = [`-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`];
  if (schema !== undefined) settings.push(`-c search_path=${schema}`);
  // pg lets an `options` parameter in the URL replace the one configured here, which would
  // drop the search_path: move it in front of ours instead (a later -c wins).
  let connectionString = url;
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const own = parsed?.searchParams.get('options');
  if (parsed && own) {
    parsed.searchParams.delete('options');
    connectionString = parsed.toString();
    settings.unshift(own);
  }
  return {
    connectionString,
    max,
    options: settings.join(' '),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Every query's answer is awaited this long at most (client.ts), so that a
    // silent connection fails its query instead of hanging it.
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    types: { getTypeParser },
  };
}

// int8 (ids, timestamps, counts) arrives as a string, since it can exceed 2^53. Ours cannot in
// practice: ids would need 285 years at a million appends a second, and ts is ms since 1970.
const INT8 = pg.types.builtins.INT8;
const parseInt8 = (value: string): number => Number(value);

/** The default type parsers, with int8 read as a number; pool-local, never global. */
const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === INT8 && format !== 'binary'
    ? parseInt8
    : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser;
