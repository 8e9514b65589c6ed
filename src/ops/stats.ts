import type { ResetReason } from '../core/resume.js';

/** The two ways into the chat: the seed's classic protocol and the JSON API. */
export type FrontDoor = 'classic' | 'api';

/** Why the flood guards refused a request, or the connection gate a connection. */
export type Refusal = 'send' | 'connect' | 'streams' | 'connections';

/** Records one observation of a distribution; a prom-client Histogram (or a child) fits. */
export interface Observer {
  observe(value: number): void;
}

/** The distributions Stats records, each observed at most once per append, publish or resume. */
export interface StatsObservers {
  /** Seconds from a Store append (message or receipt) being called to its promise settling. */
  readonly storeAppendSeconds: Observer;
  /** Seconds one Store read of a resume (`since`) takes. */
  readonly storeReadSeconds: Observer;
  /** Seconds from a Bus publish being called to its promise settling. */
  readonly busPublishSeconds: Observer;
  /** Seconds from publishing an event to receiving it back (networked Buses only). */
  readonly busTransitSeconds: Observer;
  /** Events one resume replayed from the Store. */
  readonly replayEvents: Observer;
}

const IGNORE: Observer = { observe() {} };

/**
 * The plain counters of one ssechat process. Hot paths (every delivery, every stream) only add
 * to a number field here, which costs next to nothing; prom-client reads the fields when
 * Prometheus scrapes (ops/prometheus.ts). Injected like the logger, never a global, so that
 * several servers in one test process keep apart. Counters only grow, except the `*Open`
 * gauges.
 */
export class Stats {
  /** Streams open now, by front door. */
  readonly streamsOpen: Record<FrontDoor, number> = { classic: 0, api: 0 };
  /** Streams ever opened, by front door. */
  readonly streamsOpened: Record<FrontDoor, number> = { classic: 0, api: 0 };
  /** New messages accepted (stored), by front door; an idempotent retry does not count. */
  readonly messagesIn: Record<FrontDoor, number> = { classic: 0, api: 0 };
  /** Streams closed for holding more than --max-queue-bytes unsent, by front door. */
  readonly slowReaderDrops: Record<FrontDoor, number> = { classic: 0, api: 0 };
  /** Resumes that could not be exact and sent `event: reset`, by reason. */
  readonly resets: Record<ResetReason, number> = {
    invalid: 0,
    unknown: 0,
    expired: 0,
    'too-far-behind': 0,
  };
  /**
   * Requests the flood guards refused (http/admission.ts): sends and stream opens over a
   * rate limit, and streams over --max-streams-per-user; and connections the connection gate
   * refused (http/connection-gate.ts: --max-connections-per-ip, the file limit).
   */
  readonly refused: Record<Refusal, number> = { send: 0, connect: 0, streams: 0, connections: 0 };
  /**
   * Web Push outcomes (outbound/push/sender.ts, PushCounts): accepted by a push service,
   * given up, subscriptions removed for a 404 or 410 or for failing an hour, and pushes
   * dropped from a full queue (or a user's full share of it).
   */
  readonly push = { sent: 0, failed: 0, pruned: 0, dropped: 0 };
  /** Frames the Hub handed to streams (one per stream per event it shows). */
  deliveries = 0;
  /** Read receipts stored. */
  receipts = 0;
  readonly storeAppendSeconds: Observer;
  readonly storeReadSeconds: Observer;
  readonly busPublishSeconds: Observer;
  readonly busTransitSeconds: Observer;
  readonly replayEvents: Observer;

  /** Distributions not given are not recorded (tests, and components built without metrics). */
  constructor(observers: Partial<StatsObservers> = {}) {
    this.storeAppendSeconds = observers.storeAppendSeconds ?? IGNORE;
    this.storeReadSeconds = observers.storeReadSeconds ?? IGNORE;
    this.busPublishSeconds = observers.busPublishSeconds ?? IGNORE;
    this.busTransitSeconds = observers.busTransitSeconds ?? IGNORE;
    this.replayEvents = observers.replayEvents ?? IGNORE;
  }
}

/** Seconds elapsed since `start`, a `performance.now()` reading. */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
