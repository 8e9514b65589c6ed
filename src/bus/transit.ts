/**
 * Most publishes timed at once (a burst beyond is not timed), and how long one is waited for
 * before it counts as lost (the subscriber was away). Both bound the memory timing takes.
 */
const MAX_IN_TRANSIT = 256;
const GIVE_UP_MS = 10_000;

/**
 * Times a networked Bus's own events from publish to receipt. The Bus must deliver one
 * publisher's events in order (Redis does, per connection), so a received payload is compared
 * with the oldest pending one alone: one string comparison per received event.
 */
export class TransitTimer {
  // Own publishes not heard back yet, oldest first, with performance.now() at send.
  private pending: Array<{ readonly payload: string; readonly sent: number }> = [];

  constructor(private readonly report: (seconds: number) => void) {}

  /**
   * Notes a payload about to be published (before the send: the subscriber may hear it before
   * the publisher's reply). Returns a function that forgets it, for a publish that failed.
   */
  sent(payload: string): () => void {
    if (this.pending.length >= MAX_IN_TRANSIT) return () => {};
    const entry = { payload, sent: performance.now() };
    this.pending.push(entry);
    return () => {
      const at = this.pending.indexOf(entry);
      if (at !== -1) this.pending.splice(at, 1);
    };
  }

  /** Reports the transit time if `payload` is ours, and forgets our events long lost. */
  received(payload: string): void {
    if (this.pending.length === 0) return;
    const now = performance.now();
    const oldest = this.pending[0];
    if (oldest?.payload === payload) {
      this.pending.shift();
      this.report((now - oldest.sent) / 1000);
      return;
    }
    // Another process's event. Ours that were published while the subscriber was away never
    // come back; they go once they are GIVE_UP_MS old.
    while ((this.pending[0]?.sent ?? now) < now - GIVE_UP_MS) this.pending.shift();
  }

  /** Forgets every pending publish: the subscriber dropped and missed them. */
  clear(): void {
    this.pending = [];
  }
}
