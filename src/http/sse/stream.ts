import { randomBytes } from 'node:crypto';
import type { Hub } from '../../core/hub.js';
import type { Format, Subscriber } from '../../core/subscriber.js';
import type { EventId } from '../../domain/events.js';
import type { Flushable, TickFlush } from './tick-flush.js';
import type { StreamTransport } from './transport.js';

/** A comment line: EventSource ignores it, proxies see traffic on an idle stream. */
const HEARTBEAT = ':\n\n';

/**
 * How long a stream the server ended (logout, revoke, password change, shutdown's retry) may
 * take to send what it still holds before its connection is cut: a client that reads gets its
 * last frames, one that stopped reading no longer holds the stream open. The same as
 * shutdown's grace for responses in progress (main.ts SHUTDOWN_GRACE_MS), so that shutdown
 * still gives a stream's last bytes all of it.
 */
export const CLOSE_DEADLINE_MS = 5_000;

/**
 * Subscriber ids, unique across processes (the Bus carries them): a random prefix and a
 * counter make them so without coordination.
 */
export class StreamIds {
  private readonly tag = randomBytes(6).toString('base64url');
  private last = 0;

  /** A new id. */
  next(): string {
    return `${this.tag}.${++this.last}`;
  }
}

/** Options of the streams of one front door, shared by all of them. */
export interface SseOptions {
  /**
   * Bytes a stream may have queued and not yet taken by the client (frames held during the
   * greeting, plus the transport's buffer). Past it the client is a slow reader and the
   * stream is closed, which bounds memory per connection; the client reconnects.
   */
  readonly maxQueueBytes: number;
  /** Called once when the stream ends, for any reason. */
  readonly onClose: (sub: SseStream) => void;
  /** Called when the stream is closed for exceeding maxQueueBytes. */
  readonly onOverflow: (sub: SseStream) => void;
  /** Where streams with frames waiting are flushed at the end of the window (a tick, or more). */
  readonly flush: TickFlush;
  /** Where the streams' ids come from. */
  readonly ids: StreamIds;
}

/**
 * One SSE stream, what it means apart from how its bytes travel (a StreamTransport): frames
 * held until the greeting, the replay floor under which live copies are dropped, the
 * heartbeat, the farewell `retry:`, and the slow-consumer policy (past maxQueueBytes the
 * stream is cut). Frames sent within one window (a tick, longer under load) go out in one
 * write (TickFlush).
 */
export class SseStream implements Subscriber, Flushable {
  readonly id: string;
  /** Frames that arrived before open(), with their event ids; null once open. */
  private held: Array<[string, EventId | undefined]> | null = [];
  private heldBytes = 0;
  /** Logged events up to this id were replayed from the Store: live copies are dropped. */
  private floor = 0;
  /**
   * The frames sent in this window, as runs of the TickFlush's log: the last run is
   * [runStart, runEnd), empty when none wait; `runs` holds the earlier ones (start and end in
   * turn), when the stream's frames are not one run (it was not sent one in the middle).
   */
  private runStart = 0;
  private runEnd = 0;
  private runs: number[] | null = null;
  private closed = false;

  constructor(
    private readonly transport: StreamTransport,
    readonly nick: string,
    readonly format: Format,
    private readonly options: SseOptions,
    readonly credential?: string,
  ) {
    this.id = options.ids.next();
    transport.onClose(() => this.ended());
  }

  /** True once the client went away or the stream was closed. */
  get isClosed(): boolean {
    return this.closed || this.transport.isEnded;
  }

  /**
   * Writes part of a replay while live frames are still held, and resolves once the transport
   * can take more: a replay of thousands of events flows at the client's pace instead of
   * piling up in memory. Resolves at once if the stream has closed.
   */
  writeReplay(chunk: string): Promise<void> {
    if (this.isClosed || chunk === '') return Promise.resolve();
    return this.transport.write(chunk) ? Promise.resolve() : this.transport.drained();
  }

  /**
   * Writes the greeting, then whatever arrived while it was being gathered, except logged
   * events up to `replayedThrough`, which the client already has from the Store.
   */
  open(greeting: string, replayedThrough: EventId = 0): void {
    const held = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    this.floor = replayedThrough;
    let chunk = greeting;
    for (const [frame, id] of held) if (id === undefined || id > replayedThrough) chunk += frame;
    // Even when empty: the first write lets the head out.
    this.write(chunk);
  }

