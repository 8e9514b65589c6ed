import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Hub } from '../core/hub.js';
import type { ResetReason } from '../core/resume.js';
import { type FrontDoor, Stats } from './stats.js';

/** The prefix of every metric name, prom-client's default process metrics included. */
export const METRIC_PREFIX = 'ssechat_';

/**
 * Latency buckets in seconds, 0.1 ms to 5 s: a SQLite append or a memory-bus publish takes
 * well under a millisecond, a PostgreSQL append or a Redis round trip a few.
 */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
/** Events per resume, up to the largest --max-replay. */
const REPLAY_BUCKETS = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

const DOORS: readonly FrontDoor[] = ['classic', 'api'];
const PUSH_OUTCOMES = ['sent', 'failed', 'pruned', 'dropped'] as const;
const RESET_REASONS: readonly ResetReason[] = ['invalid', 'unknown', 'expired', 'too-far-behind'];

/**
 * The Prometheus view of one process, in a registry of its own (never prom-client's global
 * one, so that several servers in one test process keep apart). Histograms are observed as
 * events happen, at most once per append, publish or resume; every counter and gauge is read
 * from Stats or the Hub only when Prometheus scrapes, so hot paths never call prom-client.
 */
export class Metrics {
  /** What `GET /metrics` serializes. */
  readonly registry = new Registry();
  /** The counters to inject into the components that count. */
  readonly stats: Stats;

  constructor() {
    const registers = [this.registry];
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name: METRIC_PREFIX + name, help, buckets, registers });
    this.stats = new Stats({
      storeAppendSeconds: histogram(
        'store_append_seconds',
        'Store appends (messages and receipts) from call to commit',
        LATENCY_BUCKETS,
      ),
      storeReadSeconds: histogram(
        'store_read_seconds',
        'Store reads of resumes (one per page of up to 256 events)',
        LATENCY_BUCKETS,
      ),
      busPublishSeconds: histogram(
        'bus_publish_seconds',
        'Bus publishes until accepted; the memory bus delivers locally within it',
        LATENCY_BUCKETS,
      ),
      busTransitSeconds: histogram(
        'bus_transit_seconds',
        "Redis bus: from publishing one of this process's events to receiving it back",
        LATENCY_BUCKETS,
      ),
      replayEvents: histogram(
        'replay_events',
        'Events replayed per resume from Last-Event-ID',
        REPLAY_BUCKETS,
      ),
    });
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    this.registerCounters();
  }

  /** The Content-Type of the text exposition format. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Reads open streams and their queues from `hub` at every scrape. */
  watch(hub: Hub): void {
    const registers = [this.registry];
    // One pass over the streams per scrape (100k streams take about 10 ms): the sum gauge,
    // collected first (registration order), leaves its pass for the max gauge.
    let pass: { sum: number; max: number } | undefined;
    new Gauge({
      name: `${METRIC_PREFIX}users_online`,
      help: 'Users with at least one open stream on this process',
      registers,
      collect() {
        this.set(hub.users);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}stream_queue_bytes`,
      help: 'Unsent bytes over all open streams (socket buffers plus held frames), a broadcast chunk shared by several streams counted once',
      registers,
      collect() {
        pass = queues(hub);
        this.set(pass.sum);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}stream_queue_max_bytes`,
      help: 'Unsent bytes of the open stream with the most (see --max-queue-bytes)',
      registers,
      collect() {
        this.set((pass ?? queues(hub)).max);
        pass = undefined;
      },
    });
  }

  /** The text exposition of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  private registerCounters(): void {
    const registers = [this.registry];
    const stats = this.stats;
    const byDoor = (
      kind: 'counter' | 'gauge',
      name: string,
      help: string,
      read: Record<FrontDoor, number>,
    ): void => {
      const config = { name: METRIC_PREFIX + name, help, labelNames: ['door'] as const, registers };
      if (kind === 'gauge') {
        new Gauge({
          ...config,
          collect() {
            for (const door of DOORS) this.set({ door }, read[door]);
          },
        });
        return;
      }
      new Counter({
        ...config,
        collect() {
          // prom-client counters only add: start from zero and add the total.
          this.reset();
          for (const door of DOORS) this.inc({ door }, read[door]);
        },
      });
    };
    byDoor('gauge', 'streams_open', 'Open streams on this process', stats.streamsOpen);
    byDoor('counter', 'streams_opened_total', 'Streams opened', stats.streamsOpened);
    byDoor('counter', 'messages_in_total', 'New messages accepted', stats.messagesIn);
    byDoor(
      'counter',
      'slow_reader_drops_total',
      'Streams closed for holding more than --max-queue-bytes unsent',
      stats.slowReaderDrops,
    );
    const total = (name: string, help: string, read: () => number): void => {
      new Counter({
        name: METRIC_PREFIX + name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    new Counter({
      name: `${METRIC_PREFIX}refused_total`,
      help: 'Requests refused by the flood guards (429), and connections by the connection gate (429, 503), by what was refused',
      labelNames: ['what'] as const,
      registers,
      collect() {
        this.reset();
        for (const what of ['send', 'connect', 'streams', 'connections'] as const) {
          this.inc({ what }, stats.refused[what]);
        }
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}pushes_total`,
      help: 'Web Push outcomes: sent (accepted by the push service), failed (refused, out of attempts or to a refused address), pruned (subscription removed: 404 or 410, or failing for an hour), dropped (queue full, in all or for one user)',
      labelNames: ['outcome'] as const,
      registers,
      collect() {
        this.reset();
        for (const outcome of PUSH_OUTCOMES) this.inc({ outcome }, stats.push[outcome]);
      },
    });
    total('deliveries_total', 'Frames handed to streams', () => stats.deliveries);
    total('read_receipts_total', 'Read receipts stored', () => stats.receipts);
    new Counter({
      name: `${METRIC_PREFIX}resets_total`,
      help: 'Resumes that could not be exact and got event: reset, by reason',
      labelNames: ['reason'] as const,
      registers,
      collect() {
        this.reset();
        for (const reason of RESET_REASONS) this.inc({ reason }, stats.resets[reason]);
      },
    });
  }
}

/**
 * The total unsent bytes of the open streams, each shared broadcast chunk counted once, and
 * the largest queue of one stream (counted as --max-queue-bytes counts it, whole): one pass,
 * at scrape time.
 */
function queues(hub: Hub): { sum: number; max: number } {
  let sum = 0;
  let max = 0;
  const seen = new Set<Buffer>();
  hub.forEach((sub) => {
    const bytes = sub.queuedBytes?.() ?? 0;
    sum += bytes - (sub.sharedBytes?.(seen) ?? 0);
    if (bytes > max) max = bytes;
  });
  return { sum: Math.max(0, sum), max };
}
