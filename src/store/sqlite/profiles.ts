import type Database from 'better-sqlite3';
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

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

const TYPES = AVATAR_TYPES.map((t) => `'${t}'`).join(', ');

/** The ProfileStore of SqliteStore: the profiles table beside users. */
export class SqliteProfiles implements ProfileStore {
  private readonly selectProfile: Statement<[string], ProfileRow>;
  private readonly selectDirectory: Statement<[{ after: string; limit: number }], ProfileRow>;
  private readonly selectPrefix: Statement<
    [{ after: string; afterKey: string; nick: string; name: string; limit: number }],
    ProfileRow
  >;
  private readonly updateTx: (nick: string, change: ProfileChange, now: number) => boolean;
  private readonly removeTx: (nick: string, now: number) => boolean;

  /**
   * Prepares its statements on `db`, which must already have the current schema. `flush`
   * commits the queued appends: one that attaches an upload goes before the upload becomes an
   * avatar (it is then sent, and refused here).
   */
  constructor(
    db: Database.Database,
    private readonly flush: () => void,
  ) {
    // The NOCASE primary key finds the account in any ASCII case.
    this.selectProfile = db.prepare(
      `SELECT ${PROFILE_COLUMNS} FROM users u LEFT JOIN profiles p ON p.nick = u.nick
        WHERE u.nick = ?`,
    );
    // Nick order with ASCII letters folded (NOCASE), as PostgreSQL's lower(nick COLLATE "C").
    // lower() folds ASCII letters only (no ICU), like foldAscii. A prefix is looked up as two
    // ranges of an index (the NOCASE primary key, profiles_display), never by walking the
    // accounts: a prefix nobody has costs two index seeks, whatever the number of accounts (a
    // walk took 170-400 ms of the one thread at 200,000 accounts; these take under 1 ms). The
    // matches are then sorted.
    this.selectDirectory = db.prepare(
      `SELECT ${PROFILE_COLUMNS} FROM users u LEFT JOIN profiles p ON p.nick = u.nick
        WHERE u.nick > @after ORDER BY u.nick LIMIT @limit`,
    );
    // Each arm gives at most a page: the nicks in key order from the first past `after`; the
    // names, from the first MAX_NAME_MATCHES of the prefix's range (a name is not unique, so
    // that range is read in name order, then sorted by nick).
    this.selectPrefix = db.prepare(
      `SELECT ${PROFILE_COLUMNS} FROM (
          SELECT nick FROM (SELECT nick FROM users
           WHERE nick >= (CASE WHEN @afterKey >= @nick THEN @after || char(1) ELSE @nick END)
             AND nick < @nick || char(1114111)
           ORDER BY nick LIMIT @limit)
          UNION
          SELECT nick FROM (SELECT nick FROM (SELECT nick FROM profiles
           WHERE @name <> '' AND display_key >= @name AND display_key < @name || char(1114111)
           ORDER BY display_key LIMIT ${MAX_NAME_MATCHES})
           WHERE nick > @after ORDER BY nick LIMIT @limit)
        ) hit JOIN users u ON u.nick = hit.nick LEFT JOIN profiles p ON p.nick = u.nick
        ORDER BY u.nick LIMIT @limit`,
    );
    const selectUser = db.prepare<[{ nick: string }], { nick: string }>(
      'SELECT nick FROM users WHERE nick = @nick AND nick = @nick COLLATE BINARY',
    );
    const selectRow = db.prepare<
      [string],
      { display_name: string | null; avatar: string | null; avatar_key: string | null }
    >('SELECT display_name, avatar, avatar_key FROM profiles WHERE nick = ?');
    const selectUpload = db.prepare<[string, string], { blob: string; thumb: string }>(
      `SELECT blob, thumb FROM uploads
        WHERE id = ? AND owner = ? AND message_id IS NULL AND type IN (${TYPES})
          AND width IS NOT NULL AND height IS NOT NULL AND thumb IS NOT NULL`,
    );
    const deleteUpload = db.prepare('DELETE FROM uploads WHERE id = ?');
    const trash = db.prepare(
      `INSERT INTO blob_trash (key, since) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET since = max(since, excluded.since)`,
    );
    const upsert = db.prepare(
      `INSERT INTO profiles (nick, display_name, display_key, avatar, avatar_key, updated)
       VALUES (@nick, @name, @key, @avatar, @avatarKey, @now)
       ON CONFLICT (nick) DO UPDATE SET display_name = excluded.display_name,
         display_key = excluded.display_key, avatar = excluded.avatar,
         avatar_key = excluded.avatar_key, updated = excluded.updated`,
    );
    const deleteRow = db.prepare('DELETE FROM profiles WHERE nick = ?');
    const update = db.transaction((nick: string, change: ProfileChange, now: number) => {
      if (!selectUser.get({ nick })) return false;
      const row = selectRow.get(nick);
      const name =
        change.displayName === undefined ? (row?.display_name ?? null) : change.displayName;
      let avatar = row?.avatar ?? null;
      let avatarKey = row?.avatar_key ?? null;
      if (change.avatar !== undefined && change.avatar !== avatar) {
        let next: { blob: string; thumb: string } | undefined;
        if (change.avatar !== null) {
          next = selectUpload.get(change.avatar, nick);
          if (!next) throw new ChatError('UPLOAD_NOT_FOUND');
          deleteUpload.run(change.avatar);
          // Only the thumbnail is kept: the full-size bytes are garbage now.
          trash.run(next.blob, now);
        }
        if (avatarKey !== null) trash.run(avatarKey, now);
        avatar = change.avatar;
        avatarKey = next?.thumb ?? null;
      }
      upsert.run({ nick, name, key: name === null ? null : nameKey(name), avatar, avatarKey, now });
      return true;
    });
    this.updateTx = (nick, change, now) => update.immediate(nick, change, now);
    const remove = db.transaction((nick: string, now: number) => {
      const row = selectRow.get(nick);
      if (!row) return false;
      if (row.avatar_key !== null) trash.run(row.avatar_key, now);
      deleteRow.run(nick);
      return true;
    });
    this.removeTx = (nick, now) => remove.immediate(nick, now);
  }

  async profile(nick: string): Promise<Profile | undefined> {
    const row = this.selectProfile.get(nick);
    return row && toProfile(row);
  }

  async update(nick: string, change: ProfileChange, now: number): Promise<Profile | undefined> {
    this.flush();
    if (!this.updateTx(nick, change, now)) return undefined;
    return this.profile(nick);
  }

  async directory(query: DirectoryQuery): Promise<Profile[]> {
    const { after, limit } = query;
    const nick = foldAscii(query.prefix);
    const name = nameKey(query.prefix);
    // One lower bound for the key's range: past `after` (nicks hold no control character, so
    // `after` + U+0001 is the first nick above it) or the prefix, whichever is higher. Two
    // bounds would let the planner take the lower one and walk from there.
    const params = { after, afterKey: foldAscii(after), limit, nick, name };
    const rows =
      nick === '' ? this.selectDirectory.all({ after, limit }) : this.selectPrefix.all(params);
    return rows.map(toProfile);
  }

  async remove(nick: string, now: number): Promise<boolean> {
    return this.removeTx(nick, now);
  }
}
