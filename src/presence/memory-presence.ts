import type { Presence } from './presence.js';

/** Presence for a single process: a connection count per user, in order of arrival. */
export class MemoryPresence implements Presence {
  // A Map iterates in insertion order; a user who goes offline is deleted, so coming back
  // puts them at the end, as the seed's PHP array did.
  private readonly counts = new Map<string, number>();

  async connect(nick: string): Promise<string[]> {
    const before = [...this.counts.keys()];
    this.counts.set(nick, (this.counts.get(nick) ?? 0) + 1);
    return before;
  }

  async disconnect(nick: string): Promise<boolean> {
    const count = this.counts.get(nick);
    if (count === undefined) return false;
    if (count > 1) {
      this.counts.set(nick, count - 1);
      return false;
    }
    this.counts.delete(nick);
    return true;
  }

  async isOnline(nick: string): Promise<boolean> {
    return this.counts.has(nick);
  }
}
