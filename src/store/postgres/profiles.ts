import type pg from 'pg';
import { ChatError } from '../../domain/errors.js';
import { foldAscii, nameKey } from '../../domain/profile.js';
import {
  AVATAR_TYPES,
  type DirectoryQuery,
  MAX_NAME_MATCHES,
  PROFILE_COLUMNS,
  type Profile,
  type ProfileChange,
  type ProfileRow,
  type ProfileStore,
  toProfile,
} from '../profiles-store.js';
import { inTransaction } from './client.js';

const TYPES = AVATAR_TYPES.map((t) => `'${t}'`).join(', ');

// A key to the garbage list, dated $2 (see dropUploads in uploads.ts).
const TRASH = `INSERT INTO blob_trash (key, since) VALUES ($1, $2)
  ON CONFLICT (key) DO UPDATE SET since = greatest(blob_trash.since, excluded.since)`;

// users_nick_folded (lower(nick COLLATE "C")) finds the account in any ASCII case.
const FOLDED = 'lower(u.nick COLLATE "C")';
/** The highest code point: `p || TOP` bounds every text that starts with p from above. */
const TOP = 'chr(1114111)';

/** The ProfileStore of PostgresStore: the profiles table beside users. */
export class PostgresProfiles implements ProfileStore {
  /**
   * Queries through `pool`; `flush` commits the store's queued appends first (one that
   * attaches an upload goes before the upload becomes an avatar).
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly flush: () => Promise<void>,
  ) {}

  async profile(nick: string): Promise<Profile | undefined> {
    const { rows } = await this.pool.query<ProfileRow>(
      `SELECT ${PROFILE_COLUMNS} FROM users u LEFT JOIN profiles p ON p.nick = u.nick
        WHERE ${FOLDED} = lower($1 COLLATE "C")`,
      [nick],
    );
    return rows[0] && toProfile(rows[0]);
  }

  async update(nick: string, change: ProfileChange, now: number): Promise<Profile | undefined> {
    await this.flush();
    const found = await inTransaction(this.pool, async (client) => {
      // The account's row lock orders the profile changes of one user.
      const user = await client.query('SELECT 1 FROM users WHERE nick = $1 FOR UPDATE', [nick]);
      if (user.rowCount !== 1) return false;
      const { rows } = await client.query<{
        display_name: string | null;
        avatar: string | null;
        avatar_key: string | null;
      }>('SELECT display_name, avatar, avatar_key FROM profiles WHERE nick = $1', [nick]);
      const row = rows[0];
      const name =
        change.displayName === undefined ? (row?.display_name ?? null) : change.displayName;
      let avatar = row?.avatar ?? null;
      let avatarKey = row?.avatar_key ?? null;
      if (change.avatar !== undefined && change.avatar !== avatar) {
        let next: { blob: string; thumb: string } | undefined;
        if (change.avatar !== null) {
          // Deleting it takes it from a racing append (which locks it FOR UPDATE) or discard.
          const taken = await client.query<{ blob: string; thumb: string }>(
            `DELETE FROM uploads
              WHERE id = $1 AND owner = $2 AND message_id IS NULL AND type IN (${TYPES})
                AND width IS NOT NULL AND height IS NOT NULL AND thumb IS NOT NULL
              RETURNING blob, thumb`,
            [change.avatar, nick],
          );
          next = taken.rows[0];
          if (!next) throw new ChatError('UPLOAD_NOT_FOUND');
          // Only the thumbnail is kept: the full-size bytes are garbage now.
          await client.query(TRASH, [next.blob, now]);
        }
        if (avatarKey !== null) await client.query(TRASH, [avatarKey, now]);
        avatar = change.avatar;
        avatarKey = next?.thumb ?? null;
      }
      await client.query(
        `INSERT INTO profiles (nick, display_name, display_key, avatar, avatar_key, updated)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (nick) DO UPDATE SET display_name = excluded.display_name,
           display_key = excluded.display_key, avatar = excluded.avatar,
           avatar_key = excluded.avatar_key, updated = excluded.updated`,
        [nick, name, name === null ? null : nameKey(name), avatar, avatarKey, now],
      );
      return true;
    });
    return found ? this.profile(nick) : undefined;
  }

  async directory(query: DirectoryQuery): Promise<Profile[]> {
    // Nick order with ASCII letters folded, as SQLite's NOCASE. A prefix is looked up as two
    // ranges of indexes (users_nick_folded, profiles_display), never by walking the accounts
    // (see sqlite/profiles.ts); the matches are then sorted.
    const nick = foldAscii(query.prefix);
    if (nick === '') {
      const { rows } = await this.pool.query<ProfileRow>(
        `SELECT ${PROFILE_COLUMNS} FROM users u LEFT JOIN profiles p ON p.nick = u.nick
          WHERE ${FOLDED} > lower($1 COLLATE "C") ORDER BY ${FOLDED} LIMIT $2`,
        [query.after, query.limit],
      );
      return rows.map(toProfile);
    }
    // As in sqlite/profiles.ts: one lower bound for the nick's range, each arm a page at most,
    // the names from the first MAX_NAME_MATCHES of their range.
    const { rows } = await this.pool.query<ProfileRow>(
      `SELECT ${PROFILE_COLUMNS} FROM (
          (SELECT nick FROM users
            WHERE lower(nick COLLATE "C") >= (CASE WHEN lower($1 COLLATE "C") >= $2
                    THEN lower($1 COLLATE "C") || chr(1) ELSE $2 END) COLLATE "C"
              AND lower(nick COLLATE "C") < ($2 || ${TOP}) COLLATE "C"
            ORDER BY lower(nick COLLATE "C") LIMIT $4)
          UNION
          (SELECT nick FROM (SELECT nick FROM profiles
             WHERE $3 <> '' AND display_key >= $3 COLLATE "C"
               AND display_key < ($3 || ${TOP}) COLLATE "C"
             ORDER BY display_key COLLATE "C" LIMIT ${MAX_NAME_MATCHES}) named
            WHERE lower(nick COLLATE "C") > lower($1 COLLATE "C")
            ORDER BY lower(nick COLLATE "C") LIMIT $4)
        ) hit JOIN users u ON u.nick = hit.nick LEFT JOIN profiles p ON p.nick = u.nick
        ORDER BY ${FOLDED} LIMIT $4`,
      [query.after, nick, nameKey(query.prefix), query.limit],
    );
    return rows.map(toProfile);
  }

  async remove(nick: string, now: number): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ avatar_key: string | null }>(
        'DELETE FROM profiles WHERE nick = $1 RETURNING avatar_key',
        [nick],
      );
      const row = rows[0];
      if (!row) return false;
      if (row.avatar_key !== null) await client.query(TRASH, [row.avatar_key, now]);
      return true;
    });
  }
}