  send(frame: string, id?: EventId): void {
    // Only the stream's own flag, not the transport's: this runs once per stream per
    // broadcast, and a stream the transport ended meanwhile writes nothing at the flush
    // (write checks isClosed), nor past maxQueueBytes while held.
    if (this.closed) return;
    if (id !== undefined && id <= this.floor) return;
    if (this.held) {
      this.held.push([frame, id]);
      // Bytes, as --max-queue-bytes says (held frames exist only while a login is gathered).
      this.heldBytes += Buffer.byteLength(frame);
      if (this.heldBytes > this.options.maxQueueBytes) this.overflow();
      return;
    }
    const at = this.options.flush.indexOf(frame);
    if (this.runEnd === this.runStart) {
      this.runStart = at;
      this.options.flush.add(this);
    } else if (at !== this.runEnd) {
      this.runs ??= [];
      this.runs.push(this.runStart, this.runEnd);
      this.runStart = at;
    }
    this.runEnd = at + 1;
  }

  /** Writes the frames sent in this window, in one write (called by the TickFlush). */
  flushNow(): void {
    if (this.runEnd === this.runStart) return;
    const flush = this.options.flush;
    const last = flush.chunk(this.runStart, this.runEnd);
    const runs = this.runs;
    this.runStart = this.runEnd = 0;
    this.runs = null;
    if (runs === null) {
      this.write(last);
      return;
    }
    const chunks: Buffer[] = [];
    for (let i = 0; i < runs.length; i += 2) {
      chunks.push(flush.chunk(runs[i] as number, runs[i + 1] as number));
    }
    chunks.push(last);
    this.write(Buffer.concat(chunks));
  }

  /** True while frames sent in this window wait for the flush. */
  private get pending(): boolean {
    return this.runEnd !== this.runStart;
  }

  /** Unsent bytes: the transport's buffer plus frames held during the greeting. */
  queuedBytes(): number {
    return this.closed ? 0 : this.transport.queuedBytes + this.heldBytes;
  }

  /**
   * Bytes of this stream's queue that are a broadcast chunk already in `seen` (queued on
   * another stream too: one Buffer, written to each), adding its other chunks to `seen`: the
   * queue gauge counts each chunk once.
   */
  sharedBytes(seen: Set<Buffer>): number {
    return this.closed ? 0 : this.transport.sharedBytes(seen);
  }

  heartbeat(): void {
    if (this.held === null && !this.pending) this.write(this.format.heartbeat ?? HEARTBEAT);
  }

  close(retryMs?: number): void {
    if (this.closed || this.transport.isEnded) return;
    // After the greeting only: before it, a retry line would be the stream's first bytes.
    if (retryMs !== undefined && this.held === null) {
      this.flushNow();
      const ms = Math.round(retryMs);
      this.transport.write(this.format.farewell?.(ms) ?? `retry: ${ms}\n\n`);
    }
    // The end waits for every byte to be out: a client that stopped reading would keep the
    // stream, its presence and its place under --max-streams-per-user for good, hence the
    // deadline.
    this.transport.end(CLOSE_DEADLINE_MS);
  }

  /** Cuts the stream at once, unsent bytes and all: shutdown's last resort. */
  abort(): void {
    this.transport.destroy();
  }

  private write(chunk: string | Buffer): void {
    // isEnded: close() was called but the connection has not closed yet, or overflow() cut
    // the stream and 'close' has not come yet; writing would overflow, and report, again.
    if (this.isClosed) return;
    this.transport.write(chunk);
    if (this.transport.queuedBytes > this.options.maxQueueBytes) this.overflow();
  }

  private overflow(): void {
    // Once per stream: destroy() below makes isClosed true at once, 'close' comes later.
    if (this.isClosed) return;
    this.options.onOverflow(this);
    // destroy, not end: end would wait behind the very bytes the client is not reading.
    this.transport.destroy();
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = null;
    this.runStart = this.runEnd = 0;
    this.runs = null;
    this.options.onClose(this);
  }
}

/** Sends a heartbeat on every local stream every `intervalMs`; returns a stop function. */
export function startHeartbeat(hub: Hub, intervalMs: number): () => void {
  const timer = setInterval(() => {
    hub.forEach((sub) => {
      sub.heartbeat();
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
