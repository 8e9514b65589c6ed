import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Hub } from '../core/hub.js';
import type { Format, Subscriber } from '../core/subscriber.js';
import { ChatError } from '../domain/errors.js';
import type { EventId } from '../domain/events.js';
import { streamKeepsConnection } from './keep-alive.js';
import { releaseParser } from './release-parser.js';

/**
 * A socket's queued writes, oldest first, as node's Writable keeps them (its `writableBuffer`
 * getter, present on Node 20 to 24 but not in @types/node).
 */
type WithBuffer = Socket & { readonly writableBuffer?: ReadonlyArray<{ chunk: unknown }> };

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

/**
 * How long a stream the server ended (logout, revoke, password change, shutdown's retry) may
 * take to send what it still holds before its connection is cut: a client that reads gets its
 * last frames, one that stopped reading no longer holds the stream open. The same as
 * shutdown's grace for responses in progress (main.ts SHUTDOWN_GRACE_MS), so that shutdown
 * still gives a stream's last bytes all of it.
 */
export const CLOSE_DEADLINE_MS = 5_000;

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

// Streams with frames waiting, flushed together once per tick. One list and one nextTick
// for the whole process, rather than a closure and a nextTick per stream.
let dirty: SseSubscriber[] = [];
let flushQueued = false;
// The last chunk built in this flush: consecutive streams with the same frames (a broadcast)
// share one Buffer instead of each encoding the same string again.
let lastFrames: string[] | null = null;
let lastChunk: Buffer | null = null;

function flushAll(): void {
  flushQueued = false;
  const subs = dirty;
  dirty = [];
  for (const sub of subs) sub.flushNow();
  lastFrames = null;
  lastChunk = null;
}

function chunkFor(frames: string[]): Buffer {
  if (lastFrames !== null && lastChunk !== null && lastFrames.length === frames.length) {
    let same = true;
    for (let i = 0; i < frames.length && same; i++) same = frames[i] === lastFrames[i];
    if (same) return lastChunk;
  }
  lastFrames = frames;
  lastChunk = Buffer.from(frames.length === 1 ? (frames[0] as string) : frames.join(''));
  return lastChunk;
}

/**
 * A Subscriber over one node:http response. Frames sent within one tick are joined and
 * written once, which keeps the syscalls per delivery low under bursts; a broadcast is encoded
 * once and the same bytes written to every stream.
 *
 * The body is not chunk-encoded: a stream ends only when its connection closes, so the
 * response says `Connection: close` and sends raw bytes, as the seed's servers did. That
 * spares a chunk header and trailer per write.
 */
export class SseSubscriber implements Subscriber {
  readonly id = `${PROCESS_TAG}.${++nextSubscriber}`;
  /** Frames that arrived before open(), with their event ids; null once open. */
  private held: Array<[string, EventId | undefined]> | null = [];
  private heldBytes = 0;
  /** Logged events up to this id were replayed from the Store: live copies are dropped. */
  private floor = 0;
  /** Frames sent in this tick, or null when none wait. */
  private pending: string[] | null = null;
  private closed = false;
  /** The socket is held corked from the head until the greeting (see the constructor). */
  private corked = true;
  /** The connection, the stream's alone (see the constructor). */
  private readonly socket: Socket;

