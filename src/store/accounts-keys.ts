import type Database from 'better-sqlite3';
import type pg from 'pg';
import { NICK_KEY_VERSION, nickKey } from '../domain/confusables.js';

// The look-alike key of each account (core/confusables.ts nickKey), in the users table's
// nick_key column under a unique index: a registration whose key an account already has is
// refused by the same INSERT that would add it, so two processes cannot both register
// look-alikes. Accounts from before the column existed get their keys at startup, here.
//
// Accounts registered before may already look alike ("alice" and "аlice"). They must keep
// working, and the migration must not fail on them: the oldest keeps the real key (which new
// registrations then meet), each later one gets LEGACY_PREFIX + its nick, unique since nicks
// are, and never equal to a real key (nicks, and so keys, have no private-use character).
// Since every row ends up with a key, the work is done once; it is done again for every row
// when NICK_KEY_VERSION changes (new confusables data, or a new way of making keys), since
// old keys then compare with nothing. Accounts that only the new keys join (version 2 joined
// "BOB" and "BOВ") are settled the same way: the older keeps the key, the later one its nick.

/** Starts the key of an account that already looked like an older one (see above). */
export const LEGACY_PREFIX = '\uE000';

/** Where the store records the NICK_KEY_VERSION its keys were made with. */
const META_KEY = 'nick_key_version';

/** An account and its stored key, null when it has none yet. */
interface KeyRow {
  readonly nick: string;
  readonly nick_key: string | null;
}

/**
 * The keys to store for the accounts without one: `rows` is every account, oldest first, so
 * that of two look-alikes the older one keeps the real key.
 */
export function planNickKeys(rows: readonly KeyRow[]): [nick: string, key: string][] {
  const taken = new Set<string>();
  for (const row of rows) if (row.nick_key !== null) taken.add(row.nick_key);
  const plan: [string, string][] = [];
  for (const { nick, nick_key } of rows) {
    if (nick_key !== null) continue;
    let key = nickKey(nick);
    if (taken.has(key)) key = LEGACY_PREFIX + nick;
    taken.add(key);
    plan.push([nick, key]);
  }
  return plan;
}

const MISSING_SQL = 'SELECT 1 FROM users WHERE nick_key IS NULL LIMIT 1';

/**
 * Gives every account of a SQLite database its key (see above). Reads first, without the
 * write lock, so that a server starting beside a busy one waits only when there is work.
 */
export function backfillSqliteNickKeys(db: Database.Database): void {
  const version = (): number | undefined =>
    (
      db.prepare('SELECT value FROM meta WHERE key = ?').get(META_KEY) as
        | { value: number }
        | undefined
    )?.value;
  if (version() === NICK_KEY_VERSION && db.prepare(MISSING_SQL).get() === undefined) return;
  db.transaction(() => {
    if (version() !== NICK_KEY_VERSION) db.prepare('UPDATE users SET nick_key = NULL').run();
    // BINARY: the column's NOCASE collation would order "Bob" and "bob" alike.
    const rows = db
      .prepare('SELECT nick, nick_key FROM users ORDER BY created, nick COLLATE BINARY')
      .all() as KeyRow[];
    const update = db.prepare('UPDATE users SET nick_key = ? WHERE nick = ? COLLATE BINARY');
    for (const [nick, key] of planNickKeys(rows)) update.run(key, nick);
    db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(META_KEY, NICK_KEY_VERSION);
  }).immediate();
}

/**
 * Gives every account of a PostgreSQL schema its key (see above), on `client`, inside the
 * migration's transaction (which holds the migrate lock, so nodes starting at once do it once).
 * The table lock keeps out registrations of nodes already running until the keys are in:
 * one of them could otherwise take a key planned here, and fail the whole migration.
 */
export async function backfillPostgresNickKeys(client: pg.ClientBase): Promise<void> {
  const { rows: meta } = await client.query<{ value: number }>(
    'SELECT value FROM meta WHERE key = $1',
    [META_KEY],
  );
  const current = meta[0]?.value === NICK_KEY_VERSION;
  if (current && (await client.query(MISSING_SQL)).rowCount === 0) return;
  // Logins read the table meanwhile; only writes wait.
  await client.query('LOCK TABLE users IN EXCLUSIVE MODE');
  if (!current) await client.query('UPDATE users SET nick_key = NULL');
  const { rows } = await client.query<KeyRow>(
    'SELECT nick, nick_key FROM users ORDER BY created, nick COLLATE "C"',
  );
  const plan = planNickKeys(rows);
  if (plan.length > 0) {
    await client.query(
      `UPDATE users SET nick_key = k.key
         FROM unnest($1::text[], $2::text[]) AS k (nick, key) WHERE users.nick = k.nick`,
      [plan.map(([nick]) => nick), plan.map(([, key]) => key)],
    );
  }
  await client.query(
    `INSERT INTO meta (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    [META_KEY, NICK_KEY_VERSION],
  );
}
