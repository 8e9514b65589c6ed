import Database from 'better-sqlite3';
import { backfillSqliteNickKeys } from '../accounts-keys.js';
import { NewerSchemaError } from '../newer-schema.js';

// Each entry migrates the schema from version i to i+1; PRAGMA user_version records how many
// ran. Append new steps, never edit old ones: databases in the field have run them. A step is
// SQL, or a function for what SQL alone cannot say (it runs in the step's transaction).
const MIGRATIONS: ReadonlyArray<string | ((db: Database.Database) => void)> = [
  `CREATE TABLE messages (
     -- A plain rowid: the next id is the highest plus one. Rows are never deleted, so ids
     -- are never reused. A future retention job must keep the newest row, or switch to
     -- AUTOINCREMENT, which costs about a third more per insert (measured on this machine).
     id        INTEGER PRIMARY KEY,
     ts        INTEGER NOT NULL,
     sender    TEXT    NOT NULL,
     recipient TEXT    NOT NULL,
     text      TEXT    NOT NULL
   );
   CREATE TABLE offline (
     recipient  TEXT    NOT NULL,
     message_id INTEGER NOT NULL REFERENCES messages(id),
     PRIMARY KEY (recipient, message_id)
   ) WITHOUT ROWID;`,

  // Read receipts share the messages table, and so its id sequence. The id stays a plain
  // rowid: prune (store.ts) keeps the newest row, so the sequence never restarts.
  `ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'
     CHECK (kind IN ('message', 'read'));
   ALTER TABLE messages ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE messages ADD COLUMN client_id TEXT;
   -- The id of the last message a receipt covers; NULL for messages.
   ALTER TABLE messages ADD COLUMN up_to INTEGER;
   -- Version 1 did not store the flag; a message still waiting in a mailbox was sent offline.
   -- Those already handed out read back as live: the version-1 rows cannot tell.
   UPDATE messages SET offline = 1 WHERE id IN (SELECT message_id FROM offline);
   -- Makes a retried send idempotent, also against a second process on the same file.
   CREATE UNIQUE INDEX messages_client_id ON messages (sender, client_id)
     WHERE client_id IS NOT NULL;
   -- since() and history() read one person's entries in id order from these.
   CREATE INDEX messages_recipient ON messages (recipient, id);
   CREATE INDEX messages_sender ON messages (sender, id);
   -- Without it, every message prune deletes makes the foreign key check scan all mailboxes.
   CREATE INDEX offline_message ON offline (message_id);
   CREATE TABLE meta (
     key   TEXT PRIMARY KEY,
     value INTEGER NOT NULL
   ) WITHOUT ROWID;
   -- NOCASE folds ASCII letters only, which is what the AccountStore contract asks.
   CREATE TABLE users (
     nick     TEXT    PRIMARY KEY COLLATE NOCASE,
     password TEXT    NOT NULL,
     created  INTEGER NOT NULL
   ) WITHOUT ROWID;
   -- No foreign key to users: with auth=open, stream tickets are issued to unregistered nicks.
   -- A rowid table on purpose: the rowid breaks ties of created when listing, oldest first.
   CREATE TABLE credentials (
     secret_hash TEXT    PRIMARY KEY,
     id          TEXT    NOT NULL UNIQUE,
     kind        TEXT    NOT NULL CHECK (kind IN ('session', 'token', 'ticket')),
     nick        TEXT    NOT NULL,
     label       TEXT    NOT NULL,
     created     INTEGER NOT NULL,
     expires     INTEGER NOT NULL
   );
   CREATE INDEX credentials_nick ON credentials (nick, kind);`,

  // Rooms, edits and deletes. Their log entries share the messages table (and so its id
  // sequence), which needs a wider CHECK on kind: SQLite cannot alter a CHECK, so the table is
  // rebuilt with its ids. DROP TABLE of a parent runs an implicit DELETE that the mailbox's
  // foreign key would refuse (and PRAGMA foreign_keys cannot be turned off inside this
  // transaction), so the mailbox is copied aside, dropped first and rebuilt after.
  // Columns by kind: sender is the member change's user (the edit's or delete's from),
  // recipient its room (their to), up_to the edit's or delete's target; actor, action, role
  // and quiet are the member change's; edited and deleted are a message's state.
  `CREATE TABLE messages_v3 (
     id        INTEGER PRIMARY KEY,
     ts        INTEGER NOT NULL,
     sender    TEXT    NOT NULL,
     recipient TEXT    NOT NULL,
     text      TEXT    NOT NULL,
     kind      TEXT    NOT NULL DEFAULT 'message'
       CHECK (kind IN ('message', 'read', 'member', 'edit', 'delete')),
     offline   INTEGER NOT NULL DEFAULT 0,
     client_id TEXT,
     up_to     INTEGER,
     edited    INTEGER,
     deleted   INTEGER NOT NULL DEFAULT 0,
     actor     TEXT,
     action    TEXT CHECK (action IN ('create', 'join', 'invite', 'leave', 'remove', 'role')),
     role      TEXT CHECK (role IN ('owner', 'moderator', 'member')),
     quiet     INTEGER NOT NULL DEFAULT 0
   );
   INSERT INTO messages_v3 (id, ts, sender, recipient, text, kind, offline, client_id, up_to)
     SELECT id, ts, sender, recipient, text, kind, offline, client_id, up_to FROM messages;
   CREATE TABLE offline_v2 AS SELECT recipient, message_id FROM offline;
   DROP TABLE offline;
   DROP TABLE messages;
   ALTER TABLE messages_v3 RENAME TO messages;
   CREATE TABLE offline (
     recipient  TEXT    NOT NULL,
     message_id INTEGER NOT NULL REFERENCES messages(id),
     PRIMARY KEY (recipient, message_id)
   ) WITHOUT ROWID;
   INSERT INTO offline (recipient, message_id) SELECT recipient, message_id FROM offline_v2;
   DROP TABLE offline_v2;
   CREATE INDEX offline_message ON offline (message_id);
   CREATE UNIQUE INDEX messages_client_id ON messages (sender, client_id)
     WHERE client_id IS NOT NULL;
   CREATE INDEX messages_recipient ON messages (recipient, id);
   -- since() reads a viewer's entries to nicks and to all from the first, and their own
   -- membership changes from the second: a busy room's messages are in neither, so a
   -- viewer's replay does not step over what they posted to rooms (the recipient index and
   -- their spans find those). A query uses a partial index only when it repeats its WHERE.
   CREATE INDEX messages_sender ON messages (sender, id) WHERE substr(recipient, 1, 1) <> '#';
   CREATE INDEX messages_members ON messages (sender, id) WHERE kind = 'member';
   -- A delete empties the text of its target's edits; edits are few, so is this index.
   CREATE INDEX messages_edits ON messages (up_to) WHERE kind = 'edit';
   -- members counts the members table's rows of the room, kept by the writer of changes.
   CREATE TABLE rooms (
     name       TEXT    PRIMARY KEY,
     visibility TEXT    NOT NULL CHECK (visibility IN ('public', 'private')),
     history    TEXT    NOT NULL CHECK (history IN ('joined', 'all')),
     created_by TEXT    NOT NULL,
     created    INTEGER NOT NULL,
     members    INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE INDEX rooms_public ON rooms (name) WHERE visibility = 'public';
   -- joined: the id of the change that made them a member, which orders a room's members.
   CREATE TABLE members (
     room   TEXT    NOT NULL REFERENCES rooms(name),
     nick   TEXT    NOT NULL,
     role   TEXT    NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
     joined INTEGER NOT NULL,
     PRIMARY KEY (room, nick)
   ) WITHOUT ROWID;
   CREATE INDEX members_joined ON members (room, joined);
   CREATE INDEX members_nick ON members (nick, room);
   CREATE TABLE invites (
     room TEXT NOT NULL REFERENCES rooms(name),
     nick TEXT NOT NULL,
     PRIMARY KEY (room, nick)
   ) WITHOUT ROWID;
   CREATE INDEX invites_nick ON invites (nick, room);
   -- Membership spans (store.ts): from_id to to_id, both included; to_id NULL while open.
   -- since() and history() read one viewer's spans, which are few, by this key.
   CREATE TABLE spans (
     nick    TEXT    NOT NULL,
     room    TEXT    NOT NULL REFERENCES rooms(name),
     from_id INTEGER NOT NULL,
     to_id   INTEGER,
     PRIMARY KEY (nick, room, from_id)
   ) WITHOUT ROWID;`,

  // The lives of a room (store.ts): a room is removed when its last member leaves, and its
  // name may be created again. created_id, the id of the create that began the room's current
  // life, bounds its history; 0 (the create was pruned) means "from the start", right for a
  // room that never had an earlier life. Rooms already left by everyone are removed, with
  // their invitations. Spans outlive their room (a replay shows what was seen live), so their
  // table is rebuilt without its foreign key (SQLite cannot drop one).
  `ALTER TABLE rooms ADD COLUMN created_id INTEGER NOT NULL DEFAULT 0;
   UPDATE rooms SET created_id = coalesce((
     SELECT max(id) FROM messages m
      WHERE m.kind = 'member' AND m.sender = rooms.created_by AND m.action = 'create'
        AND m.recipient = rooms.name), 0);
   -- Who gave each invitation: it lapses when they leave or are removed. Found in the log
   -- where retention left it; an invitation from someone who already left lapses now.
   ALTER TABLE invites ADD COLUMN invited_by TEXT;
   UPDATE invites SET invited_by = (
     SELECT actor FROM messages m
      WHERE m.kind = 'member' AND m.sender = invites.nick AND m.action = 'invite'
        AND m.recipient = invites.room
      ORDER BY m.id DESC LIMIT 1);
   DELETE FROM invites WHERE invited_by IS NOT NULL AND NOT EXISTS (
     SELECT 1 FROM members m WHERE m.room = invites.room AND m.nick = invites.invited_by);
   CREATE INDEX invites_by ON invites (room, invited_by);
   CREATE TABLE spans_v4 (
     nick    TEXT    NOT NULL,
     room    TEXT    NOT NULL,
     from_id INTEGER NOT NULL,
     to_id   INTEGER,
     PRIMARY KEY (nick, room, from_id)
   ) WITHOUT ROWID;
   INSERT INTO spans_v4 (nick, room, from_id, to_id) SELECT nick, room, from_id, to_id FROM spans;
   DROP TABLE spans;
   ALTER TABLE spans_v4 RENAME TO spans;
   DELETE FROM invites WHERE room IN (SELECT name FROM rooms WHERE members = 0);
   DELETE FROM rooms WHERE members = 0;
   -- Public rooms are listed with the most members first (sqlite-rooms.ts).
   DROP INDEX rooms_public;
   CREATE INDEX rooms_listed ON rooms (members DESC, name) WHERE visibility = 'public';
   -- The room creation rate reads a user's newest creates (room-rules.ts).
   CREATE INDEX messages_creates ON messages (sender, id)
     WHERE kind = 'member' AND action = 'create';`,

  // The look-alike key of each nick (core/confusables.ts): a nick whose key an account has is
  // refused by the INSERT itself, even against another process. NULL until the startup
  // backfill (accounts-keys.ts, run by migrate below) computes it, which a SQL step cannot.
  `ALTER TABLE users ADD COLUMN nick_key TEXT;
   CREATE UNIQUE INDEX users_nick_key ON users (nick_key);`,
  // An account's registration point: the log's head when it was made. What was addressed to
  // its nick at or below it is not the account's (store.ts). Accounts made before this step
  // get 0 and keep seeing what they saw.
  `ALTER TABLE users ADD COLUMN registered INTEGER NOT NULL DEFAULT 0;`,
  // The order of a user's invitations: at MAX_INVITES_PER_USER a new one replaces the oldest
  // (room-rules.ts). invited_id is the log id of the invitation; found in the log where
  // retention left it, else 0 (oldest of all).
  `ALTER TABLE invites ADD COLUMN invited_id INTEGER NOT NULL DEFAULT 0;
   UPDATE invites SET invited_id = coalesce((
     SELECT max(id) FROM messages m
      WHERE m.kind = 'member' AND m.sender = invites.nick AND m.action = 'invite'
        AND m.recipient = invites.room), 0);
   CREATE INDEX invites_oldest ON invites (nick, invited_id);`,
  // Notifications (store/notify-store.ts, store/push-store.ts). mentions: the nicks a message
  // (or an edit's new text) mentions, space-separated (nicks hold no spaces), NULL for none;
  // mention_rows has one row per user a message or edit notified, which unread counts and
  // pushes read by nick. Markers, levels, attention and push state are per user, outside
  // the log; retention deletes mention_rows with their event (prune). added: of an edit's
  // mentions, those its target did not have before (they alone are notified), NULL for none.
  // members_folded: a room's mentions are found among its members by ASCII-folded nick.
  `ALTER TABLE messages ADD COLUMN mentions TEXT;
   ALTER TABLE messages ADD COLUMN added TEXT;
   CREATE INDEX members_folded ON members (room, lower(nick));
   CREATE TABLE mention_rows (
     nick      TEXT    NOT NULL,
     event_id  INTEGER NOT NULL,
     target    INTEGER NOT NULL,
     recipient TEXT    NOT NULL,
     PRIMARY KEY (nick, event_id)
   ) WITHOUT ROWID;
   CREATE INDEX mention_rows_event ON mention_rows (event_id);
   CREATE TABLE read_markers (
     nick         TEXT    NOT NULL,
     conversation TEXT    NOT NULL,
     up_to        INTEGER NOT NULL,
     PRIMARY KEY (nick, conversation)
   ) WITHOUT ROWID;
   CREATE TABLE notify_levels (
     nick         TEXT NOT NULL,
     conversation TEXT NOT NULL,
     level        TEXT NOT NULL CHECK (level IN ('all', 'mentions', 'none')),
     PRIMARY KEY (nick, conversation)
   ) WITHOUT ROWID;
   CREATE TABLE attention (
     nick   TEXT    NOT NULL,
     client TEXT    NOT NULL,
     until  INTEGER NOT NULL,
     PRIMARY KEY (nick, client)
   ) WITHOUT ROWID;
   CREATE TABLE push_subscriptions (
     endpoint TEXT    PRIMARY KEY,
     nick     TEXT    NOT NULL,
     p256dh   TEXT    NOT NULL,
     auth     TEXT    NOT NULL,
     session  TEXT    NOT NULL,
     created  INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX push_subscriptions_nick ON push_subscriptions (nick, created);
   CREATE INDEX push_subscriptions_session ON push_subscriptions (session);
   -- Per-user settings (hide_text: push shows "New message" only) and the server's VAPID
   -- keys (key 'vapid'), as text.
   CREATE TABLE user_settings (
     nick      TEXT    PRIMARY KEY,
     hide_text INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   CREATE TABLE secrets (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) WITHOUT ROWID;`,

  // Uploads (uploads-store.ts). A message's attachments are copied onto it as JSON when it is
  // appended, so the hot reads need no join; the uploads rows decide who may fetch the bytes
  // (message_id, NULL while unsent) and which blobs are still referred to. blob_trash lists
  // blob keys whose last upload went, for the collector (core/uploads.ts).
  `ALTER TABLE messages ADD COLUMN attachments TEXT;
   CREATE TABLE uploads (
     id         TEXT    PRIMARY KEY,
     owner      TEXT    NOT NULL,
     name       TEXT    NOT NULL,
     size       INTEGER NOT NULL,
     type       TEXT    NOT NULL,
     width      INTEGER,
     height     INTEGER,
     blob       TEXT    NOT NULL,
     thumb      TEXT,
     created    INTEGER NOT NULL,
     message_id INTEGER
   ) WITHOUT ROWID;
   CREATE INDEX uploads_owner ON uploads (owner, created);
   CREATE INDEX uploads_message ON uploads (message_id) WHERE message_id IS NOT NULL;
   CREATE INDEX uploads_unsent ON uploads (created) WHERE message_id IS NULL;
   CREATE INDEX uploads_blob ON uploads (blob);
   CREATE INDEX uploads_thumb ON uploads (thumb) WHERE thumb IS NOT NULL;
   CREATE TABLE blob_trash (
     key   TEXT    PRIMARY KEY,
     since INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX blob_trash_since ON blob_trash (since);`,

  // Search (sqlite/search.ts): an FTS5 index of the messages' tokens (domain/search-text.ts),
  // contentless: doc holds a message's words, aud its audience (who it is to and from), so
  // that a search reads only its reader's conversations from the index. prefix='2 3' keeps the two- and three-letter prefixes of every token, so a
  // short prefix query (MIN_PREFIX) reads one list instead of merging every word it starts.
  // The messages already here are indexed after startup, in the background, newest first:
  // search_backfill is the highest id still to index (SqliteSearch.backfill).
  `CREATE VIRTUAL TABLE messages_fts USING fts5(doc, aud, content = '', contentless_delete = 1,
     tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
   INSERT INTO meta (key, value)
     SELECT 'search_backfill', max(id) FROM messages WHERE kind = 'message' HAVING max(id) > 0;`,
  // Profiles (store/profiles-store.ts): a display name and an avatar beside an account. The
  // avatar is the thumbnail of an upload the profile took over: avatar_key keeps that blob
  // from the collector (garbage() looks here too). display_key is the name in lower case,
  // for the directory's prefix search.
  `CREATE TABLE profiles (
     nick         TEXT    PRIMARY KEY COLLATE NOCASE,
     display_name TEXT,
     display_key  TEXT,
     avatar       TEXT,
     avatar_key   TEXT,
     updated      INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX profiles_avatar_key ON profiles (avatar_key) WHERE avatar_key IS NOT NULL;
   -- The directory's prefix search by name (profiles.ts directory): a range of this index.
   CREATE INDEX profiles_display ON profiles (display_key);`,

  // Deleted accounts' reserved nicks (issue 22).
  `-- Deleted accounts (accounts.ts deleteUser): the nick and every look-alike of it (nick_key)
   -- cannot be registered again before \`until\` (ms since the epoch), so nobody takes the
   -- name of someone who just left. One row per key; a later deletion moves \`until\`.
   CREATE TABLE departed (
     nick_key TEXT    PRIMARY KEY,
     nick     TEXT    NOT NULL,
     until    INTEGER NOT NULL
   ) WITHOUT ROWID;`,

  // Replies (store.ts, "Replies"): the id of the message a message answers; NULL for none and
  // for every other kind. Its preview is read through the target's id (the primary key), so
  // no index.
  'ALTER TABLE messages ADD COLUMN reply_to INTEGER;',

  // Reactions (store.ts, Reactions): logged in messages as kind 'react' (text: the emoji,
  // up_to: the target, deleted: taken back), and one row per (message, emoji, user) in
  // reactions, with the id of the event that added it (a message's reactions are listed in
  // that order). The wider CHECK on kind is written into the schema text (SQLite's "other
  // kinds of table schema changes", lang_altertable.html section 7) instead of rebuilding the
  // table as step 3 did: allowing one more value cannot make a stored row invalid, and a
  // rebuild rewrites every row (seconds on a million messages, at startup, holding the lock).
  loosenKindCheck,

  // Server admins and the audit log (issue 23, domain/audit.ts, store/audit-store.ts).
  `-- A server-wide role: admins act as owners of every room and reach /api/v1/admin.
   ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
   -- The audit log: every admin and moderator action, written in the transaction of the
   -- change it records. AUTOINCREMENT: an id is never reused, even if the newest row were
   -- ever removed by hand. Append-only: the triggers refuse every UPDATE and DELETE (DROP
   -- TABLE drops them first, so a migration test can still undo the step), and retention
   -- never touches it. detail is JSON.
   CREATE TABLE audit (
     id      INTEGER PRIMARY KEY AUTOINCREMENT,
     ts      INTEGER NOT NULL,
     actor   TEXT    NOT NULL,
     action  TEXT    NOT NULL,
     target  TEXT,
     room    TEXT,
     message INTEGER,
     reason  TEXT    NOT NULL DEFAULT '',
     detail  TEXT
   );
   -- Pages newest first by id, narrowed by one of these (AuditStore.list).
   CREATE INDEX audit_actor ON audit (actor, id);
   CREATE INDEX audit_target ON audit (target, id);
   CREATE INDEX audit_action ON audit (action, id);
   CREATE INDEX audit_room ON audit (room, id);
   CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
     BEGIN SELECT RAISE(ABORT, 'audit rows are never changed'); END;
   CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
     BEGIN SELECT RAISE(ABORT, 'audit rows are never deleted'); END;`,
  // Sanctions (issue 23; core/sanctions.ts): a user's ban or mute, one row per kind, kept
  // after it expires (until the next change) but only in force while until is 0 or ahead;
  // and bans of client addresses (open mode), each a network (an IPv4 /32 or IPv6 /64),
  // read whole by every process every second (MAX_ADDRESS_BANS).
  `CREATE TABLE sanctions (
     nick   TEXT    NOT NULL,
     kind   TEXT    NOT NULL CHECK (kind IN ('ban', 'mute')),
     since  INTEGER NOT NULL,
     until  INTEGER NOT NULL,
     reason TEXT    NOT NULL,
     "by"   TEXT    NOT NULL,
     PRIMARY KEY (nick, kind)
   ) WITHOUT ROWID;
   CREATE TABLE address_bans (
     id     INTEGER PRIMARY KEY AUTOINCREMENT,
     prefix TEXT    NOT NULL,
     since  INTEGER NOT NULL,
     until  INTEGER NOT NULL,
     reason TEXT    NOT NULL,
     "by"   TEXT    NOT NULL
   );
   CREATE INDEX address_bans_prefix ON address_bans (prefix);`,
  // Reports of messages (issue 23, domain/reports.ts, store/reports-store.ts). One open report
  // per (message, reporter): a repeat finds it (reports_open_once). room is the message's room
  // (NULL for a direct message or a broadcast): a room's owners and moderators read its
  // reports through reports_room. Kept when the message is deleted or pruned (the report
  // then shows it as deleted); a report holds no copy of the text.
  `CREATE TABLE reports (
     id         INTEGER PRIMARY KEY AUTOINCREMENT,
     message    INTEGER NOT NULL,
     reporter   TEXT    NOT NULL,
     reason     TEXT    NOT NULL,
     ts         INTEGER NOT NULL,
     room       TEXT,
     status     TEXT    NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'dismissed', 'actioned')),
     outcome    TEXT    CHECK (outcome IN ('dismiss', 'delete', 'mute', 'ban', 'kick')),
     handled_by TEXT,
     handled_ts INTEGER,
     note       TEXT    NOT NULL DEFAULT ''
   );
   CREATE UNIQUE INDEX reports_open_once ON reports (message, reporter) WHERE status = 'open';
   CREATE INDEX reports_reporter ON reports (reporter, id);
   CREATE INDEX reports_room ON reports (room, id);
   CREATE INDEX reports_status ON reports (status, id);`,

  // Last seen (roster-store.ts, issue 23): ms since the epoch when a stream of the account last
  // opened or closed, written in batches at most once a minute (core/last-seen.ts); 0: never.
  'ALTER TABLE users ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;',

  // Registration (issue 23; registration-store.ts): the mode an admin set at runtime (one
  // row; NULL or no row: the --registration flag), and the invite links. An invite keeps only
  // the hash of its code; seq orders the list (newest first); the partial index serves the
  // count of active invites (MAX_ACTIVE_INVITES). Not `invites`: that table is the rooms'.
  `CREATE TABLE server_settings (
     id           INTEGER PRIMARY KEY CHECK (id = 1),
     registration TEXT CHECK (registration IN ('open', 'invite', 'closed'))
   );
   CREATE TABLE invite_links (
     seq        INTEGER PRIMARY KEY AUTOINCREMENT,
     id         TEXT    NOT NULL UNIQUE,
     code_hash  TEXT    NOT NULL UNIQUE,
     created_by TEXT    NOT NULL,
     created    INTEGER NOT NULL,
     expires    INTEGER NOT NULL,
     max_uses   INTEGER NOT NULL CHECK (max_uses >= 1),
     uses       INTEGER NOT NULL DEFAULT 0,
     revoked    INTEGER NOT NULL DEFAULT 0,
     CHECK (uses <= max_uses)
   );
   CREATE INDEX invite_links_active ON invite_links (expires)
     WHERE revoked = 0 AND uses < max_uses;
   -- Who registered with which invite, and when (GET /api/v1/admin/invites/<id>): a row per
   -- use, written in the account's transaction; kept when the account goes, as history.
   CREATE TABLE invite_uses (
     invite TEXT   NOT NULL,
     nick   TEXT   NOT NULL,
     ts     INTEGER NOT NULL,
     PRIMARY KEY (invite, nick)
   );`,
  // Blocks (issue 23, store/blocks-store.ts): who blocked whom, and since when. blocks_blocked
  // serves the reverse look-ups (who among a room's members blocked a sender). `withheld` marks
  // a log entry addressed to a nick that is never shown to that nick (its sender was blocked
  // when it was written, or it is about a withheld message); decided in the append's
  // transaction, so an unblock does not bring it back. Its sender sees it as any other.
  `CREATE TABLE blocks (
     blocker TEXT    NOT NULL,
     blocked TEXT    NOT NULL,
     since   INTEGER NOT NULL,
     PRIMARY KEY (blocker, blocked)
   ) WITHOUT ROWID;
   CREATE INDEX blocks_blocked ON blocks (blocked, blocker);
   ALTER TABLE messages ADD COLUMN withheld INTEGER NOT NULL DEFAULT 0;`,
];

