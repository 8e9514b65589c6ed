import type Database from 'better-sqlite3';
import { EVERYONE, isRoom } from '../../domain/events.js';

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/**
 * Decides, inside the write's transaction, whether a log entry is withheld from its recipient
 * (blocks-store.ts): an entry from one user to another who blocks them, or one about a
 * withheld message. One primary-key lookup, and only for entries to a nick.
 */
export class SqliteWithheld {
  private readonly selectBlocked: Statement<[string, string], { x: number }>;
  private readonly selectTarget: Statement<[number], { withheld: number }>;

  constructor(db: Database.Database) {
    this.selectBlocked = db.prepare('SELECT 1 AS x FROM blocks WHERE blocker = ? AND blocked = ?');
    this.selectTarget = db.prepare('SELECT withheld FROM messages WHERE id = ?');
  }

  /** Whether an entry from `from` to `to` (about `target`, if any) is withheld from `to`. */
  of(from: string, to: string, target?: number): boolean {
    if (to === EVERYONE || isRoom(to) || to === from) return false;
    if (this.selectBlocked.get(to, from) !== undefined) return true;
    return target !== undefined && this.isWithheld(target);
  }

  /** Whether the message `id` is withheld from its recipient. */
  isWithheld(id: number): boolean {
    return this.selectTarget.get(id)?.withheld === 1;
  }
}
