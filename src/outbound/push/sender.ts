/**
 * Sends Web Push messages (RFC 8030), encrypted for the browser (RFC 8291, aes128gcm) and
 * signed with the server's VAPID key (RFC 8292), off the request path: `send` only queues.
 * A bounded queue feeds a few concurrent requests, each with a timeout, retried with backoff
 * when the push service is busy or unreachable; a subscription the push service says is gone
 * (404, 410) is removed from the Store. Every request goes to an address the EndpointGuard
 * checked just before, and to no other.
 */
import webpush from 'web-push';
import { ChatError } from '../../domain/errors.js';
import type { Logger } from '../../logger.js';
import type { PushStore, PushSubscriptionRecord, VapidKeys } from '../../store/push-store.js';
import type { EndpointGuard, PushTarget } from './endpoint-guard.js';
import { fitPayload, MAX_PAYLOAD_BYTES } from './payload.js';
import { abortable, postTo } from './post.js';

export { fitPayload, MAX_PAYLOAD_BYTES } from './payload.js';

/**
 * How long a push service keeps a message for a browser that is offline (the TTL header), in
 * seconds, unless `send` is told otherwise: a chat notification a day late is still news, one
 * a week late is noise.
 */
export const DEFAULT_TTL_SECONDS = 24 * 60 * 60;

/** The sender's bounds (PUSH_LIMITS). */
export interface PushLimits {
  readonly maxQueued: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly maxRetryDelayMs: number;
  readonly closeWaitMs: number;
}

/** The sender's bounds; each may be given smaller for a test (PushSenderOptions). */
export const PUSH_LIMITS: PushLimits = {
  /**
   * Pushes waiting (queued or between retries); past it `send` drops the new one and counts
   * it (`dropped`). At a few KB each, 10,000 is some 30 MB at worst.
   */
  maxQueued: 10_000,
  /** Requests in flight at once: push services answer in tens of ms, so a few suffice. */
  concurrency: 8,
  /** How long one attempt may take, DNS and TLS included, in ms. */
  timeoutMs: 10_000,
  /** Attempts per push (the first and the retries) when the service is busy or unreachable. */
  attempts: 3,
  /** Pause before the first retry, doubled before each next (with jitter), in ms. */
  retryBaseMs: 1_000,
  /** Longest pause before a retry, also when the service's Retry-After asks for more, in ms. */
  maxRetryDelayMs: 30_000,
  /** How long close() lets requests in flight finish before it cuts them, in ms. */
  closeWaitMs: 2_000,
};

/** The urgency of a push (RFC 8030 §5.3): a service may hold a low one to save battery. */
export type PushUrgency = 'very-low' | 'low' | 'normal' | 'high';

/** How one push is sent. */
export interface PushOptions {
  /** Seconds the push service keeps it for an offline browser; DEFAULT_TTL_SECONDS. */
  readonly ttl?: number;
  /** RFC 8030 urgency; `normal` by default. */
  readonly urgency?: PushUrgency;
  /**
   * RFC 8030 topic: a newer push with the same topic replaces one the service still holds
   * (one per conversation). At most 32 characters of base64url.
   */
  readonly topic?: string;
}

/** What the sender counts (ops/stats.ts holds them, prometheus.ts exports them). */
export interface PushCounts {
  /** Pushes a push service accepted (2xx). */
  sent: number;
  /** Pushes given up: refused (4xx but 404/410), out of attempts, or to a refused address. */
  failed: number;
  /** Subscriptions removed because their push service answered 404 or 410. */
  pruned: number;
  /** Pushes dropped because the queue was full (or the sender closed). */
  dropped: number;
}

/** What the sender needs. */
export interface PushSenderOptions {
  /** The server's VAPID key pair (PushStore.vapidKeys). */
  readonly keys: VapidKeys;
  /** The VAPID subject (`--push-subject`). */
  readonly subject: string;
  readonly guard: EndpointGuard;
  /** Where a gone subscription is removed. */
  readonly store: Pick<PushStore, 'dropEndpoint'>;
  readonly logger: Logger;
  /** Where outcomes are counted; a private object when not given. */
  readonly counts?: PushCounts;
  /** Bounds, for tests; PUSH_LIMITS by default. */
  readonly limits?: Partial<PushLimits>;
}

