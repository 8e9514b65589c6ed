import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { ChatError, type ErrorCode } from '../domain/errors.js';
import type { Stats } from '../ops/stats.js';
import { addressKey } from './admission.js';
import { rawError } from './reply.js';

/**
 * File descriptors kept back from client connections for the process's own: the database and
 * its WAL, PostgreSQL and Redis connections, stdout, webhook requests. Past the file limit
 * minus these, accept() itself fails and nobody is served, /healthz included.
 */
const RESERVED_FDS = 64;

/**
 * No one address may hold more than 1/ADDRESS_SHARE of the connections the file limit leaves,
 * so that a few addresses cannot take them all: at the common limit of 1,024, 30 per address.
 */
const ADDRESS_SHARE = 32;

/**
 * The last 1/RESERVE_SHARE of the budget only admits an address that holds fewer than
 * RESERVE_MAX_HELD connections, so that when the budget is nearly used up, a new address (a
 * browser, a /healthz probe) still gets in: at 1,024, the last 120 of 960. Addresses past that
 * get 503 SERVER_CONNECTIONS_FULL there.
 */
const RESERVE_SHARE = 8;
const RESERVE_MAX_HELD = 4;

/**
 * How long a refused connection is given to read its answer before it is cut, counted from
 * the refusal whatever the client sends meanwhile (an idle timeout would be reset by every
 * byte it drips). Closing at once with its request unread would make the kernel send a reset,
 * which may destroy the answer before the client reads it.
 */
const REFUSAL_LINGER_MS = 1_000;

/**
 * Refused connections lingering at once, taken from RESERVED_FDS rather than from the budget,
 * so that refusals never crowd out admitted connections. Past it, a refused connection is
 * closed at once without an answer.
 */
const REFUSAL_POOL = RESERVED_FDS / 2;

/** What the gate needs: the per-address cap, and what the process can hold. */
export interface ConnectionGateOptions {
  /** config maxConnectionsPerIp; 0 for any number (and no share of the budget either). */
  readonly maxPerAddress: number;
  /**
   * config trustProxy: every connection then comes from the proxy, whose address says nothing
   * about the client, so the per-address cap is not applied (limit it at the proxy, e.g.
   * nginx `limit_conn`); the file-limit budget still is.
   */
  readonly trustProxy: boolean;
  /** The soft limit on open files (softFileLimit()); Infinity when there is none. */
  readonly fileLimit: number;
  /** Counts refused connections. */
  readonly stats?: Stats;
}

/**
 * Reads the process's soft RLIMIT_NOFILE from /proc/self/limits (node raised it to the hard
 * limit at start, so this is what `ulimit -Hn` said); Infinity when it is unlimited or cannot
 * be read (not Linux).
 */
export function softFileLimit(limits?: string): number {
  let text = limits;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const n = soft === undefined ? Number.NaN : Number(soft);
  return Number.isSafeInteger(n) && n > 0 ? n : Number.POSITIVE_INFINITY;
}

/** The plain HTTP answer of a refused connection, built once per code. */
function refusal(code: ErrorCode, reason: string, detail: string): Buffer {
  return Buffer.from(rawError(new ChatError(code, detail), reason, {}, { 'Retry-After': '1' }));
}

/**
 * Counts open TCP connections at accept time, before node:http gives one a parser, and refuses
 * a connection past a cap with a plain HTTP answer, then closes it; node never reads from it.
 *
 * - Per client address (an IPv6 one by its /64, as the flood guards key it): at most
 *   `maxPerAddress`, and at most 1/ADDRESS_SHARE of the budget below (unless `maxPerAddress`
 *   is 0). Only the socket's address is known this early, before any header: see
 *   ConnectionGateOptions.trustProxy. 429 HTTP_TOO_MANY_CONNECTIONS.
 * - For the process: at most the soft file limit minus RESERVED_FDS admitted connections, the
 *   last 1/RESERVE_SHARE of them only for addresses holding fewer than RESERVE_MAX_HELD.
 *   503 SERVER_CONNECTIONS_FULL.
 * - A refused connection lingers REFUSAL_LINGER_MS at most; while REFUSAL_POOL of them
 *   linger, one more is closed without an answer.
 *
 * It takes over the server's 'connection' listeners (node's own among them), so call it right
 * after createServer, before anything else listens for connections.
 */
export function gateConnections(server: Server, options: ConnectionGateOptions): void {
  const inner = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const budget = Math.max(1, options.fileLimit - RESERVED_FDS);
  // Past this many admitted connections, only addresses holding few more are admitted.
  const reserveFrom = budget - Math.floor(budget / RESERVE_SHARE);
  const share = Math.max(1, Math.floor(budget / ADDRESS_SHARE));
  // 0 turns the per-address cap off altogether, share and all: a load test from one address.
  const cap =
    options.trustProxy || options.maxPerAddress === 0
      ? Number.POSITIVE_INFINITY
      : Math.min(options.maxPerAddress, share);
  const tooMany = refusal(
    'HTTP_TOO_MANY_CONNECTIONS',
    'Too Many Requests',
    `the limit is ${Number.isFinite(cap) ? cap : 'none'} per address`,
  );
  const full = refusal('SERVER_CONNECTIONS_FULL', 'Service Unavailable', 'try again later');
  /** Admitted connections per address key; an entry lives while its connections do. */
  const byAddress = new Map<string, number>();
  /** Admitted connections open now. */
  let open = 0;
  /** Refused connections lingering now (at most REFUSAL_POOL). */
  let lingering = 0;

  // Shared listeners, no closure per connection (streams hold theirs for hours). The socket
  // keeps its peer address once read, so the key is found again at close.
  function admittedClosed(this: Socket): void {
    open--;
    if (!Number.isFinite(cap)) return;
    const key = addressKey(this.remoteAddress ?? '');
    const left = (byAddress.get(key) ?? 1) - 1;
    if (left > 0) byAddress.set(key, left);
    else byAddress.delete(key);
  }
  function cut(this: Socket): void {
    this.destroy();
  }

  const refuse = (socket: Socket, answer: Buffer): void => {
    if (options.stats) options.stats.refused.connections++;
    socket.on('error', cut);
    if (lingering >= REFUSAL_POOL) {
      socket.destroy();
      return;
    }
    lingering++;
    // Absolute: the client's bytes must not put the cut off (see REFUSAL_LINGER_MS).
    const deadline = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
    deadline.unref();
    socket.on('close', () => {
      lingering--;
      clearTimeout(deadline);
    });
    // Read and drop what the client sends, so that it can read the answer and close.
    socket.resume();
    socket.end(answer);
  };

  server.on('connection', (socket: Socket) => {
    if (open >= budget) {
      refuse(socket, full);
      return;
    }
    if (Number.isFinite(cap)) {
      const key = addressKey(socket.remoteAddress ?? '');
      const held = byAddress.get(key) ?? 0;
      if (held >= cap) {
        refuse(socket, tooMany);
        return;
      }
      if (open >= reserveFrom && held >= RESERVE_MAX_HELD) {
        refuse(socket, full);
        return;
      }
      byAddress.set(key, held + 1);
    }
    open++;
    socket.on('close', admittedClosed);
    for (const listener of inner) listener.call(server, socket);
  });
}
