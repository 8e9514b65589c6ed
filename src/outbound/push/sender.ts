/**
 * Sends Web Push messages (RFC 8030), encrypted for the browser (RFC 8291, aes128gcm) and
 * signed with the server's VAPID key (RFC 8292), off the request path: `send` only queues.
 * A bounded queue, fair across users (lanes.ts), feeds a few concurrent requests, each with a
 * timeout, retried with backoff when the push service is busy or unreachable; endpoints that
 * answer slowly or not at all get only the slow slots (health.ts, limits.ts). A subscription
 * the push service says is gone (404, 410), or whose pushes kept failing for an hour, is
 * removed from the Store. Every request goes to an address the EndpointGuard checked just
 * before, and to no other.
 */
import { ChatError } from '../../domain/errors.js';
import type { LogFields, Logger } from '../../logger.js';
import type { PushStore, PushSubscriptionRecord, VapidKeys } from '../../store/push-store.js';
import type { EndpointGuard, PushTarget } from './endpoint-guard.js';
import { EndpointHealth } from './health.js';
import { FairLanes } from './lanes.js';
import { PUSH_LIMITS, type PushLimits } from './limits.js';
import { checkOptions, type PushOptions } from './options.js';
import { fitPayload, MAX_PAYLOAD_BYTES } from './payload.js';
import { abortable, postTo, pushRequest } from './post.js';

export { PUSH_LIMITS, type PushLimits } from './limits.js';
export { DEFAULT_TTL_SECONDS, type PushOptions, type PushUrgency } from './options.js';
export { fitPayload, MAX_PAYLOAD_BYTES } from './payload.js';

/** What the sender counts (ops/stats.ts holds them, prometheus.ts exports them). */
export interface PushCounts {
  /** Pushes a push service accepted (2xx). */
  sent: number;
  /** Pushes given up: refused (4xx but 404/410), out of attempts, or to a refused address. */
  failed: number;
  /**
   * Subscriptions removed because their push service answered 404 or 410, or because their
   * pushes kept failing (PUSH_LIMITS.deadAfterFailures, deadAfterMs).
   */
  pruned: number;
  /** Pushes dropped because the queue, or the subscriber's share of it, was full (or closed). */
  dropped: number;
}

/** What the sender needs. */
export interface PushSenderOptions {
  /** The server's VAPID key pair (PushStore.vapidKeys). */
  readonly keys: VapidKeys;
  /** The VAPID subject (`--push-subject`). */
  readonly subject: string;
  readonly guard: EndpointGuard;
  /** Where a gone or dead subscription is removed. */
  readonly store: Pick<PushStore, 'dropEndpoint'>;
  readonly logger: Logger;
  /** Where outcomes are counted; a private object when not given. */
  readonly counts?: PushCounts;
  /** Bounds, for tests; PUSH_LIMITS by default. */
  readonly limits?: Partial<PushLimits>;
}

/** One push on its way. */
interface Job {
  /** Whose lane it waits in: the subscriber's nick. */
  readonly key: string;
  readonly sub: PushSubscriptionRecord;
  readonly body: string;
  readonly options: PushOptions;
  attempt: number;
}

/** One attempt in flight: which slots it counts against, and how to cut it. */
interface Running {
  readonly controller: AbortController;
  pool: 'main' | 'slow';
}

/** How one attempt ended. */
type Outcome =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterMs?: number }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'error'; readonly err: unknown };

/** See the top of this file. What the push dispatcher calls: `send` and `publicKey`. */
export class PushSender {
  /** The server's VAPID public key (base64url, 65 bytes): browsers subscribe with it. */
  readonly publicKey: string;
  /** Outcomes so far. */
  readonly counts: PushCounts;
  private readonly limits: PushLimits;
  /** Every push held: waiting, in flight or between retries, by subscriber. */
  private readonly lanes = new FairLanes<Job>();
  private readonly health: EndpointHealth;
  /** Pushes waiting for a retry, by their timer. */
  private readonly retrying = new Map<NodeJS.Timeout, Job>();
  /** The attempts in flight, to abort at close. */
  private readonly inFlight = new Set<AbortController>();
  /** Attempts in flight in the main slots and in the slow ones. */
  private readonly running = { main: 0, slow: 0 };
  private readonly idlers: Array<() => void> = [];
  private closed = false;
  /** Whether the last `send` found the queue full: a drop is logged once per spell. */
  private full = false;

