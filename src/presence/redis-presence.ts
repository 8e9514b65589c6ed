import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { type Logger, silentLogger } from '../logger.js';
import { reconnectDelay, redact, release, runScript } from '../redis/connection.js';
import { asArray, asInt, asStrings } from '../redis/replies.js';
import type { Arrival, OfflineListener, Presence, RestoredListener } from './presence.js';
import { presenceBounds, type RedisPresenceOptions } from './redis-presence-options.js';
import {
  CONNECT,
  DISCONNECT,
  Disconnected,
  EXPIRE,
  HEARTBEAT,
  IS_CONNECTED,
  LEAVE,
  SWEEP,
  SYNC,
} from './redis-presence-scripts.js';

export type { RedisPresenceOptions } from './redis-presence-options.js';

// Most nicks one script run handles, so that a sweep or a shutdown of a node with many users
// never blocks Redis (single-threaded) for long; the rest is done by the next run.
const BATCH = 500;
// Most consecutive sweep runs per interval when a batch left work behind.
const MAX_SWEEP_RUNS = 20;

/**
 * Presence across processes, in Redis: each node counts its own connections per user
 * (`conns:<nick>`, a hash of node id → count) and keeps them alive with a heartbeat, and Lua
 * scripts (redis-presence-scripts.ts) make every transition atomic, so that exactly one node
 * sees a user come online and exactly one fires "went offline".
 *
 * Who fires "offline":
 *
 * - The last disconnect with no grace: the disconnecting node, before `disconnect` resolves.
 * - A grace window that ran out: the disconnecting node's timer, within a few ms; if that node
 *   closed or crashed meanwhile, the first sweep of any node after the deadline, so within
 *   `sweepMs` of it.
 * - A crashed node: its heartbeat expires at most `nodeTtlMs` after its last beat; from then
 *   its connections no longer count (`isConnected` is false), and the first sweep of another
 *   node reaps them. A user whose last connection was there goes offline then, with no further
 *   grace: the clients have had the TTL to reconnect elsewhere. Bound: `nodeTtlMs + sweepMs`
 *   after the crash (plus Redis latency), or the user's grace deadline if later. A lone node
 *   that crashes is reaped by the next node to start.
 * - A clean `close`: this node's connections are removed and users whose last one was here
 *   get a grace window of `closeGraceMs`, which another node's sweep ends.
 *
 * Outages. Calls fail fast while Redis is unreachable (no offline queue), and reject after
 * `commandTimeoutMs` on a silent connection. `connect` then rejects (the caller refuses the
 * stream). `disconnect` does not: this node's own count (kept in memory, the truth for its
 * share) is lowered anyway, and the next heartbeat that reaches Redis writes that share back
 * (SYNC). The same heals a node whose heartbeat expired while it was alive (a stall or a
 * partition longer than the TTL, or Redis restarted without its data): its users, reaped and
 * announced as gone, are counted again and come back online silently, without a "joined"; the
 * restored listeners are told, so that the cluster can refresh its views. The node learns it
 * was reaped from a token, not from the reply of a call that may have timed out: each beat
 * stores a fresh token in the node's key and says whether the key still held the token of the
 * last beat whose reply arrived (see HEARTBEAT). Until a SYNC succeeds every user of the node
 * stays due for it. One loss remains: a
 * reply lost after its script ran (the connection dropped in between) can cost one "offline"
 * call, since the transition happened in Redis but no node saw its result.
 *
 * Limits: needs a standalone Redis 5+ (see the scripts). `online()` and the `online` list of
 * `connect` hold every online user, as in the in-memory backend.
 */
export class RedisPresence implements Presence {
  /** This node's id in Redis (`node:<id>`). */
  readonly nodeId: string;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly heartbeatMs: number;
  private readonly nodeTtlMs: number;
  private readonly sweepMs: number;
  private readonly closeGraceMs: number;
  // This node's open connections per nick: the truth for this node's share in Redis. It is
  // updated when a call is sent, not when it returns, so that a SYNC sent later carries every
  // change sent before it (one connection runs commands in order).
  private readonly mine = new Map<string, number>();
  // Nicks whose share in Redis may differ from `mine` after a failed call, with the grace
  // window to start if the share is now 0. Written back by the next heartbeat.
  private dirty = new Map<string, number>();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();
  private listeners: OfflineListener[] = [];
  private restoredListeners: RestoredListener[] = [];
  // The token of the last heartbeat whose reply arrived: what the node key holds unless the
  // node was reaped, or a beat whose reply was lost ran (HEARTBEAT). '' before the first beat.
  private token = '';
  // A SYNC, CONNECT or DISCONNECT failed: it may have run without this node seeing its result
  // (a user online, or offline, with nobody told), so the next SYNC that succeeds tells the
  // restored listeners even if it brought nobody back (every process then refreshes its view).
  private syncUnsure = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private isClosed = false;
  // Calls whose reply may fire listeners; close() lets them finish, so that a transition that
  // already happened in Redis is announced rather than lost.
  private readonly inflight = new Set<Promise<unknown>>();

