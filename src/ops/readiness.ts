import type { Logger } from '../logger.js';

/** A dependency readiness asks whether it answers: a Store, a Bus, Presence. */
export interface Pingable {
  ping(): Promise<void>;
}

/** Longest wait for one dependency's ping; a slower one counts as down. */
export const READY_TIMEOUT_MS = 2_000;
/**
 * How long one result is reused. A flood of `/readyz` (it needs no credentials) then costs
 * each dependency at most one ping per interval; probes poll every few seconds anyway.
 */
export const READY_CACHE_MS = 1_000;

/** How one dependency answered. */
export type CheckOutcome = 'ok' | 'failed' | 'timeout';

/** Whether this process should get traffic, and why not. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** True once shutdown began: the process must leave the load balancer. */
  readonly draining: boolean;
  /** Each dependency's answer, by name; empty while draining. */
  readonly checks: Readonly<Record<string, CheckOutcome>>;
}

/** What readiness pings, and how. */
export interface ReadinessOptions {
  /** The dependencies by the name that reports show, e.g. `{ store, bus, presence }`. */
  readonly checks: Readonly<Record<string, Pingable>>;
  readonly logger: Logger;
  /** See READY_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** See READY_CACHE_MS. */
  readonly cacheMs?: number;
}

/**
 * Readiness of this process (`/readyz`): ready when every dependency answers a ping within
 * the timeout and shutdown has not begun. Concurrent checks share one round of pings.
 */
export class Readiness {
  private isDraining = false;
  private last: { readonly report: ReadinessReport; readonly at: number } | undefined;
  private running: Promise<ReadinessReport> | undefined;
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  /** Each check's last outcome, so that only a change is logged (report). */
  private readonly outcomes = new Map<string, CheckOutcome>();

  constructor(private readonly options: ReadinessOptions) {
    this.timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
    this.cacheMs = options.cacheMs ?? READY_CACHE_MS;
  }

  /** True once markDraining was called. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** From now on the process reports not ready, so that load balancers stop sending to it. */
  markDraining(): void {
    this.isDraining = true;
  }

  /** Pings every dependency (or reuses a result younger than cacheMs) and reports. */
  check(): Promise<ReadinessReport> {
    if (this.isDraining) return Promise.resolve({ ready: false, draining: true, checks: {} });
    const last = this.last;
    if (last && performance.now() - last.at < this.cacheMs) return Promise.resolve(last.report);
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<ReadinessReport> {
    const names = Object.keys(this.options.checks);
    const outcomes = await Promise.all(
      names.map((name) => this.probe(name, this.options.checks[name] as Pingable)),
    );
    const checks = Object.fromEntries(names.map((name, i) => [name, outcomes[i] as CheckOutcome]));
    const report = { ready: outcomes.every((o) => o === 'ok'), draining: false, checks };
    this.last = { report, at: performance.now() };
    return report;
  }

  private async probe(name: string, target: Pingable): Promise<CheckOutcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckOutcome>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    let outcome: CheckOutcome;
    let error: string | undefined;
    try {
      // race handles a ping that rejects after the timeout won: no unhandled rejection.
      outcome = await Promise.race([target.ping().then(() => 'ok' as const), timeout]);
    } catch (err) {
      outcome = 'failed';
      error = String(err);
    } finally {
      clearTimeout(timer);
    }
    this.report(name, outcome, error);
    return outcome;
  }

  /**
   * Logs a check's outcome when it changes, not at every check: a load balancer asks every
   * second or so, and a dependency down for an hour would write thousands of the same line.
   */
  private report(name: string, outcome: CheckOutcome, error: string | undefined): void {
    const before = this.outcomes.get(name);
    this.outcomes.set(name, outcome);
    if (outcome === before) return;
    const { logger } = this.options;
    if (outcome === 'timeout') {
      logger.warn('readiness check timed out', { check: name, timeoutMs: this.timeoutMs });
    } else if (outcome === 'failed') {
      logger.warn('readiness check failed', { check: name, error });
    } else if (before !== undefined) {
      logger.info('readiness check passes again', { check: name });
    }
  }
}