/**
 * The reactions step: adds 'react' to the messages table's CHECK on kind by editing its
 * CREATE TABLE text in sqlite_schema, then bumps schema_version so that every connection
 * (this one too) reads the schema again, as SQLite documents; and creates the reactions table.
 * better-sqlite3 opens connections in defensive mode, which forbids writing sqlite_schema,
 * so it is lifted for this step only. Runs inside migrate's transaction.
 */
function loosenKindCheck(db: Database.Database): void {
  const before = "CHECK (kind IN ('message', 'read', 'member', 'edit', 'delete'))";
  const after = "CHECK (kind IN ('message', 'read', 'member', 'edit', 'delete', 'react'))";
  const table = db
    .prepare<[], { sql: string }>(
      "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'messages'",
    )
    .get();
  // A table that has the wider CHECK already (the migration tests take a current database
  // back to an older version, and cannot narrow a CHECK) is left as it is.
  if (!table?.sql.includes(after)) {
    if (table?.sql.split(before).length !== 2) {
      throw new Error('the reactions step: the messages table lacks the CHECK on kind it edits');
    }
    const version = db.pragma('schema_version', { simple: true }) as number;
    db.unsafeMode(true);
    try {
      db.pragma('writable_schema = ON');
      db.prepare("UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'messages'").run(
        table.sql.replace(before, after),
      );
      db.pragma(`schema_version = ${version + 1}`);
      db.pragma('writable_schema = OFF');
    } finally {
      db.unsafeMode(false);
    }
  }
  db.exec(`CREATE TABLE reactions (
     message_id INTEGER NOT NULL,
     emoji      TEXT    NOT NULL,
     nick       TEXT    NOT NULL,
     event_id   INTEGER NOT NULL,
     ts         INTEGER NOT NULL,
     PRIMARY KEY (message_id, emoji, nick)
   ) WITHOUT ROWID;`);
}