  constructor(private readonly options: PushSenderOptions) {
    this.publicKey = options.keys.publicKey;
    this.counts = options.counts ?? { sent: 0, failed: 0, pruned: 0, dropped: 0 };
    this.limits = { ...PUSH_LIMITS, ...options.limits };
    this.health = new EndpointHealth({
      deadAfterFailures: this.limits.deadAfterFailures,
      deadAfterMs: this.limits.deadAfterMs,
      maxTracked: this.limits.trackedEndpoints,
    });
  }

  /**
   * Queues `payload` (a JSON object the service worker reads) for the browser of `sub`, and
   * returns at once: true when queued, false when dropped (a full queue, a subscriber who holds
   * PUSH_LIMITS.maxQueuedPerUser already, a closed sender, a payload that cannot be made to
   * fit). Throws a TypeError for invalid `options` only.
   */
  send(sub: PushSubscriptionRecord, payload: object, options: PushOptions = {}): boolean {
    checkOptions(options);
    if (this.closed) {
      this.counts.dropped++;
      return false;
    }
    if (this.lanes.size >= this.limits.maxQueued) {
      this.counts.dropped++;
      if (!this.full) {
        this.full = true;
        this.options.logger.warn('push queue full; pushes dropped', {
          maxQueued: this.limits.maxQueued,
        });
      }
      return false;
    }
    this.full = false;
    const key = sub.nick;
    const held = this.lanes.hold(key, this.limits.maxQueuedPerUser);
    if (held !== 'held') {
      this.counts.dropped++;
      if (held === 'full') {
        this.options.logger.warn("a user's push queue is full; their pushes dropped", {
          maxQueuedPerUser: this.limits.maxQueuedPerUser,
        });
      }
      return false;
    }
    const body = fitPayload(payload);
    if (body === undefined) {
      this.lanes.release(key);
      this.counts.failed++;
      this.options.logger.warn('push payload too large', { maxBytes: MAX_PAYLOAD_BYTES });
      return false;
    }
    this.lanes.enqueue(key, { key, sub, body, options, attempt: 0 });
    this.pump();
    return true;
  }

  /** Resolves once nothing is queued, in flight or waiting for a retry (for tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((ok) => this.idlers.push(ok));
  }

  /**
   * Stops: queued pushes and pending retries are abandoned (counted as dropped), requests in
   * flight get PUSH_LIMITS.closeWaitMs to finish and are then cut. Calling it again is
   * harmless.
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const [timer, job] of this.retrying) {
        clearTimeout(timer);
        this.lanes.release(job.key);
      }
      this.counts.dropped += this.retrying.size + this.lanes.clear();
      this.retrying.clear();
    }
    if (this.inFlight.size === 0) return this.wake();
    const cut = setTimeout(() => {
      for (const controller of this.inFlight) controller.abort(new Error('push sender closed'));
    }, this.limits.closeWaitMs);
    await this.idle();
    clearTimeout(cut);
  }

  private isIdle(): boolean {
    return this.lanes.size === 0;
  }

  private wake(): void {
    if (!this.isIdle()) return;
    for (const ok of this.idlers.splice(0)) ok();
  }

  /**
   * Starts waiting pushes while there is room for them: users in turn, at most
   * concurrencyPerUser each, a slow endpoint only in a slow slot.
   */
  private pump(): void {
    const { concurrencyPerUser } = this.limits;
    while (!this.closed) {
      const next = this.lanes.take(concurrencyPerUser, (job) => this.hasRoom(this.poolOf(job)));
      if (next === undefined) break;
      const job = next.item;
      const run: Running = { controller: new AbortController(), pool: this.poolOf(job) };
      this.running[run.pool]++;
      this.inFlight.add(run.controller);
      let retrying = false;
      void this.attempt(job, run)
        .then((retry) => {
          retrying = retry;
        })
        .finally(() => {
          this.running[run.pool]--;
          this.inFlight.delete(run.controller);
          this.lanes.ended(job.key, retrying);
          this.pump();
          this.wake();
        });
    }
  }

  private poolOf(job: Job): Running['pool'] {
    return this.health.isSlow(job.sub.endpoint) ? 'slow' : 'main';
  }

  private hasRoom(pool: Running['pool']): boolean {
    const { concurrency, slowConcurrency } = this.limits;
    return this.running[pool] < (pool === 'main' ? concurrency : slowConcurrency);
  }

  /**
   * An attempt in a main slot is still unanswered after slowMs: it moves to a slow slot, or is
   * cut when none is free. Either way its main slot goes to the next push.
   */
  private slowDown(run: Running): void {
    if (run.pool !== 'main') return;
    if (!this.hasRoom('slow')) {
      run.controller.abort(new Error('push too slow'));
      return;
    }
    this.running.main--;
    this.running.slow++;
    run.pool = 'slow';
    this.pump();
  }

