import type { ChatEvent, EventId } from '../domain/events.js';

/**
 * Turns events into wire frames for one front door (the classic text protocol, later the JSON
 * API). For an event addressed to everyone (a broadcast, a join, a leave) or to a room the
 * frame must not depend on the viewer: the Hub renders it once per format and reuses it for
 * every stream.
 */
export interface Format {
  /** The frame `viewer` sees for `event`, or null when this format does not show it. */
  render(event: ChatEvent, viewer: string): string | null;
  /**
   * What an idle stream of this format is sent every heartbeat; an SSE comment when absent.
   * A comment keeps proxies from closing the stream, but EventSource never shows it to the
   * page; an event lets a client notice a stream that died without a word.
   */
  readonly heartbeat?: string;
  /**
   * When present, this format shows presence as a count once more users are online than the
   * Hub's crowd bound: instead of a frame per user who comes or goes, a stream gets this
   * frame with the number online, at most once per ROOM_COUNT_MS. Formats without it (the
   * classic one, which must say every "X has joined." as the seed did) get every change.
   * `ended` marks the last count, sent at once when the crowd thins out to the bound: joins
   * and leaves follow again, and the client should read the whole list anew.
   */
  crowd?(online: number, ended: boolean): string;
  /**
   * The last frame of a stream ended at shutdown, telling the client to come back in
   * `retryMs`; a bare `retry:` field when absent (EventSource obeys it by itself).
   */
  farewell?(retryMs: number): string;
}

/**
 * One open stream to one client. The Hub holds Subscribers, never sockets or responses: how a
 * frame reaches the wire, and what happens when the client reads too slowly, is the
 * transport's business (see http/sse/stream.ts and http/sse/transport.ts).
 */
export interface Subscriber {
  /** Unique across every process of the cluster (the Bus carries it in `joined.origin`). */
  readonly id: string;
  readonly nick: string;
  readonly format: Format;
  /** The id of the credential that opened it, if any: revoking that credential ends it. */
  readonly credential?: string;
  /** The client's network as an address ban names it (domain/sanctions.ts), when known. */
  readonly address?: string;
  /**
   * Queues a frame; must not throw, even after the client went away. `id` is the logged
   * event's id, so that a stream replaying from the Store can drop live copies it replayed.
   */
  send(frame: string, id?: EventId): void;
  /** Writes a keep-alive if the transport needs one. */
  heartbeat(): void;
  /**
   * Ends the stream. With `retryMs`, first tells the client to come back after that long (a
   * shutdown spreads its clients' reconnections this way).
   */
  close(retryMs?: number): void;
  /**
   * Cuts the stream at once, without waiting for queued bytes to reach the client (shutdown's
   * last resort for a client that does not read). Absent where close() never waits.
   */
  abort?(): void;
  /** Bytes queued and not yet taken by the client, for metrics; absent when not known. */
  queuedBytes?(): number;
  /**
   * Of queuedBytes, those of chunks already in `seen` (one buffer queued on several streams),
   * adding this stream's others to it: the queue gauge counts such a chunk once.
   */
  sharedBytes?(seen: Set<Buffer>): number;
}
