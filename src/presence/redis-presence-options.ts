import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../logger.js';
import { boundedOption } from '../redis/connection.js';

/** How a RedisPresence connects and how fast it notices crashed nodes; durations in ms. */
export interface RedisPresenceOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** Prepended to every key, so that several chats, or test runs, share one Redis. */
  readonly prefix: string;
  /**
   * This node's id, unique in the cluster while it runs. [default `<hostname>:<pid>:<random>`;
   * the random part keeps a restarted container, often pid 1 again, from posing as its
   * predecessor]
   */
  readonly nodeId?: string;
  /** How often the node refreshes its heartbeat. [default 3000, 50 to 60000] */
  readonly heartbeatMs?: number;
  /**
   * How long a heartbeat lives: a node silent this long is dead, its connections stop
   * counting and a sweep reaps them. At least twice heartbeatMs, so that one late beat is not
   * a death. [default 10000, up to 600000]
   */
  readonly nodeTtlMs?: number;
  /**
   * How often the node sweeps for dead nodes and grace windows that ran out (the disconnecting
   * node's own timer usually ends a window first; the sweep covers a node that closed or
   * crashed meanwhile). [default 1000, 10 to 60000]
   */
  readonly sweepMs?: number;
  /**
   * The grace window of users whose last connection was on this node when it closed: their
   * clients reconnect to another node within it, without a leave and join. [default 5000,
   * 0 to 600000]
   */
  readonly closeGraceMs?: number;
  /** Longest wait for Redis in `RedisPresence.open`. [default 10000, 100 to 600000] */
  readonly startTimeoutMs?: number;
  /** Longest wait for a Redis reply before a call rejects. [default 2000, 50 to 60000] */
  readonly commandTimeoutMs?: number;
  /** Shown in `CLIENT LIST` as `${name}:presence`. [default 'ssechat'] */
  readonly name?: string;
  readonly logger?: Logger;
}

/** The options' durations after their defaults and bounds, and the node's id. */
export interface PresenceBounds {
  readonly nodeId: string;
  readonly heartbeatMs: number;
  readonly nodeTtlMs: number;
  readonly sweepMs: number;
  readonly closeGraceMs: number;
  readonly startTimeoutMs: number;
  readonly commandTimeoutMs: number;
}

/** Applies the defaults and bounds documented on RedisPresenceOptions; throws on a bad one. */
export function presenceBounds(options: RedisPresenceOptions): PresenceBounds {
  const heartbeatMs = boundedOption('heartbeatMs', options.heartbeatMs ?? 3000, 50, 60_000);
  return {
    nodeId: options.nodeId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    heartbeatMs,
    nodeTtlMs: boundedOption('nodeTtlMs', options.nodeTtlMs ?? 10_000, 2 * heartbeatMs, 600_000),
    sweepMs: boundedOption('sweepMs', options.sweepMs ?? 1000, 10, 60_000),
    closeGraceMs: boundedOption('closeGraceMs', options.closeGraceMs ?? 5000, 0, 600_000),
    startTimeoutMs: boundedOption('startTimeoutMs', options.startTimeoutMs ?? 10_000, 100, 600_000),
    commandTimeoutMs: boundedOption(
      'commandTimeoutMs',
      options.commandTimeoutMs ?? 2000,
      50,
      60_000,
    ),
  };
}
