/** The avatar of a profile: the thumbnail of the image upload it was made from. */
export interface Avatar {
  /** The id of the upload it was made from (a version for caches: `?v=`). */
  readonly id: string;
  /** The BlobStore key of its bytes: the upload's thumbnail (WebP). */
  readonly key: string;
}

/** A registered user as others see them (Store.profiles). */
export interface Profile {
  /** The account's nick, as registered (its case). */
  readonly nick: string;
  /** null when the user set none. */
  readonly displayName: string | null;
  readonly avatar: Avatar | null;
  /** When the account was made, ms since the epoch. */
  readonly registered: number;
}

/** What `update` changes: an absent field stays as it is, null clears it. */
export interface ProfileChange {
  /** Already checked (domain/profile.ts): NFC, trimmed, bounded, no control characters. */
  readonly displayName?: string | null;
  /** The id of an upload of the user to make the avatar of (see the contract). */
  readonly avatar?: string | null;
}

/** One page of the directory: accounts ordered by nick (ASCII letters folded). */
export interface DirectoryQuery {
  /** Keep accounts whose nick or display name starts with it, letter case aside; '' for all. */
  readonly prefix: string;
  /** Start after this nick (in the directory's order); '' for the first page. */
  readonly after: string;
  /** At most this many (the edge bounds it: MAX_DIRECTORY_PAGE). */
  readonly limit: number;
}

/** The MIME types an avatar may be made from: the images the server decodes (media/). */
export const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

/**
 * Profiles (display name, avatar) of registered users, kept by the same backend as the
 * accounts (Store.profiles). A profile is a row beside an account; an account without one has
 * the empty profile.
 *
 * Contract (checked for every backend by profiles.contract.ts):
 *
 * - `profile(nick)` finds the account whatever the ASCII letter case of `nick`, and answers
 *   with its nick as registered; undefined when there is no such account.
 * - `update(nick, change)` changes exactly the registered nick's profile (undefined when no
 *   account has exactly this nick). An `avatar` id must name an upload of that user, not yet
 *   sent, that the server decoded as an image (AVATAR_TYPES, with a size and a thumbnail);
 *   otherwise nothing changes and it rejects with UPLOAD_NOT_FOUND (another user's upload
 *   is refused exactly like a missing one). The upload becomes the avatar in the same
 *   transaction: its record leaves the uploads (it cannot be sent, discarded or expired
 *   any more, and no longer counts against the quota), its thumbnail's key is kept by the
 *   profile, and its full-size blob key goes to the garbage list. The avatar it replaces
 *   (by another, or by null) sends its key to the garbage list, dated `now`.
 * - `garbage` (uploads-store.ts) treats a key an avatar refers to as referred to.
 * - `directory(query)` lists accounts whose nick starts with the prefix (ASCII letters
 *   folded) or whose display name does (folded with toLowerCase), after `after`, in nick
 *   order with ASCII letters folded, at most `limit`.
 * - `remove(nick, now)` deletes the profile of the account `nick` (pass the nick as
 *   registered), its avatar key going to the garbage list, in one transaction: for the
 *   deletion of an account. False when it had none.
 */
export interface ProfileStore {
  profile(nick: string): Promise<Profile | undefined>;
  update(nick: string, change: ProfileChange, now: number): Promise<Profile | undefined>;
  directory(query: DirectoryQuery): Promise<Profile[]>;
  remove(nick: string, now: number): Promise<boolean>;
}

/** A profile as either engine reads it: users LEFT JOIN profiles. */
export interface ProfileRow {
  nick: string;
  created: number;
  display_name: string | null;
  avatar: string | null;
  avatar_key: string | null;
}

/** The columns of a ProfileRow, for SELECT lists over `users u LEFT JOIN profiles p`. */
export const PROFILE_COLUMNS = 'u.nick, u.created, p.display_name, p.avatar, p.avatar_key';

/** A ProfileRow as the ProfileStore hands it out. */
export function toProfile(row: ProfileRow): Profile {
  return {
    nick: row.nick,
    displayName: row.display_name,
    avatar:
      row.avatar !== null && row.avatar_key !== null
        ? { id: row.avatar, key: row.avatar_key }
        : null,
    registered: Number(row.created),
  };
}

/**
 * Most profiles one directory request reads by their name's prefix (then sorted by nick): a
 * bound on its cost (about 1 ms per 1,000) when many names share a prefix. Past it, people
 * whose name shares such a prefix are found by a longer one, or by their nick.
 */
export const MAX_NAME_MATCHES = 5000;
