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
  private readonly selectDetails: Database.Statement<[{ now: number; nicks: string }], RosterRow>;

  constructor(db: Database.Database) {
    // The nicks come as one JSON array, so that one prepared statement serves any page size.
    this.selectDetails = db.prepare(
      `${rosterSelect('@now')} WHERE u.nick IN (SELECT value FROM json_each(@nicks))`,
    );
    // The NOCASE key matches any ASCII case: one account per folded nick, passed as registered.
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
    const rows = this.selectDetails.all({ now, nicks: JSON.stringify(some) });
    return rows.map(toRosterEntry);
  }
}
