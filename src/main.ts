import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Registration } from './auth/registration.js';
import { RegisteredNicks } from './auth/users.js';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory-bus.js';
import { RedisBus } from './bus/redis-bus.js';
import type { Config, RateLimit } from './config.js';
import { ChatService } from './core/chat.js';
import { Hub } from './core/hub.js';
import { LastSeen, watchPresence } from './core/last-seen.js';
import { startMaintenance } from './core/maintenance.js';
import { Profiles } from './core/profiles.js';
import { Resume } from './core/resume.js';
import { RoomDirectory } from './core/rooms.js';
import { Sequencer } from './core/sequencer.js';
import { endStrayMemberships } from './core/stray-members.js';
import { openFiles } from './files.js';
import { AddressBans } from './http/address-bans.js';
import { Admission, type AdmissionLimiters } from './http/admission.js';
import { Auth } from './http/auth.js';
import { createHttpServer } from './http/server.js';
import { NodeStreams } from './http/sse/node-transport.js';
import { startHeartbeat } from './http/sse/stream.js';
import { trackUnusedSockets } from './http/unused-sockets.js';
import type { Limiter } from './limits/limiter.js';
import { MemoryLimiter } from './limits/memory-limiter.js';
import { RedisLimiter } from './limits/redis-limiter.js';
import { createLogger, type Logger } from './logger.js';
import { buildNotifications } from './notifications.js';
import { openStore, type StoreHooks } from './open-store.js';
import { MessageRate } from './ops/message-rate.js';
import { Metrics } from './ops/prometheus.js';
import { Readiness } from './ops/readiness.js';
import { StoreOutageLog } from './ops/store-outage-log.js';
import { TimedBus } from './ops/timed-bus.js';
import { timedStore } from './ops/timed-store.js';
import { checkVapidKeys, generateVapidKeys } from './outbound/push/vapid.js';
import { Webhooks } from './outbound/webhooks.js';
import { MemoryPresence } from './presence/memory-presence.js';
import type { Presence } from './presence/presence.js';
import { RedisPresence } from './presence/redis-presence.js';
import { listenError, redisOpenError, StartupError, storeStartupError } from './startup.js';
import type { VapidKeys } from './store/push-store.js';
import type { Store } from './store/store.js';

/** How long shutdown waits for open responses to finish before cutting them. */
const SHUTDOWN_GRACE_MS = 5_000;
/**
 * At shutdown each stream is told to come back after a random delay in this range (ms), so
 * that its clients do not all reconnect in the same instant to the next process.
 */
const SHUTDOWN_RETRY_MS = [1_000, 6_000] as const;
/**
 * Connections the kernel may queue before ssechat accepts them (capped by net.core.somaxconn).
 * Node's default, 511, overflows when thousands of clients reconnect at once after a restart;
 * the dropped ones retry after 1, 3, 7… s, which stretched a 10k-client storm to 30 s. Asking
 * for more than the kernel allows is harmless, so an operator who raises somaxconn
 * (docs/deploy.md) gets the longer queue without a flag.
 */
const LISTEN_BACKLOG = 65_535;

/** A listening ssechat. */
export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8000 */
  readonly url: string;
  readonly port: number;
  /**
   * Turns `/readyz` to 503 (draining) while everything else keeps working, so that a load
   * balancer stops sending new clients before close(); close() calls it first.
   */
  markDraining(): void;
  /** Stops accepting, ends every stream, then closes the bus and the store. */
  close(): Promise<void>;
}

/** How often a cluster process compares the Store's head with what it delivered (Sequencer). */
const SEQUENCER_POLL_MS = 1_000;

/**
 * The rate limiters of the edge (config `--send-limit-*`, `--connect-limit-*`): in this
 * process's memory, or in Redis for a cluster, so that a client spreading its requests over
 * the nodes meets one limit, not one per node.
 */
