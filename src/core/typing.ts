/**
 * Typing notices pass on at most once per TYPING_EVERY_MS per sender and conversation; more
 * are dropped. The times are kept for at most TYPING_KEYS pairs (the oldest go first).
 */
export const TYPING_EVERY_MS = 2_000;
const TYPING_KEYS = 50_000;

/** Decides which typing notices pass on (see TYPING_EVERY_MS), in bounded memory. */
export class TypingThrottle {
  /** When each sender last passed a notice on, by sender and conversation, oldest first. */
  private readonly last = new Map<string, number>();

  /** Whether a notice from `from` to `to` at `now` passes on; records it if so. */
  pass(from: string, to: string, now: number): boolean {
    // NUL cannot occur in a nick or a room name, so keys cannot collide.
    const key = `${from}\u0000${to}`;
    const last = this.last.get(key);
    if (last !== undefined && now - last < TYPING_EVERY_MS) return false;
    this.last.delete(key);
    this.last.set(key, now);
    if (this.last.size > TYPING_KEYS) {
      const oldest = this.last.keys().next();
      if (!oldest.done) this.last.delete(oldest.value);
    }
    return true;
  }
}
