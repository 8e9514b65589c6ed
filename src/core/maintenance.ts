import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';

/**
 * How often the maintenance job applies retention and drops expired sessions, tickets and
 * attention reports.
 */
const MAINTENANCE_INTERVAL_MS = 10 * 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** What the maintenance job works on. */
export interface MaintenanceDeps {
  readonly config: Pick<Config, 'retentionDays' | 'retentionCount'>;
  readonly store: Store;
  /** Drops expired sessions, tokens and tickets; resolves how many. */
  readonly pruneCredentials: () => Promise<number>;
  readonly logger: Logger;
}

/**
 * Runs retention (config retentionDays, retentionCount) and drops expired credentials now and
 * every MAINTENANCE_INTERVAL_MS; returns a stop function. A run that fails is logged and
 * retried at the next interval.
 */
export function startMaintenance(deps: MaintenanceDeps): () => void {
  const { config, store, pruneCredentials, logger } = deps;
  let running = false;
  const run = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const olderThan = config.retentionDays === 0 ? 0 : Date.now() - config.retentionDays * DAY_MS;
      const pruned = await store.prune({ olderThan, keep: config.retentionCount });
      const expired = await pruneCredentials();
      const attention = await store.notify.pruneAttention(Date.now());
      if (pruned > 0 || expired > 0) logger.info('maintenance', { pruned, expired, attention });
    } catch (err) {
      logger.error('maintenance failed', { err });
    } finally {
      running = false;
    }
  };
  const first = setTimeout(run, 1_000);
  const timer = setInterval(run, MAINTENANCE_INTERVAL_MS);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
