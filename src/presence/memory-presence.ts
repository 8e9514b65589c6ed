import type { Arrival, OfflineListener, Presence, RestoredListener } from './presence.js';

/**
 * Presence for a single process: a connection count per user, in order of arrival, and one
 * timer per user within their grace window (so at most one per user who was ever online).
 */
export class MemoryPresence implements Presence {
  // A Map iterates in insertion order; a user who goes offline is deleted, so coming back
  // puts them at the end, as the seed's PHP array did. A count of 0 is a grace window.
  private readonly counts = new Map<string, number>();
  private readonly leaving = new Map<string, NodeJS.Timeout>();
  private readonly listeners: OfflineListener[] = [];
  /**
   * The users online, as handed to connections, until someone comes or goes: a reconnect
   * storm of thousands of streams then shares one list (and one rendering of it, see
   * ApiFormat.hello) instead of copying it per stream, which made connecting O(users) each.
   */
  private snapshot: readonly string[] | null = null;
  /** Set by close(), so that ping() tells a closed presence from a live one. */
  private closed = false;

  async connect(nick: string): Promise<Arrival> {
    this.snapshot ??= Object.freeze([...this.counts.keys()]);
    const online = this.snapshot;
    const timer = this.leaving.get(nick);
    if (timer) {
      clearTimeout(timer);
      this.leaving.delete(nick);
    }
    const count = this.counts.get(nick);
    this.counts.set(nick, (count ?? 0) + 1);
    if (count === undefined) this.snapshot = null;
    return { online, first: count === undefined, tabs: count ?? 0 };
  }

  async disconnect(nick: string, graceMs: number): Promise<void> {
    const count = this.counts.get(nick);
    if (!count) return;
    if (count > 1) {
      this.counts.set(nick, count - 1);
      return;
    }
    if (graceMs === 0) {
      this.goOffline(nick);
      return;
    }
    this.counts.set(nick, 0);
    const timer = setTimeout(() => {
      this.leaving.delete(nick);
      this.goOffline(nick);
    }, graceMs);
    // A pending grace window must not keep the process alive at shutdown.
    timer.unref();
    this.leaving.set(nick, timer);
  }

  async isConnected(nick: string): Promise<boolean> {
    return (this.counts.get(nick) ?? 0) > 0;
  }

  async online(): Promise<string[]> {
    return [...this.counts.keys()];
  }

  onOffline(listener: OfflineListener): void {
    this.listeners.push(listener);
  }

  /** Never called: one process's memory loses nothing while it runs. */
  onRestored(_listener: RestoredListener): void {}

  async ping(): Promise<void> {
    if (this.closed) throw new Error('ping on a closed presence');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.leaving.values()) clearTimeout(timer);
    this.leaving.clear();
    this.listeners.length = 0;
  }

  private goOffline(nick: string): void {
    this.counts.delete(nick);
    this.snapshot = null;
    for (const listener of this.listeners) listener(nick);
  }
}
