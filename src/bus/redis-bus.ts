import { Redis, type RedisOptions } from 'ioredis';
import type { BusEvent } from '../domain/events.js';
import { type Logger, silentLogger } from '../logger.js';
import { boundedOption, reconnectDelay, redact, release } from '../redis/connection.js';
import type { Bus, BusHandler } from './bus.js';
import { TransitTimer } from './transit.js';

/** Called when the subscriber is subscribed again after its connection dropped. */
export type ReconnectListener = () => void;

/** How a RedisBus connects; every duration is in milliseconds. */
export interface RedisBusOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /**
   * Prepended to the channel name (`${prefix}events`), so that several chats, or test runs,
   * share one Redis without hearing each other.
   */
  readonly prefix: string;
  /** Shown in `CLIENT LIST` as `${name}:bus-pub` and `${name}:bus-sub`. [default 'ssechat'] */
  readonly name?: string;
  /**
   * Longest wait for Redis to accept a publish before it rejects, for a connection that is
   * open but unresponsive (a closed one rejects at once). [default 1000, 50 to 60000]
   */
  readonly publishTimeoutMs?: number;
  /**
   * How often the idle subscriber connection is pinged. A subscriber only ever reads, so a
   * half-open TCP connection (a partition, a Redis host that vanished) would otherwise go
   * unnoticed until the kernel's keepalive gives up, which takes minutes; a missed ping drops
   * and reconnects it. [default 5000, 100 to 60000]
   */
  readonly healthCheckMs?: number;
  /** Longest wait for the first subscription in `RedisBus.open`. [default 10000, 100 to 600000] */
  readonly startTimeoutMs?: number;
  /**
   * Called with the seconds from publishing one of this bus's own events to receiving it back
   * on the subscriber, for a latency histogram. [default: not measured]
   */
  readonly onTransit?: (seconds: number) => void;
  readonly logger?: Logger;
}

/**
 * The Bus across processes, on Redis pub/sub: one channel, `${prefix}events`, carrying each
 * BusEvent as JSON. Publishing and subscribing use two connections, because a subscribed
 * connection is reserved for pub/sub (RESP2) and because a burst of deliveries must not delay
 * a publish behind it.
 *
 * Delivery and order. Redis hands a PUBLISH to every subscribed connection before it replies,
 * and one connection's commands run in the order they were sent, so the events of one
 * publisher reach every handler in publish order. Pub/sub is fire-and-forget: a process whose
 * subscriber is disconnected misses what is published meanwhile. That is the Bus contract
 * (the Store is the durable truth): when the subscriber is subscribed again, `onReconnect`
 * listeners run and the process must fill the gap from the Store (Store.log).
 *
 * Outages. Both connections reconnect forever with `reconnectDelay`. While the publisher is
 * disconnected, `publish` rejects at once instead of queueing (an unbounded offline queue
 * would grow with traffic and then replay stale events); on a connection that is open but
 * silent it rejects after `publishTimeoutMs`. Either way the event is already durable in the
 * Store, so the caller treats the failure as "clients catch up on resume". A publish that was
 * in flight when the connection dropped is never resent: Redis may already have delivered it,
 * and a resend would deliver it twice.
 */
