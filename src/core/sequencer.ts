import {
  type ChatEvent,
  type EventId,
  eventId,
  isLogged,
  type LoggedEvent,
} from '../domain/events.js';
import type { Logger } from '../logger.js';
import type { EventLog } from '../store/store.js';

/** How long an event that arrived ahead of a missing one waits before the Store is asked. */
const GAP_WAIT_MS = 50;
/**
 * Most events held while waiting for a missing one; past it the Store is asked at once. It
 * bounds memory when the Bus loses an event under a burst.
 */
const MAX_PENDING = 10_000;
/** Events read per Store query while filling a gap. */
const FILL_PAGE = 1_000;

/** Options of a Sequencer. */
export interface SequencerOptions {
  /** The two reads it makes: where the log ends, and the events of a gap. */
  readonly store: Pick<EventLog, 'head' | 'log'>;
  /** Where events go, in id order (the Hub). */
  readonly deliver: (event: ChatEvent) => void;
  readonly logger: Logger;
  /**
   * How often to compare the Store's head with what was delivered, in ms, so that an event
   * whose Bus message was lost (the Bus was down) and that no later event reveals still
   * arrives. 0 turns the poll off.
   */
  readonly pollMs: number;
}

/**
 * Puts logged events from a networked Bus back in id order, and fills the gaps it leaves from
 * the Store, before they reach this process's Hub.
 *
 * Why: each process publishes its own appends, so two processes' events can cross on the Bus
 * (11 before 10), and a Bus that was down loses events. A stream that wrote `id: 11` and then
 * dropped would resume after 11 and never see 10. The Store assigns ids in commit order (see
 * store/postgres/store.ts), so every id below a committed one is committed or never will be; this
 * class delivers strictly in id order, waiting GAP_WAIT_MS for a missing id and then reading
 * the Store, which also skips ids that were never committed.
 *
 * Presence changes and typing carry no id and pass straight through. An in-process Bus delivers in id
 * order already and needs no Sequencer.
 */
export class Sequencer {
  private delivered: EventId;
  private readonly pending = new Map<EventId, LoggedEvent>();
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private filling: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly options: SequencerOptions,
    head: EventId,
  ) {
    this.delivered = head;
    if (options.pollMs > 0) {
      this.poller = setInterval(() => void this.catchUp(), options.pollMs);
      this.poller.unref();
    }
  }

  /** Starts delivering after `head`, by default the Store's current head. */
  static async start(options: SequencerOptions, head?: EventId): Promise<Sequencer> {
    return new Sequencer(options, head ?? (await options.store.head()));
  }

  /** The highest id delivered so far: every logged event up to it has gone to the Hub. */
  get position(): EventId {
    return this.delivered;
  }

  /** Takes an event from the Bus. */
  accept(event: ChatEvent): void {
    if (this.closed) return;
    if (!isLogged(event)) {
      this.options.deliver(event);
      return;
    }
    const id = eventId(event);
    if (id <= this.delivered) return;
    if (id === this.delivered + 1 && this.pending.size === 0) {
      this.delivered = id;
      this.options.deliver(event);
      return;
    }
    this.pending.set(id, event);
    this.drain();
    if (this.pending.size === 0) return;
    if (this.pending.size > MAX_PENDING) void this.fill();
    else this.timer ??= setTimeout(() => void this.fill(), GAP_WAIT_MS);
  }

  /** Fills from the Store if it holds events this process has not delivered (Bus outage). */
  async catchUp(): Promise<void> {
    if (this.closed || this.filling) return;
    try {
      if ((await this.options.store.head()) > this.delivered) await this.fill();
    } catch (err) {
      this.options.logger.warn('sequencer poll failed', { err });
    }
  }

  /** Stops the timers; nothing is delivered afterwards. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.poller);
    this.pending.clear();
  }

  /** Delivers the pending events that follow on without a gap. */
  private drain(): void {
    let next = this.pending.get(this.delivered + 1);
    while (next) {
      this.pending.delete(this.delivered + 1);
      this.delivered += 1;
      this.options.deliver(next);
      next = this.pending.get(this.delivered + 1);
    }
  }

  /** Reads what follows `delivered` from the Store and delivers it in order; one at a time. */
  private fill(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.filling ??= this.readStore().finally(() => {
      this.filling = undefined;
      this.drain();
      if (this.pending.size > 0 && !this.closed) {
        this.timer ??= setTimeout(() => void this.fill(), GAP_WAIT_MS);
      }
    });
    return this.filling;
  }

  private async readStore(): Promise<void> {
    try {
      for (;;) {
        const page = await this.options.store.log(this.delivered, FILL_PAGE);
        if (this.closed) return;
        for (const row of page) {
          const id = eventId(row);
          if (id <= this.delivered) continue;
          // A copy from the Bus and the row are the same event; either will do.
          const event = this.pending.get(id) ?? row;
          this.pending.delete(id);
          this.delivered = id;
          this.options.deliver(event);
        }
        if (page.length < FILL_PAGE) break;
      }
      for (const id of this.pending.keys()) if (id <= this.delivered) this.pending.delete(id);
    } catch (err) {
      this.options.logger.warn('sequencer fill failed', { err });
    }
  }
}
