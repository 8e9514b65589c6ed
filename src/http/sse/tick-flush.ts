/** A stream with frames waiting for the end of the tick. */
export interface Flushable {
  /** Writes the frames sent in this tick. */
  flushNow(): void;
}

/**
 * A flush that took longer than this (ms) makes the next one wait (see TickFlush): below it,
 * frames go out at the end of the tick, as they always did.
 */
export const BUSY_FLUSH_MS = 5;

/**
 * After a busy flush, how many times as long as it took the next one waits: flushing then
 * takes at most about 1 / (1 + BUSY_WAIT) of the time. Not more than 1: at 3, 10,000 classic
 * streams connected in 9.4 s rather than 13-15 s, but a reader among 1,000 stalled streams
 * (test/stalled.test) saw its p99 latency go from about 100 ms to 350-760 ms.
 */
export const BUSY_WAIT = 1;

/**
 * A run of a window's log is copied out of the window's Buffer, rather than sliced, when the
 * window is larger than PIN_MIN_BYTES and the run less than 1 / PIN_RATIO of it: a queued
 * slice pins at most PIN_RATIO times its own size (or PIN_MIN_BYTES).
 */
const PIN_MIN_BYTES = 64 * 1024;
const PIN_RATIO = 8;

/**
 * The streams with frames waiting, flushed together once per tick: one list and one nextTick
 * for all of them, rather than a closure and a nextTick per stream. Frames sent within one
 * window are joined and written once, which keeps the syscalls per delivery low under bursts.
 *
 * Frames are not copied per stream: every frame sent in the window is kept once, in order, in
 * the window's log, and a stream holds only which runs of that log it was sent (a broadcast,
 * sent to every stream in turn, is the log's last frame for all of them but the first, so
 * each stream's run just grows by one). At the flush the log is encoded once, and each run is
 * a slice of that one Buffer: streams sent the same run write the very same Buffer, whatever
 * the number of frames, and no stream compares its frames with another's.
 *
 * The window is a tick while flushes are cheap. Under a flood of broadcasts to many streams
 * (thousands of classic logins at once, each announced to every classic stream: issue 24) a
 * write per stream per tick would be most of the work, so a flush that took longer than
 * BUSY_FLUSH_MS makes the next one wait BUSY_WAIT times as long as it took: at most about
 * half the time goes to flushing, and each stream's write carries whatever arrived
 * meanwhile, in order. The price is latency while flushes are that heavy: a frame may wait up
 * to BUSY_WAIT times the last flush's duration.
 *
 * One per front door of a server (the streams of a door share their SseOptions): two servers
 * in one process, as in tests, share nothing.
 */
export class TickFlush {
  private dirty: Flushable[] = [];
  private queued = false;
  /** The frames sent in this window, in order: each once, however many streams got it. */
  private log: string[] = [];
  /** The log encoded, once asked for (`logBytes` covers its first `encoded` frames). */
  private encoded = 0;
  private logBytes: Buffer | null = null;
  /** Where each frame of `logBytes` starts, and its end last. */
  private offsets: number[] = [];
  /** Runs of the log already sliced in this window, by start * 2^26 + end: one Buffer each. */
  private readonly runs = new Map<number, Buffer>();
  /** performance.now() before which no flush starts (after a busy one). */
  private nextAt = 0;
  /** Bound once: process.nextTick is handed the same function every tick. */
  private readonly run = (): void => this.flushAll();

  /** Queues `stream` to be flushed at the end of this window; once per window per stream. */
  add(stream: Flushable): void {
    this.dirty.push(stream);
    if (this.queued) return;
    this.queued = true;
    const wait = this.nextAt - performance.now();
    if (wait > 0) setTimeout(this.run, wait);
    else process.nextTick(this.run);
  }

  /**
   * The index in this window's log of `frame`, sent now to one stream: the last frame's when
   * it is the same text (a broadcast, sent to each stream in turn), else a new one.
   */
  indexOf(frame: string): number {
    const last = this.log.length - 1;
    if (last >= 0 && this.log[last] === frame) return last;
    this.log.push(frame);
    return last + 1;
  }

  /** The bytes of frames `start` to `end` (excluded) of this window's log. */
  chunk(start: number, end: number): Buffer {
    const key = start * 2 ** 26 + end;
    let buf = this.runs.get(key);
    if (buf !== undefined) return buf;
    // Encoded once per window; again only if a stream flushed early (a close) and frames
    // came after.
    if (this.logBytes === null || end > this.encoded) this.encode();
    const bytes = this.logBytes as Buffer;
    buf = bytes.subarray(this.offsets[start], this.offsets[end]);
    // A slice keeps its whole window's Buffer alive for as long as a socket queues it: a
    // stalled stream sent a few bytes of a large window would hold all of it, while
    // --max-queue-bytes counts only its slice. A small part of a large window is copied.
    if (bytes.length > PIN_MIN_BYTES && buf.length * PIN_RATIO < bytes.length) {
      buf = Buffer.from(buf);
    }
    this.runs.set(key, buf);
    return buf;
  }

  private encode(): void {
    const offsets = new Array<number>(this.log.length + 1);
    let at = 0;
    for (let i = 0; i < this.log.length; i++) {
      offsets[i] = at;
      at += Buffer.byteLength(this.log[i] as string);
    }
    offsets[this.log.length] = at;
    this.offsets = offsets;
    this.logBytes = Buffer.from(
      this.log.length === 1 ? (this.log[0] as string) : this.log.join(''),
    );
    this.encoded = this.log.length;
    // Slices of the old encoding stay valid for whoever holds them, but are not shared on.
    this.runs.clear();
  }

  private flushAll(): void {
    const t0 = performance.now();
    this.queued = false;
    const streams = this.dirty;
    this.dirty = [];
    for (const stream of streams) stream.flushNow();
    this.log = [];
    this.encoded = 0;
    this.logBytes = null;
    this.offsets = [];
    this.runs.clear();
    const took = performance.now() - t0;
    this.nextAt = took > BUSY_FLUSH_MS ? t0 + (1 + BUSY_WAIT) * took : 0;
  }
}
