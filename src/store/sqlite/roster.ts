import type Database from 'better-sqlite3';
import {
  MAX_ROSTER_BATCH,
  type RosterEntry,
  type RosterRow,
  type RosterStore,
  rosterSelect,
  toRosterEntry,
} from '../roster-store.js';

/** The RosterStore of SqliteStore (roster-store.ts). */
export class SqliteRoster implements RosterStore {
  private readonly seenTx: (nicks: readonly string[], at: number) => void;
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
    // Exact nick (the NOCASE key would also match another case, but callers pass the nick as
    // registered, and there is one account per folded nick anyway).
    const touch = db.prepare<[number, string, number]>(
      'UPDATE users SET last_seen = ? WHERE nick = ? AND last_seen < ?',
    );
    this.seenTx = db.transaction((nicks: readonly string[], at: number) => {
      for (const nick of nicks) touch.run(at, nick, at);
    });
  }

  async seen(nicks: readonly string[], at: number): Promise<void> {
    if (nicks.length === 0) return;
    this.seenTx(nicks.slice(0, MAX_ROSTER_BATCH), at);
  }

  async details(nicks: readonly string[], now: number): Promise<RosterEntry[]> {
    const some = nicks.slice(0, MAX_ROSTER_BATCH);
    if (some.length === 0) return [];
    // One statement per page size would be cached by SQLite; json_each keeps it one statement.
    const rows = this.db
      .prepare<[{ now: number; nicks: string }], RosterRow>(
        `${rosterSelect('@now')} WHERE u.nick IN (SELECT value FROM json_each(@nicks))`,
      )
      .all({ now, nicks: JSON.stringify(some) });
    return rows.map(toRosterEntry);
  }
}
