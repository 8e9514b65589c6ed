/** A ban or a mute in force (the sanctions table of issue 23, part C). */
export interface SanctionView {
  readonly reason: string;
  /** When it lifts, ms since the epoch; null while it lasts until lifted (as the sanction routes say). */
  readonly until: number | null;
  /** Who imposed it: an admin's nick, or `(cli)`. */
  readonly by: string;
  readonly since: number;
}

/** What the admin listing adds to a directory entry (GET /api/v1/admin/users). */
export interface RosterEntry {
  /** The account's nick, as registered. */
  readonly nick: string;
  /** When the account was made, ms since the epoch. */
  readonly created: number;
  readonly admin: boolean;
  /** See RosterStore.seen; null when never recorded. */
  readonly lastSeen: number | null;
  readonly ban: SanctionView | null;
  readonly mute: SanctionView | null;
}

import { MAX_ROSTER_BATCH } from '../domain/profile.js';

export { MAX_ROSTER_BATCH };

/**
 * What server admins see of accounts beyond the directory (Store.roster).
 *
 * Contract (both engines):
 *
 * - `seen(nicks, at)` moves the `last_seen` of each account named (as registered, exactly) to
 *   `at` unless it is later already; unknown nicks are skipped. At most MAX_ROSTER_BATCH nicks.
 * - `details(nicks, now)` answers, for each account named (as registered, exactly) that
 *   exists, when it was made, whether it is a server admin, its last_seen (null for 0: never recorded), and the
 *   ban and mute in force at `now` (a sanction whose `until` is past is none); in no
 *   particular order. At most MAX_ROSTER_BATCH nicks.
 */
export interface RosterStore {
  seen(nicks: readonly string[], at: number): Promise<void>;
  details(nicks: readonly string[], now: number): Promise<RosterEntry[]>;
}

/** A row of `details` as both engines read it. */
export interface RosterRow {
  nick: string;
  created: number;
  admin: number | boolean;
  last_seen: number;
  ban_reason: string | null;
  ban_until: number | null;
  ban_by: string | null;
  ban_since: number | null;
  mute_reason: string | null;
  mute_until: number | null;
  mute_by: string | null;
  mute_since: number | null;
}

/**
 * The SELECT of `details` minus its WHERE on the nicks: users with the sanctions in force.
 * `now` is the engine's parameter for the time (`@now` or `$2`).
 */
export function rosterSelect(now: string): string {
  const inForce = (alias: string, kind: string) =>
    `LEFT JOIN sanctions ${alias} ON ${alias}.nick = u.nick AND ${alias}.kind = '${kind}'
       AND (${alias}.until = 0 OR ${alias}.until > ${now})`;
  return `SELECT u.nick, u.created, u.admin, u.last_seen,
      b.reason AS ban_reason, b.until AS ban_until, b."by" AS ban_by, b.since AS ban_since,
      m.reason AS mute_reason, m.until AS mute_until, m."by" AS mute_by, m.since AS mute_since
    FROM users u ${inForce('b', 'ban')} ${inForce('m', 'mute')}`;
}

/** A RosterRow as the RosterStore hands it out. */
export function toRosterEntry(row: RosterRow): RosterEntry {
  const sanction = (
    reason: string | null,
    until: number | null,
    by: string | null,
    since: number | null,
  ) =>
    reason === null
      ? null
      : {
          reason,
          until: Number(until ?? 0) === 0 ? null : Number(until),
          by: by ?? '',
          since: Number(since ?? 0),
        };
  const lastSeen = Number(row.last_seen);
  return {
    nick: row.nick,
    created: Number(row.created),
    admin: row.admin === true || row.admin === 1,
    lastSeen: lastSeen > 0 ? lastSeen : null,
    ban: sanction(row.ban_reason, row.ban_until, row.ban_by, row.ban_since),
    mute: sanction(row.mute_reason, row.mute_until, row.mute_by, row.mute_since),
  };
}
