import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ChatError } from '../../domain/errors.js';
import { streamKeepsConnection } from '../keep-alive.js';
import { parserReleaseWorks, releaseParser } from './release-parser.js';
import type { StreamTransport } from './transport.js';

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

/** `--release-parser`: whether streams give their connection's HTTP parser back to node. */
export type ReleaseParserMode = 'auto' | 'on' | 'off';

/** What the parser release does on this server, as said once at startup. */
export type ParserReleaseStatus = 'active' | 'off by config' | 'unavailable on this node version';

/**
 * The node:http side of a server's streams: it turns a response into a StreamTransport, keeps
 * the registry of open ones that shutdown cuts (node no longer lists a connection whose
 * parser was released, so server.closeAllConnections() misses it), and decides, once, whether
 * streams release their parser (release-parser.ts). One per server.
 */
export class NodeStreams {
  /** Whether streams give their parser back; decided at construction, fail-closed. */
  readonly releasesParsers: boolean;
  /** Why releasesParsers is what it is, for the startup log line. */
  readonly parserRelease: ParserReleaseStatus;
  private readonly open = new Set<NodeTransport>();

  /**
   * `probe` answers whether node's internals are as release-parser.ts expects; a test seam,
   * parserReleaseWorks by default. Not run at all with `off`.
   */
  constructor(mode: ReleaseParserMode, probe: () => boolean = parserReleaseWorks) {
    if (mode === 'off') this.parserRelease = 'off by config';
    else this.parserRelease = probe() ? 'active' : 'unavailable on this node version';
    this.releasesParsers = this.parserRelease === 'active';
  }

  /** Open streams. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Makes `res` a stream: writes its head (held back to go with the first body bytes) and
   * returns its transport. Throws HTTP_STREAM_PIPELINED when `res` has no connection of its
   * own yet (see requireOwnConnection).
   */
  attach(res: ServerResponse): NodeTransport {
    return new NodeTransport(res, this.open, this.releasesParsers);
  }

  /** Cuts every open stream at once: shutdown's last resort for clients that do not read. */
  cutAll(): void {
    for (const transport of this.open) transport.destroy();
  }
}

/**
 * A stream's bytes over one node:http response. The body is not chunk-encoded: a stream ends
 * only when its connection closes, so the response says `Connection: close` and the bytes go
 * straight to the socket, as the seed's servers did. That spares a chunk header and trailer
 * per write, and the response's bookkeeping, its cork and its next-tick uncork on every write.
 */
export class NodeTransport implements StreamTransport {
  /** The connection, the stream's alone (see the constructor). */
  private readonly socket: Socket;
  /** The socket is held corked from the head until the first write (see the constructor). */
  private corked = true;
  /** Told once when the connection closes (onClose). */
  private closeListener: (() => void) | undefined = undefined;

  constructor(
    private readonly res: ServerResponse,
    registry: Set<NodeTransport>,
    releaseParsers: boolean,
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
    // streams). The socket stays corked until the first write, so both still go in one.
    this.socket.cork();
    res.flushHeaders();
    // Here, not in onClose: a transport whose stream never came to be leaves the registry too.
    registry.add(this);
    res.on('close', () => {
      registry.delete(this);
      this.closeListener?.();
    });
    streamKeepsConnection(res);
    // The connection will read no other request: its parser can go (see release-parser.ts),
    // once node's parser callbacks, which may have called this constructor, have returned.
    if (releaseParsers) setImmediate(releaseParser, res);
  }

  write(chunk: string | Buffer): boolean {
    // Straight to the socket: the head is out and the body is not chunk-encoded, so these
    // are the bytes res.write would send. The socket's, too, for 'drain': once its parser
    // is released, the response hears none.
    const more = chunk.length === 0 || this.socket.write(chunk);
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    return more;
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Read at scrape time from the socket's own write buffer; tracking each write with a
   * callback instead cost a closure call per stream per flush, and on Node 24 over 100 MiB of
   * RSS with 1,000 stalled streams (test/stalled.test).
   */
  sharedBytes(seen: Set<Buffer>): number {
    let shared = 0;
    for (const { chunk } of (this.socket as WithBuffer).writableBuffer ?? []) {
      if (!Buffer.isBuffer(chunk)) continue;
      if (seen.has(chunk)) shared += chunk.length;
      else seen.add(chunk);
    }
    return shared;
  }

  get isEnded(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  drained(): Promise<void> {
    const { socket, res } = this;
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        res.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      res.on('close', done);
    });
  }

  end(graceMs: number): void {
    if (this.res.writableEnded) return;
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    this.res.end();
    // 'close' comes only once every byte is out. One timer per stream that ends, and only
    // until it closes.
    const deadline = setTimeout(() => this.res.destroy(), graceMs);
    deadline.unref();
    this.res.once('close', () => clearTimeout(deadline));
  }

  destroy(): void {
    this.res.destroy();
  }

  onClose(listener: () => void): void {
    this.closeListener = listener;
  }
}
