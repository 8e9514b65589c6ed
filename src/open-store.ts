import { statSync } from 'node:fs';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { prepareDataDir, sqlitePath, storeStartupError } from './startup.js';
import { PostgresStore } from './store/postgres/store.js';
import { SqliteStore } from './store/sqlite/store.js';
import type { Store } from './store/store.js';
import type { WriteHealthListener } from './store/write-health.js';

/**
 * Largest SQLite file whose integrity is checked at open (PRAGMA quick_check), in bytes. The
 * check reads the whole file: 0.42 s for 1 million messages (181 MB) with the file in the
 * page cache, so roughly 2.5 s per GiB, more from a cold disk. A bigger file is opened
 * unchecked, with a warning, so that a restart of a large installation does not wait minutes
 * before serving; docs/deploy.md says how to check one offline.
 */
export const QUICK_CHECK_MAX_BYTES = 1024 ** 3;

/** What the server listens to in the Store it opens. */
export interface StoreHooks {
  /**
   * Told when writes start failing because the backend cannot write (with the error) and
   * when they work again (undefined); see store/write-health.ts.
   */
  readonly onWriteHealth?: WriteHealthListener;
}

/**
 * Opens the configured Store: the choice of backend happens here and nowhere else (the
 * command line's account commands open theirs through this too). Problems an operator must
 * fix (a data directory that cannot be written, a damaged database file, a database that
 * cannot be reached) throw a StartupError naming the setting.
 */
export async function openStore(
  config: Config,
  logger: Logger,
  hooks: StoreHooks = {},
): Promise<Store> {
  // Nothing survives a restart: the default engine on a database that lives in this process's
  // memory (SQLite's `:memory:`), so the demo runs the same SQL as an installation.
  if (config.store === 'memory') {
    const { maxOfflinePerUser, sqliteSynchronous: synchronous } = config;
    return new SqliteStore({ path: ':memory:', synchronous, maxOfflinePerUser });
  }
  if (config.store === 'postgres') {
    try {
      return await PostgresStore.open({
        url: config.databaseUrl,
        schema: config.databaseSchema,
        maxOfflinePerUser: config.maxOfflinePerUser,
        logger,
        onWriteHealth: hooks.onWriteHealth,
      });
    } catch (err) {
      throw storeStartupError(err, config);
    }
  }
  prepareDataDir(config.dataDir);
  const path = sqlitePath(config);
  try {
    const bytes = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
    const quickCheck = bytes <= QUICK_CHECK_MAX_BYTES;
    if (!quickCheck) {
      logger.warn('database too large to check at startup; not checked', {
        path,
        bytes,
        maxBytes: QUICK_CHECK_MAX_BYTES,
      });
    }
    const started = performance.now();
    const store = new SqliteStore({
      path,
      synchronous: config.sqliteSynchronous,
      maxOfflinePerUser: config.maxOfflinePerUser,
      quickCheck,
      onWriteHealth: hooks.onWriteHealth,
    });
    if (quickCheck) {
      logger.debug('database checked', {
        path,
        bytes,
        ms: Math.round(performance.now() - started),
      });
    }
    return store;
  } catch (err) {
    throw storeStartupError(err, config);
  }
}