/** One push on its way. */
interface Job {
  readonly sub: PushSubscriptionRecord;
  readonly body: string;
  readonly options: PushOptions;
  attempt: number;
}

/** How one attempt ended. */
type Outcome =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterMs?: number }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'error'; readonly err: unknown };

const URGENCIES: readonly PushUrgency[] = ['very-low', 'low', 'normal', 'high'];

/** See the top of this file. What the push dispatcher calls: `send` and `publicKey`. */
export class PushSender {
  /** The server's VAPID public key (base64url, 65 bytes): browsers subscribe with it. */
  readonly publicKey: string;
  /** Outcomes so far. */
  readonly counts: PushCounts;
  private readonly limits: PushLimits;
  private readonly queue: Job[] = [];
  /** Pushes waiting for a retry, by their timer. */
  private readonly retrying = new Map<NodeJS.Timeout, Job>();
  /** The attempts in flight, to abort at close. */
  private readonly inFlight = new Set<AbortController>();
  private readonly idlers: Array<() => void> = [];
  private closed = false;
  /** Whether the last `send` found the queue full: a drop is logged once per spell. */
  private full = false;

  constructor(private readonly options: PushSenderOptions) {
    this.publicKey = options.keys.publicKey;
    this.counts = options.counts ?? { sent: 0, failed: 0, pruned: 0, dropped: 0 };
    this.limits = { ...PUSH_LIMITS, ...options.limits };
  }

  /**
   * Queues `payload` (a JSON object the service worker reads) for the browser of `sub`, and
   * returns at once: true when queued, false when dropped (a full queue, a closed sender, a
   * payload that cannot be made to fit). Throws a TypeError for invalid `options` only.
   */
  send(sub: PushSubscriptionRecord, payload: object, options: PushOptions = {}): boolean {
    checkOptions(options);
    if (this.closed) {
      this.counts.dropped++;
      return false;
    }
    if (this.queue.length + this.inFlight.size + this.retrying.size >= this.limits.maxQueued) {
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
    const body = fitPayload(payload);
    if (body === undefined) {
      this.counts.failed++;
      this.options.logger.warn('push payload too large', { maxBytes: MAX_PAYLOAD_BYTES });
      return false;
    }
    this.queue.push({ sub, body, options, attempt: 0 });
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
      for (const timer of this.retrying.keys()) clearTimeout(timer);
      this.counts.dropped += this.queue.length + this.retrying.size;
      this.retrying.clear();
      this.queue.length = 0;
    }
    if (this.inFlight.size === 0) return this.wake();
    const cut = setTimeout(() => {
      for (const controller of this.inFlight) controller.abort(new Error('push sender closed'));
    }, this.limits.closeWaitMs);
    await this.idle();
    clearTimeout(cut);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0 && this.retrying.size === 0;
  }

  private wake(): void {
    if (!this.isIdle()) return;
    for (const ok of this.idlers.splice(0)) ok();
  }

  /** Starts queued pushes while there is room for them. */
  private pump(): void {
    while (!this.closed && this.inFlight.size < this.limits.concurrency) {
      const job = this.queue.shift();
      if (job === undefined) break;
      const controller = new AbortController();
      this.inFlight.add(controller);
      void this.attempt(job, controller).finally(() => {
        this.inFlight.delete(controller);
        this.pump();
        this.wake();
      });
    }
  }

