/** A stream with frames waiting for the end of the tick. */
export interface Flushable {
  /** Writes the frames sent in this tick. */
  flushNow(): void;
}

/**
 * The streams with frames waiting, flushed together once per tick: one list and one nextTick
 * for all of them, rather than a closure and a nextTick per stream. Frames sent within one
 * tick are joined and written once, which keeps the syscalls per delivery low under bursts;
 * a broadcast is encoded once and the same Buffer written to every stream (chunkFor).
 *
 * One per front door of a server (the streams of a door share their SseOptions): two servers
 * in one process, as in tests, share nothing.
 */
export class TickFlush {
  private dirty: Flushable[] = [];
  private queued = false;
  // The last chunk built in this flush: consecutive streams with the same frames (a broadcast)
  // share one Buffer instead of each encoding the same string again.
  private lastFrames: string[] | null = null;
  private lastChunk: Buffer | null = null;
  /** Bound once: process.nextTick is handed the same function every tick. */
  private readonly run = (): void => this.flushAll();

  /** Queues `stream` to be flushed at the end of this tick; call once per tick per stream. */
  add(stream: Flushable): void {
    this.dirty.push(stream);
    if (!this.queued) {
      this.queued = true;
      process.nextTick(this.run);
    }
  }

  /**
   * The bytes of `frames`, joined: the very Buffer of the stream flushed just before, when its
   * frames were the same strings (the Hub renders a broadcast once per format).
   */
  chunkFor(frames: string[]): Buffer {
    const last = this.lastFrames;
    if (last !== null && this.lastChunk !== null && last.length === frames.length) {
      let same = true;
      for (let i = 0; i < frames.length && same; i++) same = frames[i] === last[i];
      if (same) return this.lastChunk;
    }
    this.lastFrames = frames;
    this.lastChunk = Buffer.from(frames.length === 1 ? (frames[0] as string) : frames.join(''));
    return this.lastChunk;
  }

  private flushAll(): void {
    this.queued = false;
    const streams = this.dirty;
    this.dirty = [];
    for (const stream of streams) stream.flushNow();
    this.lastFrames = null;
    this.lastChunk = null;
  }
}
