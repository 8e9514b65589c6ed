/**
 * The Web Push sender's bounds (README, docs/api.md "Delivery" describe them). Every push
 * belongs to one user, the subscriber, and a user may point their ten subscriptions at a push
 * service that never answers: the bounds are per user as well as in all, and a slow endpoint
 * gets only a few slots of its own, so that one user, or one push service, delays no one else.
 */

/** The sender's bounds (PUSH_LIMITS). */
export interface PushLimits {
  readonly maxQueued: number;
  readonly maxQueuedPerUser: number;
  readonly concurrency: number;
  readonly concurrencyPerUser: number;
  readonly slowMs: number;
  readonly slowConcurrency: number;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly maxRetryDelayMs: number;
  readonly closeWaitMs: number;
  readonly deadAfterFailures: number;
  readonly deadAfterMs: number;
  readonly trackedEndpoints: number;
}

/** The sender's bounds; each may be given smaller for a test (PushSenderOptions). */
export const PUSH_LIMITS: PushLimits = {
  /**
   * Pushes held in all (waiting, in flight or between retries); past it `send` drops the new
   * one and counts it (`dropped`). At a few KB each, 10,000 is some 30 MB at worst.
   */
  maxQueued: 10_000,
  /**
   * Pushes held for one user (the subscriber); past it that user's new pushes are dropped
   * (`dropped`). Ten browsers times ten messages: pushes that wait longer are stale anyway,
   * and a user whose pushes cannot leave fills only their own lane, not the queue.
   */
  maxQueuedPerUser: 100,
  /**
   * Requests in flight at once to endpoints not known to be slow: push services answer in tens
   * of ms, so a few suffice. Users take turns (round-robin), one push each.
   */
  concurrency: 8,
  /** Requests in flight at once for one user: a quarter of the slots at most. */
  concurrencyPerUser: 2,
  /**
   * An attempt unanswered after this long (in ms) is slow: it leaves its slot for one of the
   * slow slots, or is cut when those are taken (and retried as any timeout). An endpoint whose
   * last attempt was slow, timed out or could not connect is sent to in a slow slot only.
   */
  slowMs: 2_000,
  /** Slow slots: requests in flight at once to slow endpoints, beyond `concurrency`. */
  slowConcurrency: 2,
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
  /**
   * Pushes to one endpoint that failed in a row (after every attempt: timeouts, unreachable,
   * 5xx) before it is removed from the Store (`pruned`), as a 404 or 410 would remove it...
   */
  deadAfterFailures: 5,
  /** ...provided the first of them failed at least this long (ms) before the last: not an outage. */
  deadAfterMs: 60 * 60 * 1000,
  /** Endpoints whose slowness or failures are remembered (in memory, per process). */
  trackedEndpoints: 10_000,
};