function openLimiters(config: Config, logger: Logger): AdmissionLimiters {
  const make = (name: string, bucket: RateLimit): Limiter | undefined => {
    if (bucket === null) return undefined;
    if (config.bus !== 'redis') return new MemoryLimiter(bucket);
    const prefix = `${config.redisPrefix}limit:${name}:`;
    return new RedisLimiter({ ...bucket, url: config.redisUrl, prefix, logger });
  };
  return {
    sendUser: make('send-user', config.sendLimitUser),
    sendIp: make('send-ip', config.sendLimitIp),
    connectUser: make('connect-user', config.connectLimitUser),
    connectIp: make('connect-ip', config.connectLimitIp),
  };
}

/** What a caller may put in place of startServer's own parts: a test seam. */
export interface ServerParts {
  /** Opens the Store instead of openStore, e.g. one whose connection a test keeps. */
  readonly openStore?: (config: Config, logger: Logger, hooks: StoreHooks) => Promise<Store>;
}

/** The composition root: builds store, bus, presence, hub, chat and HTTP edge, and listens. */
export async function startServer(
  config: Config,
  logger: Logger,
  parts: ServerParts = {},
): Promise<RunningServer> {
  // Before anything is opened: `--release-parser on` on a node without the internals it needs
  // is a setting to fix.
  const streams = new NodeStreams(config.releaseParser);
  if (config.releaseParser === 'on' && !streams.releasesParsers) {
    throw new StartupError(
      `--release-parser on: node ${process.version}'s HTTP internals are not as expected; use auto or off`,
    );
  }
  logger.info('stream parser release', {
    releaseParser: config.releaseParser,
    status: streams.parserRelease,
    node: process.version,
  });
  const metrics = new Metrics();
  const { stats } = metrics;
  const storeOutage = new StoreOutageLog(logger);
  const store = timedStore(
    await (parts.openStore ?? openStore)(config, logger, { onWriteHealth: storeOutage.changed }),
    stats.storeAppendSeconds,
    stats.storeReadSeconds,
  );
  // The first reads and the first write on the store are part of opening it: a file or a
  // database that refuses them is a setting to fix, said in one line (startup.ts).
  const atStartup = <T>(step: Promise<T>): Promise<T> =>
    step.catch((err: unknown) => {
      throw storeStartupError(err, config);
    });
  let bus: Bus;
  let presence: Presence;
  let sequencer: Sequencer | undefined;
  let hub: Hub;
  let redisBus: RedisBus | undefined;
  let vapid: VapidKeys;
  // What the block below opened, closed again if a later step fails: an open Redis connection
  // would keep a process that could not start alive.
  const opened: Array<{ close(): unknown }> = [];
  try {
    // Before the room directory loads: what the switch of mode ends must not be in it.
    const revoked = await atStartup(store.accounts.setAuthMode(config.auth));
    if (revoked > 0) logger.warn('auth mode changed: every session and token ended', { revoked });
    if (config.auth === 'accounts') {
      // Every start, not only at a switch: idempotent, so a start that crashed midway, or a
      // nick registered from the command line while the server was down, is seen to.
      const ended = await atStartup(endStrayMemberships(store, Date.now(), config.bigRoomMembers));
      if (ended.length > 0) {
        logger.warn('room memberships no account owns ended', { changes: ended.length });
      }
    }
    // Generated at the first start and kept in the Store, once for the whole cluster: every
    // process signs with the key the browsers subscribed with.
    vapid = checkVapidKeys(await atStartup(store.push.vapidKeys(generateVapidKeys)));
    // The head first, then the rooms: a Sequencer starting at that head may deliver changes the
    // snapshot already holds, which the directory skips, but none it lacks.
    const head = await atStartup(store.head());
    const rooms = new RoomDirectory(await atStartup(store.memberships()));
    hub = new Hub(stats, rooms, config.bigRoomMembers);
    metrics.watch(hub);
    if (config.bus === 'redis') {
      const redis = { url: config.redisUrl, prefix: config.redisPrefix, logger };
      const unreachable = (err: unknown): never => {
        throw redisOpenError(err, config.redisUrl);
      };
      redisBus = await RedisBus.open({
        ...redis,
        onTransit: (seconds) => stats.busTransitSeconds.observe(seconds),
      }).catch(unreachable);
      opened.push(redisBus);
      bus = new TimedBus(redisBus, stats.busPublishSeconds);
      // A node that stops hands its users the same grace window as a closing stream.
      presence = await RedisPresence.open({
        ...redis,
        closeGraceMs: config.presenceGraceMs,
        heartbeatMs: config.presenceHeartbeatMs,
        nodeTtlMs: config.presenceNodeTtlMs,
      }).catch(unreachable);
      opened.push(presence);
      const local = hub;
      sequencer = await Sequencer.start(
        {
          store,
          logger,
          pollMs: SEQUENCER_POLL_MS,
          deliver: (event) => local.deliver(event),
        },
        head,
      );
    } else {
      bus = new TimedBus(new MemoryBus(), stats.busPublishSeconds);
      presence = new MemoryPresence();
    }
    // Users other processes hold already count towards the crowd (Hub.setOnline).
    hub.setOnline((await presence.online()).length);
  } catch (err) {
    for (const resource of opened.reverse()) await resource.close();
    await store.close();
    throw err;
  }
  const webhooks =
    config.webhookUrl === 'none'
      ? undefined
      : new Webhooks({ url: config.webhookUrl, secret: config.webhookSecret, logger });
  if (webhooks) presence.onOffline((nick) => webhooks.notify('offline', nick));
  // Web Push and the notification state (notifications.ts).
  const notifications = buildNotifications({ config, store, bus, presence, stats, logger, vapid });
  // Uploaded files (files.ts).
  const files = await openFiles(config, store, logger).catch(async (err: unknown) => {
    await notifications.close();
    for (const resource of [presence, bus, store]) await resource.close();
    throw err;
  });
  const registeredNicks =
    config.auth === 'accounts' ? new RegisteredNicks(store.accounts) : undefined;
  // Accounts' last_seen (admins' user list): noted at every stream's open and close.
  const lastSeen = config.auth === 'accounts' ? new LastSeen(store.roster, logger) : undefined;
  const chat = new ChatService({
    store,
    bus,
    presence: lastSeen ? watchPresence(presence, lastSeen) : presence,
    hub,
    limits: config,
    logger,
    sequencer,
    bigRoom: config.bigRoomMembers,
    registered: registeredNicks?.has,
    deletion: {
      reserveMs: config.deletedNickReserveDays * 86_400_000,
      deleteMessages: config.accountDeleteMessages === 'delete',
    },
    onOnline: webhooks ? (nick) => webhooks.notify('online', nick) : undefined,
    onLogged: () => notifications.dispatch.poke(),
  });
  if (redisBus && sequencer) {
    // Back from an outage: the messages missed meanwhile come from the Store, then the joins
    // and leaves missed meanwhile as one snapshot of who is online.
    const ordered = sequencer;
    redisBus.onReconnect(() => {
      void ordered.catchUp().finally(() => chat.refreshPresence());
    });
  }
  // Everything opened from here on is closed again if the start fails, or the open
  // connections (Redis limiters, timers) would keep a failed process alive.
  let limiters: AdmissionLimiters = {};
  const closeLimiters = () =>
    Promise.all(Object.values(limiters).map((l: Limiter | undefined) => l?.close()));
  let readiness: Readiness;
  let server: Server;
  let closeUnused = (): void => {};
  let stopHeartbeat = (): void => {};
  let stopMaintenance = (): void => {};
  // Address bans (open mode's sanction, made with the command line), re-read every second.
  const addressBans = new AddressBans({
    store: store.sanctions,
    trustProxy: config.trustProxy === 'yes',
    logger,
    closeStreams: (banned) => {
      hub.forEach((sub) => {
        if (banned(sub.address)) sub.close();
      });
    },
  });
  const rate = new MessageRate(stats);
  const started = Date.now();
  try {
    await addressBans.start();
    const auth = new Auth({
      accounts: store.accounts,
      config,
      bans: chat.sanctions,
      addressBans,
    });
    // A user ended anywhere in the cluster (a deleted account) is trusted nowhere a moment more.
    chat.onEnded((nick) => {
      auth.forgetUser(nick);
      registeredNicks?.forget(nick);
    });
    const resume = new Resume(store, config.maxReplay);
    limiters = openLimiters(config, logger);
    const admission = new Admission({
      limiters,
      trustProxy: config.trustProxy === 'yes',
      accounts: config.auth === 'accounts',
      maxStreamsPerUser: config.maxStreamsPerUser,
      stats: metrics.stats,
      bans: addressBans,
    });
    readiness = new Readiness({ checks: { store, bus, presence }, logger });
    server = createHttpServer({
      config,
      chat,
      auth,
      resume,
      logger,
      admission,
      metrics,
      readiness,
      storeOutage,
      streams,
      push: notifications.subscriptions,
      notify: notifications.notify(chat),
      uploads: files.uploads,
      profiles: new Profiles({ store: store.profiles, bus, presence }),
      addressBans,
      roster: store.roster,
      rate,
      started,
      registration: new Registration(store.registration, config.registration),
    });
    closeUnused = trackUnusedSockets(server);
    stopHeartbeat = startHeartbeat(hub, config.heartbeatMs);
    stopMaintenance = startMaintenance({
      config,
      store,
      pruneCredentials: () => auth.prune(),
      logger,
    });
    await new Promise<void>((ok, fail) => {
      const refused = (err: Error): void => fail(listenError(err, config));
      server.once('error', refused);
      server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', refused);
        ok();
      });
    });
  } catch (err) {
    addressBans.close();
    stopHeartbeat();
    stopMaintenance();
    rate.stop();
    await lastSeen?.close();
    chat.close();
    sequencer?.close();
    webhooks?.close();
    await notifications.close();
    await files.close();
    await closeLimiters();
    await presence.close();
    await bus.close();
    await store.close();
    throw err;
  }
  const { port, address, family } = server.address() as AddressInfo;
  const host = family === 'IPv6' ? `[${address}]` : address;

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    readiness.markDraining();
    addressBans.close();
    stopHeartbeat();
    stopMaintenance();
    const closed = new Promise<void>((ok) => server.close(() => ok()));
    const [low, high] = SHUTDOWN_RETRY_MS;
    hub.forEach((sub) => {
      sub.close(low + Math.random() * (high - low));
    });
    server.closeIdleConnections();
    closeUnused();
    // Streams may have given their connection's parser back (http/sse/release-parser.ts), so
    // node no longer lists their connections: the transport's registry cuts them.
    const cut = setTimeout(() => {
      server.closeAllConnections();
      streams.cutAll();
    }, SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(cut);
    rate.stop();
    // Before the store closes: the streams just ended were seen now.
    await lastSeen?.close();
    chat.close();
    sequencer?.close();
    webhooks?.close();
    // Before the store: a push answered 404 or 410 removes its subscription there.
    await notifications.close();
    await files.close();
    await closeLimiters();
    await presence.close();
    await bus.close();
    await store.close();
  };
  return {
    url: `http://${host}:${port}`,
    port,
    markDraining: () => readiness.markDraining(),
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

/**
 * `ssechat serve`: listens with `config` until SIGINT or SIGTERM, then shuts down gracefully.
 * Resolves once listening (or once the start failed, with process.exitCode 1); rejects with
 * a StartupError for a problem the operator must fix, which the command line prints.
 */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  let running: RunningServer;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    // The command line prints it as one line and exits 1.
    if (err instanceof StartupError) throw err;
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
