import type { Stats } from './stats.js';

/** The window of messagesPerMinute, and the step it is sampled at. */
export const RATE_WINDOW_MS = 60_000;
export const RATE_STEP_MS = 5_000;

/**
 * Messages accepted over the last minute on this process (`GET /api/v1/admin/health`), from
 * the same counters `/metrics` reads (Stats.messagesIn): their total is sampled every
 * RATE_STEP_MS into a ring of RATE_WINDOW_MS / RATE_STEP_MS samples, and the rate is the
 * total now less the oldest sample (within one step of a minute; since start while younger).
 */
export class MessageRate {
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly size = RATE_WINDOW_MS / RATE_STEP_MS;

  constructor(private readonly stats: Stats) {
    this.samples.push(this.total());
    this.timer = setInterval(() => this.sample(), RATE_STEP_MS);
    this.timer.unref();
  }

  /** Messages accepted in about the last minute. */
  perMinute(): number {
    return this.total() - (this.samples[0] ?? 0);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    this.samples.push(this.total());
    if (this.samples.length > this.size) this.samples.shift();
  }

  private total(): number {
    const { classic, api } = this.stats.messagesIn;
    return classic + api;
  }
}
