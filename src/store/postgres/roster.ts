import type pg from 'pg';
import {
  MAX_ROSTER_BATCH,
  type RosterEntry,
  type RosterRow,
  type RosterStore,
  rosterSelect,
  toRosterEntry,
} from '../roster-store.js';

/** The RosterStore of PostgresStore (roster-store.ts). */
export class PostgresRoster implements RosterStore {
  constructor(private readonly pool: pg.Pool) {}

  async seen(nicks: readonly string[], at: number): Promise<void> {
    if (nicks.length === 0) return;
    // One statement. Two processes flushing overlapping batches may deadlock, rarely; PostgreSQL
    // then fails one of them, and LastSeen tries its batch again at the next flush.
    await this.pool.query(
      'UPDATE users SET last_seen = $2 WHERE nick = ANY($1::text[]) AND last_seen < $2',
      [nicks.slice(0, MAX_ROSTER_BATCH), at],
    );
  }

  async details(nicks: readonly string[], now: number): Promise<RosterEntry[]> {
    const some = nicks.slice(0, MAX_ROSTER_BATCH);
    if (some.length === 0) return [];
    const { rows } = await this.pool.query<RosterRow>(
      `${rosterSelect('$2')} WHERE u.nick = ANY($1::text[])`,
      [some, now],
    );
    return rows.map(toRosterEntry);
  }
}
