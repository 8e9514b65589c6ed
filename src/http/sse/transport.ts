/**
 * How a stream's bytes reach its client: the one thing a stream (stream.ts) asks of the HTTP
 * server underneath. A stream decides what to send and when to give up on a client; a
 * transport only moves bytes, counts what it has not sent yet, and says when the connection
 * is gone. node:http's is node-transport.ts; a test may bring its own.
 *
 * The response's head is the transport's business too: it is out, or held to go with the
 * first write, before the stream is handed the transport.
 */
export interface StreamTransport {
  /**
   * Sends body bytes as they are (the stream frames them). The first call also lets out
   * whatever the transport held back to go in the same write (the head), even for an empty
   * chunk. Returns false once the connection's buffer is past its high-water mark: the
   * caller may go on writing, or wait for drained(). Never called after end() or destroy().
   */
  write(chunk: string | Buffer): boolean;
  /** Bytes written and not yet taken by the client (the kernel's share not counted). */
  readonly queuedBytes: number;
  /**
   * Of queuedBytes, those in chunks already in `seen` (one Buffer written to several
   * streams), adding this transport's other chunks to `seen`.
   */
  sharedBytes(seen: Set<Buffer>): number;
  /** True once end() or destroy() was called, or the connection went away. */
  readonly isEnded: boolean;
  /** Resolves once the connection can take more after a write() that said false, or closed. */
  drained(): Promise<void>;
  /**
   * Ends the response once what is queued is out; cuts it if that takes more than `graceMs`
   * (a client that stopped reading). Idempotent.
   */
  end(graceMs: number): void;
  /** Cuts the connection at once, queued bytes and all. */
  destroy(): void;
  /** Calls `listener` once when the connection has closed, for whatever reason. */
  onClose(listener: () => void): void;
}