/** The schema version this ssechat writes; a database with a higher one is refused. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The first schema version with the search index (for the backfill's migration test). */
export const SEARCH_VERSION =
  MIGRATIONS.findIndex((m) => typeof m === 'string' && m.includes('messages_fts')) + 1;

/** The first schema version with reactions (for the migration test of that step). */
export const REACTIONS_VERSION = MIGRATIONS.indexOf(loosenKindCheck) + 1;

/**
 * Brings the database at `path` up to SCHEMA_VERSION, one transaction per step, and gives
 * accounts their look-alike keys (backfillSqliteNickKeys), or throws when
 * it was written by a newer ssechat (whose schema this one cannot know). Each step takes the
 * write lock first (IMMEDIATE) and reads the version under it: a server and a command line
 * opening a new file at once must not both run step 1. `upTo` stops at an older version
 * (for the migration tests, which fill a database as an earlier ssechat left it).
 */
export function migrate(db: Database.Database, path: string, upTo = SCHEMA_VERSION): void {
  const step = db.transaction((): boolean => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new NewerSchemaError(`database ${path}`, current, SCHEMA_VERSION);
    }
    if (current >= upTo) return false;
    const migration = MIGRATIONS[current];
    if (typeof migration === 'function') migration(db);
    else db.exec(migration as string);
    db.pragma(`user_version = ${current + 1}`);
    return true;
  });
  // The usual case, a current schema, needs no write lock: a busy server keeps its own.
  if (db.pragma('user_version', { simple: true }) !== upTo) {
    while (step.immediate()) {
      // One step per transaction, until the schema is current.
    }
  }
  // The keys live in the column of step 5; a migration test that stops short of it has none.
  if (upTo >= 5) backfillSqliteNickKeys(db);
}