  constructor(
    private readonly res: ServerResponse,
    readonly nick: string,
    readonly format: Format,
    private readonly options: SseOptions,
    readonly credential?: string,
  ) {
    // A response queued behind another on a pipelined connection has no socket yet, and may
    // never get one (behind another stream): node would hold its frames for good and never
    // tell it that the connection closed. A stream opens only on a connection it owns.
    if (res.socket === null) throw new ChatError('HTTP_STREAM_PIPELINED');
    this.socket = res.socket;
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, SSE_HEADERS);
    this.socket.setNoDelay(true);
    // node builds the head by `+=`, a tree of some 25 string pieces (about 770 bytes) that the
    // response keeps for the life of the stream. Handed to the socket on its own, it is
    // flattened in place to one string of about 170 bytes; written in front of the greeting,
    // as node does by default, it is copied and the tree kept (heap snapshots at 2k and 6k
    // streams). The socket stays corked until the greeting, so both still go in one write.
    this.socket.cork();
    res.flushHeaders();
    res.on('close', () => this.ended());
    streamKeepsConnection(res);
    // The connection will read no other request: its parser can go (see release-parser.ts),
    // once node's parser callbacks, which may have called this constructor, have returned.
    setImmediate(releaseParser, res);
  }

  /** The request that opened the stream, for log lines. */
  get request(): IncomingMessage {
    return this.res.req;
  }

  /** True once the client went away or the stream was closed. */
  get isClosed(): boolean {
    return this.closed || this.res.writableEnded || this.res.destroyed;
  }

  /**
   * Writes part of a replay while live frames are still held, and resolves once the socket
   * can take more: a replay of thousands of events flows at the client's pace instead of
   * piling up in memory. Resolves at once if the stream has closed.
   */
  writeReplay(chunk: string): Promise<void> {
    if (this.isClosed || chunk === '') return Promise.resolve();
    // The socket, as write() does: once its parser is released, the response hears no 'drain'.
    const out = this.socket;
    const more = out.write(chunk);
    this.uncork();
    if (more) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        out.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      out.on('drain', done);
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
    this.uncork();
  }

  send(frame: string, id?: EventId): void {
    if (this.isClosed) return;
    if (id !== undefined && id <= this.floor) return;
    if (this.held) {
      this.held.push([frame, id]);
      // Bytes, as --max-queue-bytes says (held frames exist only while a login is gathered).
      this.heldBytes += Buffer.byteLength(frame);
      if (this.heldBytes > this.options.maxQueueBytes) this.overflow();
      return;
    }
    if (this.pending !== null) {
      this.pending.push(frame);
      return;
    }
    this.pending = [frame];
    dirty.push(this);
    if (!flushQueued) {
      flushQueued = true;
      process.nextTick(flushAll);
    }
  }

  /** Writes the frames sent in this tick (called by the process-wide flush). */
  flushNow(): void {
    const frames = this.pending;
    this.pending = null;
    if (frames !== null) this.write(chunkFor(frames));
  }

  /** Unsent bytes: the socket's write buffer plus frames held during the greeting. */
  queuedBytes(): number {
    return this.closed ? 0 : this.res.writableLength + this.heldBytes;
  }

  /**
   * Bytes of this stream's queue that are a broadcast chunk already in `seen` (queued on
   * another stream too: one Buffer, written to each), adding its other chunks to `seen`: the
   * queue gauge counts each chunk once. Read at scrape time from the socket's own write
   * buffer; tracking each write with a callback instead cost a closure call per stream per
   * flush, and on Node 24 over 100 MiB of RSS with 1,000 stalled streams (test/stalled.test).
   */
  sharedBytes(seen: Set<Buffer>): number {
    if (this.closed) return 0;
    let shared = 0;
    for (const { chunk } of (this.socket as WithBuffer).writableBuffer ?? []) {
      if (!Buffer.isBuffer(chunk)) continue;
      if (seen.has(chunk)) shared += chunk.length;
      else seen.add(chunk);
    }
    return shared;
  }

  heartbeat(): void {
    if (this.held === null && this.pending === null) this.write(this.format.heartbeat ?? HEARTBEAT);
  }

  close(retryMs?: number): void {
    if (this.closed || this.res.writableEnded) return;
    // After the greeting only: before it, a retry line would be the stream's first bytes.
    if (retryMs !== undefined && this.held === null) {
      this.flushNow();
      const ms = Math.round(retryMs);
      this.res.write(this.format.farewell?.(ms) ?? `retry: ${ms}\n\n`);
    }
    this.uncork();
    this.res.end();
    // 'close' comes only once every byte is out: a client that stopped reading would keep the
    // stream, its presence and its place under --max-streams-per-user for good. One timer per
    // stream that ends, and only until it closes.
    const deadline = setTimeout(() => this.res.destroy(), CLOSE_DEADLINE_MS);
    deadline.unref();
    this.res.once('close', () => clearTimeout(deadline));
  }

  /** Cuts the stream at once, unsent bytes and all: shutdown's last resort. */
  abort(): void {
    this.res.destroy();
  }

  private write(chunk: string | Buffer): void {
    // writableEnded: close() was called but the socket has not closed yet. A write then would
    // make the response emit 'error', which nothing listens for. destroyed: overflow() cut the
    // stream, and 'close' has not come yet; writing would overflow, and report, again.
    if (this.isClosed || chunk.length === 0) return;
    // Straight to the socket: the head is out (see the constructor) and the body is not
    // chunk-encoded, so these are the bytes res.write would send, without the response's
    // bookkeeping and its cork and next-tick uncork on every write.
    this.socket.write(chunk);
    if (this.socket.writableLength > this.options.maxQueueBytes) this.overflow();
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private overflow(): void {
    // Once per stream: destroy() below makes isClosed true at once, 'close' comes later.
    if (this.isClosed) return;
    this.options.onOverflow(this);
    // destroy, not end: end would wait behind the very bytes the client is not reading.
    this.res.destroy();
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = null;
    this.pending = null;
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