  /** One attempt at a push, and what follows from its outcome; true when a retry follows. */
  private async attempt(job: Job, run: Running): Promise<boolean> {
    job.attempt++;
    const { controller } = run;
    const { timeoutMs, slowMs } = this.limits;
    const started = performance.now();
    const timer = setTimeout(() => controller.abort(new Error('push timed out')), timeoutMs);
    const slowTimer = setTimeout(() => this.slowDown(run), slowMs);
    let outcome: Outcome;
    try {
      outcome = await this.post(job, controller.signal);
    } catch (err) {
      outcome = { kind: 'error', err };
    } finally {
      clearTimeout(timer);
      clearTimeout(slowTimer);
    }
    const { logger } = this.options;
    const { endpoint } = job.sub;
    const origin = originOf(endpoint);
    this.health.attempted(
      endpoint,
      outcome.kind === 'error' || performance.now() - started > slowMs,
    );
    if (outcome.kind === 'refused') {
      // The name now resolves somewhere it may not go: not retried, not removed (the
      // answer may be an attacker's for a while, not the subscription's fault).
      this.counts.failed++;
      logger.warn('push endpoint refused', { origin, reason: outcome.reason });
      return false;
    }
    if (outcome.kind === 'status') {
      const { status } = outcome;
      if (status >= 200 && status < 300) {
        this.counts.sent++;
        this.health.answered(endpoint);
        return false;
      }
      if (status === 404 || status === 410) {
        await this.remove(endpoint, 'push subscription gone; removed', { origin, status });
        return false;
      }
      if (status !== 429 && status < 500) {
        this.counts.failed++;
        this.health.answered(endpoint);
        logger.warn('push refused', { origin, status });
        return false;
      }
    }
    if (!this.closed && job.attempt < this.limits.attempts) {
      this.retryLater(job, outcome.kind === 'status' ? outcome.retryAfterMs : undefined);
      return true;
    }
    const detail = outcome.kind === 'status' ? { status: outcome.status } : { err: outcome.err };
    if (this.closed) {
      // Cut by close(): says nothing of the endpoint.
    } else if (outcome.kind === 'status' && outcome.status === 429) {
      this.health.answered(endpoint);
    } else if (this.health.failed(endpoint)) {
      await this.remove(endpoint, 'push endpoint keeps failing; removed', { origin, ...detail });
      return false;
    }
    this.counts.failed++;
    logger.warn('push failed', { origin, attempts: job.attempt, ...detail });
    return false;
  }

  /** Removes a subscription that is gone (404, 410) or dead (failed for an hour and more). */
  private async remove(endpoint: string, message: string, detail: LogFields): Promise<void> {
    this.health.forget(endpoint);
    try {
      await this.options.store.dropEndpoint(endpoint);
      this.counts.pruned++;
      this.options.logger.debug(message, detail);
    } catch (err) {
      this.counts.failed++;
      this.options.logger.warn('push subscription not removed', { ...detail, err });
    }
  }

  /**
   * Queues `job` again after a backoff (at least what Retry-After asked, within bounds), at the
   * back of its user's lane: a retry goes before no one's newer push, its own user's included,
   * so pushes that keep failing cannot crowd out those that would arrive.
   */
  private retryLater(job: Job, retryAfterMs: number | undefined): void {
    const { retryBaseMs, maxRetryDelayMs } = this.limits;
    const backoff = retryBaseMs * 2 ** (job.attempt - 1) * (0.5 + Math.random() / 2);
    const delay = Math.min(maxRetryDelayMs, Math.max(backoff, retryAfterMs ?? 0));
    const timer = setTimeout(() => {
      this.retrying.delete(timer);
      this.lanes.enqueue(job.key, job);
      this.pump();
    }, delay);
    timer.unref();
    this.retrying.set(timer, job);
  }

  /** Checks where the push may go, encrypts and signs it, and POSTs it there. */
  private async post(job: Job, signal: AbortSignal): Promise<Outcome> {
    let target: PushTarget;
    try {
      target = await abortable(this.options.guard.target(job.sub.endpoint), signal);
    } catch (err) {
      if (err instanceof ChatError) return { kind: 'refused', reason: err.message };
      throw err;
    }
    const { keys, subject } = this.options;
    const details = pushRequest(job.sub, job.body, job.options, keys, subject);
    const response = await postTo(target, details.headers, details.body, signal);
    return { kind: 'status', ...response };
  }
}

/** The scheme and host of an endpoint, for logs: the path is the subscription's secret. */
function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return '(invalid)';
  }
}