/** A database file that failed its integrity check; `code` is SQLite's for corruption. */
export class DamagedDatabaseError extends Error {
  override readonly name = 'DamagedDatabaseError';
  readonly code = 'SQLITE_CORRUPT';
}

/**
 * Most problems quick_check reports before it stops: the first names the damage, and the
 * count says how much; a badly damaged file could list thousands.
 */
const QUICK_CHECK_MAX_ERRORS = 10;

/**
 * Runs PRAGMA quick_check on the database at `path` and throws a DamagedDatabaseError, with
 * the first problem it found, unless it says ok. quick_check reads every page and checks the
 * b-trees' structure, but not that each index matches its table (integrity_check does that,
 * about seven times slower): enough to refuse a file whose pages were overwritten or cut.
 * It runs on a read-only connection of its own, opened beside the store's (which has set up
 * WAL, so a WAL left by a crash is read too): the same check on a read-write connection took
 * 3.3 to 4.9 s instead of 0.5 to 0.9 s on a file of 1 million messages (181 MB).
 */
export function checkIntegrity(path: string): void {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  let rows: Array<{ quick_check: string }>;
  try {
    rows = db.pragma(`quick_check(${QUICK_CHECK_MAX_ERRORS})`) as Array<{ quick_check: string }>;
  } finally {
    db.close();
  }
  if (rows.length === 1 && rows[0]?.quick_check === 'ok') return;
  // The answer is rows of lines, headed by "*** in database main ***": keep the problems.
  const problems = rows
    .flatMap((row) => row.quick_check.split('\n'))
    .filter((line) => line !== '' && !line.startsWith('***'));
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  throw new DamagedDatabaseError(`quick_check: ${problems[0] ?? 'no answer'}${more}`);
}

/**
 * Bytes the write probe allocates: more than a page, so that the probe needs the file to grow
 * (or free pages) as an append does. A probe that fit in a page with room left would pass on
 * a file that cannot grow.
 */
const WRITE_PROBE_BYTES = 64 * 1024;

/**
 * A small write that ends where it began, for readiness while writes fail (WriteHealth): one
 * IMMEDIATE transaction that stores WRITE_PROBE_BYTES under a meta key, deletes it, and
 * commits, so that it allocates pages, appends to the WAL and commits as an append does. The
 * row never outlives the transaction, so readers of meta (which holds integers) never see it;
 * the pages it freed are reused by the next writes.
 */
export function writeProbe(db: Database.Database): () => void {
  const put = db.prepare("INSERT INTO meta (key, value) VALUES ('write_probe', zeroblob(?))");
  const drop = db.prepare("DELETE FROM meta WHERE key = 'write_probe'");
  const probe = db.transaction(() => {
    drop.run();
    put.run(WRITE_PROBE_BYTES);
    drop.run();
  });
  return () => probe.immediate();
}