export class RedisBus implements Bus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly logger: Logger;
  private handlers: BusHandler[] = [];
  private reconnectListeners: ReconnectListener[] = [];
  private isClosed = false;
  private subscribedOnce = false;
  // True while subscribed, so that a drop is logged once and not at every failed retry.
  private subscribedNow = false;
  private healthCheck: NodeJS.Timeout | undefined;
  // Redis delivers one connection's publishes in order, as TransitTimer needs.
  private readonly transit: TransitTimer | undefined;
  // Settles once both connections have been ready: subscribed, and able to publish.
  private readonly started: Promise<void>;
  private resolveSubscribed: () => void = () => {};
  private rejectStart: (err: Error) => void = () => {};

  /**
   * Starts both connections; `ready()` resolves once both are up. Prefer
   * `RedisBus.open`, which also bounds that wait.
   */
  constructor(options: RedisBusOptions) {
    const name = options.name ?? 'ssechat';
    const publishTimeoutMs = boundedOption(
      'publishTimeoutMs',
      options.publishTimeoutMs ?? 1000,
      50,
      60_000,
    );
    const healthCheckMs = boundedOption(
      'healthCheckMs',
      options.healthCheckMs ?? 5000,
      100,
      60_000,
    );
    this.channel = `${options.prefix}events`;
    this.logger = options.logger ?? silentLogger;
    this.transit = options.onTransit && new TransitTimer(options.onTransit);

    const common: RedisOptions = {
      retryStrategy: reconnectDelay,
      // Fail fast rather than queue while disconnected (see the class comment).
      enableOfflineQueue: false,
      // Reject in-flight commands when the connection drops instead of keeping them for a
      // resend after reconnection: a resent PUBLISH could be delivered twice.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: publishTimeoutMs,
    };
    this.pub = new Redis(options.url, { ...common, connectionName: `${name}:bus-pub` });
    // Resubscription is ours, not ioredis's, so that we know when it is confirmed and can
    // tell onReconnect listeners that from now on nothing is missed.
    this.sub = new Redis(options.url, {
      ...common,
      connectionName: `${name}:bus-sub`,
      autoResubscribe: false,
    });

    for (const [role, redis] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      // Without a listener ioredis prints every connection error to the console. During an
      // outage every retry fails the same way: warn once, then keep the repeats at debug.
      let last = '';
      redis.on('ready', () => {
        last = '';
      });
      redis.on('error', (err: Error) => {
        const level = err.message === last ? 'debug' : 'warn';
        this.logger[level]('redis bus connection error', { role, error: err.message });
        last = err.message;
      });
    }
    const subscribed = new Promise<void>((resolve) => {
      this.resolveSubscribed = resolve;
    });
    // Without this a publish right after `open` could meet a publisher still connecting.
    const publisherReady = new Promise<void>((resolve) => this.pub.once('ready', resolve));
    const closed = new Promise<never>((_, reject) => {
      this.rejectStart = reject;
    });
    this.started = Promise.race([Promise.all([subscribed, publisherReady]).then(() => {}), closed]);
    // An unobserved startup failure (close before the start) is not a crash.
    this.started.catch(() => {});
    this.sub.on('ready', () => this.resubscribe());
    this.sub.on('close', () => {
      if (!this.subscribedNow || this.isClosed) return;
      this.subscribedNow = false;
      this.logger.warn('redis bus subscriber disconnected; events are missed until it is back');
    });
    this.sub.on('message', (channel: string, payload: string) => this.receive(channel, payload));

    this.healthCheck = setInterval(() => this.checkSubscriber(publishTimeoutMs), healthCheckMs);
    this.healthCheck.unref();
  }

  /**
   * Creates a bus and waits until it is subscribed and can publish, so that it receives every
   * event published after this resolves. Rejects, naming the URL, when Redis is not reachable
   * within `startTimeoutMs`: a node should not start without its Bus.
   */
  static async open(options: RedisBusOptions): Promise<RedisBus> {
    const startTimeoutMs = boundedOption(
      'startTimeoutMs',
      options.startTimeoutMs ?? 10_000,
      100,
      600_000,
    );
    const bus = new RedisBus(options);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `Redis bus: not connected to ${redact(options.url)} after ${startTimeoutMs} ms`,
            ),
          ),
        startTimeoutMs,
      );
    });
    try {
      await Promise.race([bus.ready(), timeout]);
      return bus;
    } catch (err) {
      await bus.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Resolves once the subscriber is subscribed and the publisher connected, for the first time;
   * rejects if the bus is closed before.
   */
  ready(): Promise<void> {
    return this.started;
  }

  async publish(event: BusEvent): Promise<void> {
    if (this.isClosed) throw new Error('publish on a closed bus');
    const payload = JSON.stringify(event);
    if (this.transit === undefined) {
      await this.pub.publish(this.channel, payload);
      return;
    }
    const forget = this.transit.sent(payload);
    try {
      await this.pub.publish(this.channel, payload);
    } catch (err) {
      forget();
      throw err;
    }
  }

  subscribe(handler: BusHandler): void {
    this.handlers.push(handler);
  }

  /**
   * Both connections must answer a PING (each within publishTimeoutMs), and the subscriber
   * must hold its subscription: a process that cannot hear the channel misses events.
   */
  async ping(): Promise<void> {
    if (this.isClosed) throw new Error('ping on a closed bus');
    if (!this.subscribedNow) throw new Error('the redis bus subscriber is not subscribed');
    await Promise.all([this.pub.ping(), this.sub.ping()]);
  }

  /**
   * Adds a listener for resubscription after a drop: events published while the subscriber
   * was away were missed, so the listener fills the gap from the Store. It runs once per
   * recovery, after the subscription is confirmed (so nothing later is missed either).
   */
  onReconnect(listener: ReconnectListener): void {
    this.reconnectListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.handlers = [];
    this.reconnectListeners = [];
    clearInterval(this.healthCheck);
    this.healthCheck = undefined;
    this.rejectStart(new Error('bus closed before it was ready'));
    await Promise.all([release(this.pub), release(this.sub)]);
  }

  // On every `ready`, the first one included: a fresh connection has no subscription.
  private resubscribe(): void {
    this.sub.subscribe(this.channel).then(
      () => {
        if (this.isClosed) return;
        this.subscribedNow = true;
        if (!this.subscribedOnce) {
          this.subscribedOnce = true;
          this.resolveSubscribed();
          return;
        }
        this.logger.info('redis bus subscriber is back', { channel: this.channel });
        this.transit?.clear();
        for (const listener of this.reconnectListeners) listener();
      },
      // The connection dropped again before the reply; its next `ready` retries.
      (err: Error) => this.logger.warn('redis bus subscribe failed', { error: err.message }),
    );
  }

  private receive(channel: string, payload: string): void {
    if (this.isClosed || channel !== this.channel) return;
    let event: BusEvent;
    try {
      event = JSON.parse(payload) as BusEvent;
    } catch (err) {
      // Someone else publishes on our channel; one bad payload must not stop delivery.
      this.logger.warn('redis bus dropped an unreadable event', { error: String(err) });
      return;
    }
    this.transit?.received(payload);
    for (const handler of this.handlers) handler(event);
  }

  private checkSubscriber(timeoutMs: number): void {
    if (this.sub.status !== 'ready') return;
    this.sub.ping().catch((err: Error) => {
      if (this.isClosed || this.sub.status !== 'ready') return;
      this.logger.warn('redis bus subscriber missed a ping; reconnecting', {
        error: err.message,
        timeoutMs,
      });
      // true: reconnect (with the usual backoff) rather than close for good.
      this.sub.disconnect(true);
    });
  }
}