  private constructor(options: RedisPresenceOptions) {
    this.prefix = options.prefix;
    this.logger = options.logger ?? silentLogger;
    const bounds = presenceBounds(options);
    this.nodeId = bounds.nodeId;
    this.heartbeatMs = bounds.heartbeatMs;
    this.nodeTtlMs = bounds.nodeTtlMs;
    this.sweepMs = bounds.sweepMs;
    this.closeGraceMs = bounds.closeGraceMs;
    const commandTimeout = bounds.commandTimeoutMs;
    this.redis = new Redis(options.url, {
      connectionName: `${options.name ?? 'ssechat'}:presence`,
      retryStrategy: reconnectDelay,
      // Fail fast while disconnected, and never resend a script whose reply was lost: it may
      // have run, and a second CONNECT would count a connection twice. SYNC heals instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout,
    });
    let last = '';
    this.redis.on('ready', () => {
      last = '';
    });
    // Without a listener ioredis prints every connection error; warn once per kind of error.
    this.redis.on('error', (err: Error) => {
      const level = err.message === last ? 'debug' : 'warn';
      this.logger[level]('redis presence connection error', { error: err.message });
      last = err.message;
    });
  }

  /**
   * Connects, registers this node (its first heartbeat) and starts the heartbeat and sweep
   * timers. Rejects, naming the URL, when Redis does not answer: a node should not start
   * without presence.
   */
  static async open(options: RedisPresenceOptions): Promise<RedisPresence> {
    const { startTimeoutMs } = presenceBounds(options);
    const presence = new RedisPresence(options);
    try {
      if (presence.redis.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no connection after ${startTimeoutMs} ms`)),
            startTimeoutMs,
          );
          presence.redis.once('ready', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await presence.beat();
    } catch (err) {
      await presence.abandon();
      throw new Error(`Redis presence: cannot register at ${redact(options.url)}: ${String(err)}`);
    }
    presence.scheduleHeartbeat();
    presence.scheduleSweep();
    return presence;
  }

  async connect(nick: string): Promise<Arrival> {
    if (this.isClosed) throw new Error('connect on a closed presence');
    this.cancelGrace(nick);
    this.add(nick, 1);
    let reply: unknown;
    try {
      reply = await this.run(CONNECT, this.nodeId, nick);
    } catch (err) {
      // The script may have run before the connection dropped: let SYNC set the truth.
      this.add(nick, -1);
      this.dirty.set(nick, 0);
      // If it ran, it may have brought the user online with nobody told (no reply, no join).
      this.syncUnsure = true;
      throw err;
    }
    const [first, tabs, online] = asArray(reply, 3);
    return { online: asStrings(online), first: first === 1, tabs: asInt(tabs) };
  }

  disconnect(nick: string, graceMs: number): Promise<void> {
    // Only this node's own connections can be uncounted here.
    if (this.isClosed || !this.mine.get(nick)) return Promise.resolve();
    return this.track(this.uncount(nick, graceMs));
  }

  private async uncount(nick: string, graceMs: number): Promise<void> {
    this.add(nick, -1);
    let code: number;
    try {
      code = asInt(await this.run(DISCONNECT, this.nodeId, nick, graceMs));
    } catch (err) {
      this.logger.warn('redis presence disconnect failed; the next heartbeat fixes it', {
        error: String(err),
      });
      this.dirty.set(nick, graceMs);
      // If it ran, the user may have gone offline with nobody told.
      this.syncUnsure = true;
      return;
    }
    if (code === Disconnected.Offline) this.fire(nick);
    else if (code === Disconnected.Grace) this.armGrace(nick, graceMs);
  }

  async isConnected(nick: string): Promise<boolean> {
    return asInt(await this.run(IS_CONNECTED, nick)) === 1;
  }

  async online(): Promise<string[]> {
    return asStrings(await this.redis.zrange(`${this.prefix}online`, '0', '-1'));
  }

  onOffline(listener: OfflineListener): void {
    this.listeners.push(listener);
  }

  onRestored(listener: RestoredListener): void {
    this.restoredListeners.push(listener);
  }

  /** A PING on the connection every call uses, bounded by commandTimeoutMs. */
  async ping(): Promise<void> {
    if (this.isClosed) throw new Error('ping on a closed presence');
    await this.redis.ping();
  }

  /**
   * Stops the timers, then removes this node's connections from Redis: users whose last one
   * was here get a grace window of `closeGraceMs`, which another node ends (see the class
   * comment). No listener of this node is called afterwards. If Redis is unreachable, the
   * connections are reaped like a crashed node's, after `nodeTtlMs`.
   */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.stop();
    await Promise.allSettled([...this.inflight]);
    this.listeners = [];
    this.restoredListeners = [];
    try {
      let more = true;
      while (more) more = asInt(await this.run(LEAVE, this.nodeId, this.closeGraceMs, BATCH)) === 1;
    } catch (err) {
      this.logger.warn('redis presence could not remove its connections; they expire', {
        error: String(err),
        nodeTtlMs: this.nodeTtlMs,
      });
    }
    await release(this.redis);
  }

  /**
   * Stops as a crash would: timers and the connection go, and Redis is left as it was, so
   * other nodes must notice the missing heartbeat. For tests of the crash path.
   */
  simulateCrash(): Promise<void> {
    return this.abandon();
  }

  private async abandon(): Promise<void> {
    this.stop();
    this.listeners = [];
    this.restoredListeners = [];
    await release(this.redis);
  }

  // Stops everything that would start new work; what is in flight finishes.
  private stop(): void {
    this.isClosed = true;
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.sweepTimer);
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
  }

  private add(nick: string, delta: number): void {
    const n = (this.mine.get(nick) ?? 0) + delta;
    if (n > 0) this.mine.set(nick, n);
    else this.mine.delete(nick);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inflight.add(work);
    const done = (): void => {
      this.inflight.delete(work);
    };
    work.then(done, done);
    return work;
  }

  private fire(nick: string): void {
    for (const listener of this.listeners) listener(nick);
  }

  // The grace window is ended by the node that started it, right on time; a node's sweep is
  // the backstop for one that went away.
  private armGrace(nick: string, ms: number): void {
    this.cancelGrace(nick);
    const timer = setTimeout(() => {
      this.graceTimers.delete(nick);
      this.track(
        this.run(EXPIRE, nick).then(
          (reply) => {
            const wait = asInt(reply);
            if (wait === 0) this.fire(nick);
            else if (wait > 0 && !this.isClosed) this.armGrace(nick, wait);
          },
          // The sweep ends the window instead.
          (err: unknown) =>
            this.logger.debug('redis presence grace check failed', { error: String(err) }),
        ),
      );
    }, ms);
    // A pending grace window must not keep the process alive at shutdown.
    timer.unref();
    this.graceTimers.set(nick, timer);
  }

  private cancelGrace(nick: string): void {
    const timer = this.graceTimers.get(nick);
    if (!timer) return;
    clearTimeout(timer);
    this.graceTimers.delete(nick);
  }

  /** Refreshes the heartbeat and writes back this node's share where it may be wrong. */
  private async beat(): Promise<void> {
    const fresh = randomBytes(8).toString('hex');
    const reply = await this.run(HEARTBEAT, this.nodeId, this.nodeTtlMs, this.token, fresh);
    // Only now: a beat that timed out may have run, but nothing says it did.
    this.token = fresh;
    const lost = asInt(reply) === 1;
    if (lost && this.mine.size > 0) {
      this.logger.warn('redis presence heartbeat had expired; restoring this node’s users', {
        nodeId: this.nodeId,
        users: this.mine.size,
      });
      for (const nick of this.mine.keys()) if (!this.dirty.has(nick)) this.dirty.set(nick, 0);
    }
    if (this.dirty.size > 0) await this.sync();
  }

  private async sync(): Promise<void> {
    const todo = this.dirty;
    this.dirty = new Map();
    const entries = [...todo];
    const back: string[] = [];
    try {
      for (let i = 0; i < entries.length; i += BATCH) {
        const args: (string | number)[] = [];
        for (const [nick, grace] of entries.slice(i, i + BATCH)) {
          args.push(nick, this.mine.get(nick) ?? 0, grace);
        }
        back.push(...asStrings(await this.run(SYNC, this.nodeId, ...args)));
      }
    } catch (err) {
      // Keep what failed for the next beat, unless a newer failure replaced it meanwhile.
      for (const [nick, grace] of todo) if (!this.dirty.has(nick)) this.dirty.set(nick, grace);
      this.syncUnsure = true;
      throw err;
    }
    if (back.length > 0 || this.syncUnsure) {
      this.syncUnsure = false;
      if (back.length > 0) {
        this.logger.info('redis presence restored this node’s users', {
          nodeId: this.nodeId,
          users: back.length,
        });
      }
      for (const listener of this.restoredListeners) listener(back);
    }
  }

  // setTimeout chains rather than setInterval: a slow run never overlaps the next one.
  private scheduleHeartbeat(): void {
    if (this.isClosed) return;
    this.heartbeatTimer = setTimeout(() => {
      this.beat()
        .catch((err: unknown) =>
          this.logger.warn('redis presence heartbeat failed', {
            error: String(err),
            nodeTtlMs: this.nodeTtlMs,
          }),
        )
        .finally(() => this.scheduleHeartbeat());
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private scheduleSweep(): void {
    if (this.isClosed) return;
    this.sweepTimer = setTimeout(() => {
      this.track(this.sweep())
        .catch((err: unknown) =>
          this.logger.debug('redis presence sweep failed', { error: String(err) }),
        )
        .finally(() => this.scheduleSweep());
    }, this.sweepMs);
    this.sweepTimer.unref();
  }

  private async sweep(): Promise<void> {
    for (let run = 0; run < MAX_SWEEP_RUNS && !this.isClosed; run++) {
      const [more, fired] = asArray(await this.run(SWEEP, BATCH), 2);
      for (const nick of asStrings(fired)) this.fire(nick);
      if (more !== 1) return;
    }
  }

  /** Runs one of the scripts (see runScript). */
  private run(script: string, ...args: (string | number)[]): Promise<unknown> {
    return runScript(this.redis, script, [], [this.prefix, ...args]);
  }
}
