import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { EventId } from '../core/events.js';
import type { Format, Hub, Subscriber } from '../core/hub.js';

/**
 * Response headers of every stream. No compression, ever: a compressing proxy or middleware
 * would hold frames back. `X-Accel-Buffering: no` tells nginx not to buffer the response.
 */
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
} as const;

/** A comment line: EventSource ignores it, proxies see traffic on an idle stream. */
const HEARTBEAT = ':\n\n';

// Subscriber ids must be unique across processes (the Bus carries them); a random process
// prefix and a counter make them so without coordination.
const PROCESS_TAG = randomBytes(6).toString('base64url');
let nextSubscriber = 0;

/** Options of one stream. */
export interface SseOptions {
  /**
   * Bytes a stream may have queued and not yet taken by the client (frames held during the
   * greeting, plus the socket's write buffer). Past it the client is a slow reader and the
   * stream is closed, which bounds memory per connection; the client reconnects.
   */
  readonly maxQueueBytes: number;
  /** Called once when the stream ends, for any reason. */
  readonly onClose: (sub: SseSubscriber) => void;
  /** Called when the stream is closed for exceeding maxQueueBytes. */
  readonly onOverflow: (sub: SseSubscriber) => void;
}

/**
 * A Subscriber over one node:http response. Frames sent within one tick are joined and
 * written once, which keeps the syscalls per delivery low under bursts.
 */
export class SseSubscriber implements Subscriber {
  readonly id = `${PROCESS_TAG}.${++nextSubscriber}`;
  /** Frames that arrived before open(), with their event ids; null once open. */
  private held: Array<[string, EventId | undefined]> | null = [];
  private heldBytes = 0;
  /** Logged events up to this id were replayed from the Store: live copies are dropped. */
  private floor = 0;
  private pending = '';
  private flushScheduled = false;
  private closed = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const chunk = this.pending;
    this.pending = '';
    this.write(chunk);
  };

  constructor(
    private readonly res: ServerResponse,
    readonly nick: string,
    readonly format: Format,
    private readonly options: SseOptions,
    readonly credential?: string,
  ) {
    res.writeHead(200, SSE_HEADERS);
    res.socket?.setNoDelay(true);
    res.on('close', () => this.ended());
  }

  /** True once the client went away or the stream was closed. */
  get isClosed(): boolean {
    return this.closed || this.res.writableEnded;
  }

  /**
   * Writes part of a replay while live frames are still held, and resolves once the socket
   * can take more: a replay of thousands of events flows at the client's pace instead of
   * piling up in memory. Resolves at once if the stream has closed.
   */
  writeReplay(chunk: string): Promise<void> {
    if (this.isClosed || chunk === '') return Promise.resolve();
    if (this.res.write(chunk)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
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
    this.write(chunk);
  }

  send(frame: string, id?: EventId): void {
    if (this.closed || this.res.writableEnded) return;
    if (id !== undefined && id <= this.floor) return;
    if (this.held) {
      this.held.push([frame, id]);
      this.heldBytes += frame.length;
      if (this.heldBytes > this.options.maxQueueBytes) this.overflow();
      return;
    }
    this.pending += frame;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flush);
    }
  }

  heartbeat(): void {
    if (this.held === null && this.pending === '') this.write(HEARTBEAT);
  }

  close(): void {
    if (!this.closed) this.res.end();
  }

  private write(chunk: string): void {
    // writableEnded: close() was called but the socket has not closed yet. A write then would
    // make the response emit 'error', which nothing listens for.
    if (this.closed || this.res.writableEnded || chunk === '') return;
    this.res.write(chunk);
    if (this.res.writableLength > this.options.maxQueueBytes) this.overflow();
  }

  private overflow(): void {
    if (this.closed) return;
    this.options.onOverflow(this);
    // destroy, not end: end would wait behind the very bytes the client is not reading.
    this.res.destroy();
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = null;
    this.pending = '';
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