  /** One attempt at a push, and what follows from its outcome. */
  private async attempt(job: Job, controller: AbortController): Promise<void> {
    job.attempt++;
    const timer = setTimeout(
      () => controller.abort(new Error('push timed out')),
      this.limits.timeoutMs,
    );
    let outcome: Outcome;
    try {
      outcome = await this.post(job, controller.signal);
    } catch (err) {
      outcome = { kind: 'error', err };
    } finally {
      clearTimeout(timer);
    }
    const { logger } = this.options;
    const origin = originOf(job.sub.endpoint);
    if (outcome.kind === 'refused') {
      // The name now resolves somewhere it may not go: not retried, not removed (the
      // answer may be an attacker's for a while, not the subscription's fault).
      this.counts.failed++;
      logger.warn('push endpoint refused', { origin, reason: outcome.reason });
      return;
    }
    if (outcome.kind === 'status') {
      const { status } = outcome;
      if (status >= 200 && status < 300) {
        this.counts.sent++;
        return;
      }
      if (status === 404 || status === 410) {
        await this.prune(job.sub.endpoint, origin, status);
        return;
      }
      if (status !== 429 && status < 500) {
        this.counts.failed++;
        logger.warn('push refused', { origin, status });
        return;
      }
    }
    const retryAfterMs = outcome.kind === 'status' ? outcome.retryAfterMs : undefined;
    if (this.closed || job.attempt >= this.limits.attempts) {
      this.counts.failed++;
      const detail = outcome.kind === 'status' ? { status: outcome.status } : { err: outcome.err };
      logger.warn('push failed', { origin, attempts: job.attempt, ...detail });
      return;
    }
    this.retryLater(job, retryAfterMs);
  }

  /** Removes a subscription its push service says is gone. */
  private async prune(endpoint: string, origin: string, status: number): Promise<void> {
    try {
      await this.options.store.dropEndpoint(endpoint);
      this.counts.pruned++;
      this.options.logger.debug('push subscription gone; removed', { origin, status });
    } catch (err) {
      this.counts.failed++;
      this.options.logger.warn('push subscription gone but not removed', { origin, err });
    }
  }

  /** Queues `job` again after a backoff (at least what Retry-After asked, within bounds). */
  private retryLater(job: Job, retryAfterMs: number | undefined): void {
    const { retryBaseMs, maxRetryDelayMs } = this.limits;
    const backoff = retryBaseMs * 2 ** (job.attempt - 1) * (0.5 + Math.random() / 2);
    const delay = Math.min(maxRetryDelayMs, Math.max(backoff, retryAfterMs ?? 0));
    const timer = setTimeout(() => {
      this.retrying.delete(timer);
      // Ahead of newer pushes: it has waited longest.
      this.queue.unshift(job);
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
    const { options } = job;
    // A new record key and salt per attempt (web-push: RFC 8291 with a fresh ECDH pair), and a
    // VAPID JWT whose `aud` is the endpoint's origin and `exp` 12 hours away.
    const details = webpush.generateRequestDetails(
      { endpoint: job.sub.endpoint, keys: { p256dh: job.sub.p256dh, auth: job.sub.auth } },
      job.body,
      {
        vapidDetails: { subject, publicKey: keys.publicKey, privateKey: keys.privateKey },
        TTL: options.ttl ?? DEFAULT_TTL_SECONDS,
        urgency: options.urgency ?? 'normal',
        ...(options.topic === undefined ? {} : { topic: options.topic }),
        contentEncoding: 'aes128gcm',
      },
    );
    const response = await postTo(target, details.headers, details.body as Buffer, signal);
    return { kind: 'status', ...response };
  }
}

/** Throws a TypeError for options `send` cannot honour: a caller's bug, not a push's fate. */
function checkOptions({ ttl, urgency, topic }: PushOptions): void {
  if (ttl !== undefined && !(Number.isSafeInteger(ttl) && ttl >= 0)) {
    throw new TypeError('push ttl must be a whole number of seconds');
  }
  if (urgency !== undefined && !URGENCIES.includes(urgency)) {
    throw new TypeError(`push urgency must be one of ${URGENCIES.join(', ')}`);
  }
  if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) {
    throw new TypeError('push topic must be 1 to 32 characters of base64url');
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
