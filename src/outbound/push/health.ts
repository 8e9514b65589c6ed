/**
 * What the sender remembers of each endpoint between pushes: whether it is slow (its last
 * attempt went unanswered past PUSH_LIMITS.slowMs, timed out or could not connect), so that its
 * next attempts take only the few slow slots; and its streak of failed pushes, so that an
 * endpoint that has stopped answering for good is removed. Kept in memory per process (a
 * restart forgets it), for a bounded number of endpoints.
 */

/** The bounds EndpointHealth works within (from PushLimits). */
export interface HealthLimits {
  /** Failed pushes in a row that make an endpoint dead... */
  readonly deadAfterFailures: number;
  /** ...when the first of them is at least this long before the last, in ms. */
  readonly deadAfterMs: number;
  /** Endpoints remembered at most; past it the longest remembered is forgotten. */
  readonly maxTracked: number;
}

/** One endpoint's record; absent means fast and with no failure. */
interface Health {
  slow: boolean;
  /** Pushes failed in a row: timeouts, unreachable, 5xx, after every attempt. */
  failures: number;
  /** When the first of those failed, in ms since the epoch. */
  since: number;
}

/** See the top of this file. */
export class EndpointHealth {
  private readonly endpoints = new Map<string, Health>();

  constructor(
    private readonly limits: HealthLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether the last attempt at `endpoint` was slow or went unanswered. */
  isSlow(endpoint: string): boolean {
    return this.endpoints.get(endpoint)?.slow === true;
  }

  /** Notes how an attempt went: `slow` when unanswered within slowMs, or not answered at all. */
  attempted(endpoint: string, slow: boolean): void {
    const record = this.endpoints.get(endpoint);
    if (record === undefined) {
      if (slow) this.remember(endpoint, { slow, failures: 0, since: 0 });
      return;
    }
    record.slow = slow;
    this.tidy(endpoint, record);
  }

  /** A push to `endpoint` was answered (accepted, or refused with a 4xx): its streak ends. */
  answered(endpoint: string): void {
    const record = this.endpoints.get(endpoint);
    if (record === undefined) return;
    record.failures = 0;
    this.tidy(endpoint, record);
  }

  /**
   * A push to `endpoint` failed after its every attempt (timeouts, unreachable, 5xx). True when
   * the endpoint is now dead: deadAfterFailures such pushes in a row, the first at least
   * deadAfterMs before this one. The endpoint is then forgotten (the caller removes it).
   */
  failed(endpoint: string): boolean {
    const now = this.now();
    let record = this.endpoints.get(endpoint);
    if (record === undefined) {
      record = { slow: false, failures: 0, since: now };
      this.remember(endpoint, record);
    }
    if (record.failures === 0) record.since = now;
    record.failures++;
    const { deadAfterFailures, deadAfterMs } = this.limits;
    if (record.failures >= deadAfterFailures && now - record.since >= deadAfterMs) {
      this.endpoints.delete(endpoint);
      return true;
    }
    return false;
  }

  /** Forgets `endpoint` (removed from the Store). */
  forget(endpoint: string): void {
    this.endpoints.delete(endpoint);
  }

  private remember(endpoint: string, record: Health): void {
    if (this.endpoints.size >= this.limits.maxTracked) {
      const oldest = this.endpoints.keys().next();
      if (!oldest.done) this.endpoints.delete(oldest.value);
    }
    this.endpoints.set(endpoint, record);
  }

  /** Drops a record that says nothing (fast, no failure): most endpoints have none. */
  private tidy(endpoint: string, record: Health): void {
    if (!record.slow && record.failures === 0) this.endpoints.delete(endpoint);
  }
}
