/**
 * Collects keys and hands them over at most once per `everyMs`: the first key added starts
 * the wait, and whatever was added by its end is flushed together, each key once. The Hub uses
 * it to tell a big room's members (or a crowd) the new count once a second, however many
 * joins and leaves came in between. The timer does not keep the process alive.
 */
export class Coalescer<K> {
  private readonly keys = new Set<K>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly everyMs: number,
    private readonly flush: (keys: K[]) => void,
  ) {}

  add(key: K): void {
    this.keys.add(key);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const keys = [...this.keys];
      this.keys.clear();
      this.flush(keys);
    }, this.everyMs);
    this.timer.unref();
  }
}
