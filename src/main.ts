import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { MemoryBus } from './bus/memory-bus.js';
import { type Config, ConfigError, helpText, loadConfig } from './config.js';
import { ChatService } from './core/chat.js';
import { Hub } from './core/hub.js';
import { createHttpServer } from './http/server.js';
import { startHeartbeat } from './http/sse.js';
import { createLogger, type Logger } from './logger.js';
import { MemoryPresence } from './presence/memory-presence.js';
import { MemoryStore } from './store/memory-store.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/store.js';

/** How long shutdown waits for open responses to finish before cutting them. */
const SHUTDOWN_GRACE_MS = 5_000;

/** A listening ssechat. */
export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, ends every stream, then closes the bus and the store. */
  close(): Promise<void>;
}

/** The choice of Store backend happens here and nowhere else. */
function openStore(config: Config): Store {
  if (config.store === 'memory') return new MemoryStore(config);
  mkdirSync(config.dataDir, { recursive: true });
  return new SqliteStore({
    path: join(config.dataDir, 'ssechat.db'),
    synchronous: config.sqliteSynchronous,
    maxOfflinePerUser: config.maxOfflinePerUser,
  });
}

/** The composition root: builds store, bus, presence, hub, chat and HTTP edge, and listens. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const store = openStore(config);
  const bus = new MemoryBus();
  const hub = new Hub();
  const chat = new ChatService({
    store,
    bus,
    presence: new MemoryPresence(),
    hub,
    limits: config,
  });
  const server = createHttpServer({ config, chat, logger });
  const stopHeartbeat = startHeartbeat(hub, config.heartbeatMs);

  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(config.port, config.host, () => {
        server.off('error', fail);
        ok();
      });
    });
  } catch (err) {
    stopHeartbeat();
    await store.close();
    throw err;
  }
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    stopHeartbeat();
    const closed = new Promise<void>((ok) => server.close(() => ok()));
    hub.forEach((sub) => {
      sub.close();
    });
    server.closeIdleConnections();
    const cut = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(cut);
    await bus.close();
    await store.close();
  };
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

/** The `ssechat` command: reads config, serves until SIGINT or SIGTERM. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let config: Config;
  try {
    const result = loadConfig(argv, env);
    if (result.help) {
      process.stdout.write(helpText());
      return;
    }
    config = result.config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`ssechat: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }

  const logger = createLogger(config.logLevel);
  let running: RunningServer;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    logger.error('cannot start', { err });
    process.exitCode = 1;
    return;
  }
  logger.info('listening', {
    url: running.url,
    store: config.store,
    dataDir: config.store === 'sqlite' ? resolve(config.dataDir) : undefined,
  });

  const stop = (signal: NodeJS.Signals): void => {
    logger.info('shutting down', { signal });
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
