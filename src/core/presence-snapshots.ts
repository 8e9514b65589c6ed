import type { ChatEvent, SharedEvent } from '../domain/events.js';
import { type Logger, silentLogger } from '../logger.js';
import type { Presence } from '../presence/presence.js';

/**
 * At most one presence snapshot per this many ms per process: a Redis restart makes every
 * node re-sync (and say so on the Bus) within a second or two, and each snapshot is a
 * Presence read plus a frame to every stream.
 */
export const SNAPSHOT_MS = 250;
/** A snapshot whose Presence read failed is tried again this often, at most RETRIES times. */
const RETRY_MS = 1_000;
const RETRIES = 10;

/** What PresenceSnapshots reads from and writes to. */
export interface SnapshotDeps {
  readonly presence: Presence;
  /** Where the snapshot goes: the Hub, which hands it to every local stream. */
  readonly deliver: (event: ChatEvent) => void;
  readonly logger?: Logger;
  /** See SNAPSHOT_MS; injectable for tests. */
  readonly everyMs?: number;
}

/**
 * Sends this process's streams who is online now, read from Presence, as a `presence` event:
 * after the Bus was away (the joins and leaves published meanwhile were missed) and when a
 * process restored users that Presence had lost (they came back without a join).
 *
 * A burst of requests is one snapshot, at most one per `everyMs`, read after the last request
 * that came in before the read started. Joins and leaves delivered while the read is in flight
 * are applied to its result: the read may have missed a join whose live event reached the
 * streams first, and the snapshot must not undo it.
 */
export class PresenceSnapshots {
  private readonly logger: Logger;
  private readonly everyMs: number;
  private timer: NodeJS.Timeout | undefined;
  private last = Number.NEGATIVE_INFINITY;
  /** Joins (true) and leaves (false) delivered since the read in flight started. */
  private meanwhile: Map<string, boolean> | undefined;
  private retries = 0;
  /** A read is in flight; a request meanwhile needs another one after it (`again`). */
  private reading = false;
  private again = false;
  private closed = false;

  constructor(private readonly deps: SnapshotDeps) {
    this.logger = deps.logger ?? silentLogger;
    this.everyMs = deps.everyMs ?? SNAPSHOT_MS;
  }

  /** Asks for a snapshot to every local stream, within `everyMs`. */
  request(): void {
    if (this.reading) this.again = true;
    if (this.closed || this.timer || this.reading) return;
    const wait = Math.max(0, this.last + this.everyMs - Date.now());
    this.timer = setTimeout(() => void this.send(), wait);
    this.timer.unref();
  }

  /** Notes a join or leave on its way to the streams (see the class comment). */
  seen(event: SharedEvent): void {
    if (!this.meanwhile) return;
    if (event.kind === 'joined' && event.first) this.meanwhile.set(event.nick, true);
    else if (event.kind === 'left') this.meanwhile.set(event.nick, false);
  }

  /** Cancels a pending snapshot; none is sent afterwards. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async send(): Promise<void> {
    this.timer = undefined;
    this.last = Date.now();
    this.meanwhile = new Map();
    this.reading = true;
    this.again = false;
    let online: string[];
    try {
      online = await this.deps.presence.online();
    } catch (err) {
      this.meanwhile = undefined;
      this.reading = false;
      if (this.closed || ++this.retries > RETRIES) {
        this.logger.warn('presence snapshot failed; streams keep their list', { err });
        this.retries = 0;
        return;
      }
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.request();
      }, RETRY_MS);
      this.timer.unref();
      return;
    }
    const meanwhile = this.meanwhile;
    this.meanwhile = undefined;
    this.reading = false;
    this.retries = 0;
    if (this.closed) return;
    // A request that came in during the read may be about a change the read missed.
    if (this.again) this.request();
    for (const [nick, on] of meanwhile) {
      const at = online.indexOf(nick);
      if (on && at === -1) online.push(nick);
      else if (!on && at !== -1) online.splice(at, 1);
    }
    this.deps.deliver({ kind: 'presence', online: Object.freeze(online) });
  }
}
