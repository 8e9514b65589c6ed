/**
 * The push queue, fair across users: one first-in-first-out lane per subscriber, served in
 * turn (round-robin), each with a cap on what it holds and on what it runs at once. A user whose
 * pushes pile up (many browsers, a flood of messages, a push service that never answers) waits
 * behind their own pushes, never in front of anyone else's.
 */

/** One user's pushes. */
interface Lane<T> {
  /** Pushes waiting to start, oldest first (a retry joins at the back). */
  readonly waiting: T[];
  /** Attempts in flight. */
  running: number;
  /** Pushes held in all: waiting, in flight, or between retries. */
  held: number;
  /** Whether the last `hold` found the lane full: a drop is logged once per spell. */
  full: boolean;
}

/** What `hold` did with a new push. */
export type HoldResult = 'held' | 'full' | 'still full';

/** See the top of this file. Keys are subscribers' nicks. */
export class FairLanes<T> {
  private readonly lanes = new Map<string, Lane<T>>();
  /** Users with pushes waiting, in the order they are served next: one served goes last. */
  private readonly turn = new Set<string>();
  /** Pushes held in all lanes. */
  private total = 0;

  /** Pushes held in all: waiting, in flight, or between retries. */
  get size(): number {
    return this.total;
  }

  /**
   * Counts a new push of `key` as held, unless that user already holds `cap`: then 'full' the
   * first time in a row, 'still full' after.
   */
  hold(key: string, cap: number): HoldResult {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { waiting: [], running: 0, held: 0, full: false };
      this.lanes.set(key, lane);
    }
    if (lane.held >= cap) {
      const first = !lane.full;
      lane.full = true;
      return first ? 'full' : 'still full';
    }
    lane.full = false;
    lane.held++;
    this.total++;
    return 'held';
  }

  /** Queues a held push (new, or a retry whose pause is over) at the back of its lane. */
  enqueue(key: string, item: T): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) throw new Error(`push lane ${key} holds nothing`);
    lane.waiting.push(item);
    this.turn.add(key);
  }

  /**
   * Takes the next push to start: from the first user in turn who runs fewer than `perKey`,
   * their oldest push that `fits` (a push that cannot start now keeps its place). It counts as
   * running until `ended`. Undefined when none can start.
   */
  take(perKey: number, fits: (item: T) => boolean): { key: string; item: T } | undefined {
    for (const key of this.turn) {
      const lane = this.lanes.get(key) as Lane<T>;
      if (lane.running >= perKey) continue;
      const index = lane.waiting.findIndex(fits);
      if (index < 0) continue;
      const [item] = lane.waiting.splice(index, 1) as [T];
      // Served: to the back of the turn, or out of it when nothing else waits.
      this.turn.delete(key);
      if (lane.waiting.length > 0) this.turn.add(key);
      lane.running++;
      return { key, item };
    }
    return undefined;
  }

  /** An attempt `take` started is over; the push stays held when a retry follows. */
  ended(key: string, retrying: boolean): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.running--;
    if (!retrying) this.release(key);
  }

  /** A held push is done with (delivered, given up, or abandoned between retries). */
  release(key: string): void {
    const lane = this.lanes.get(key);
    if (lane === undefined) return;
    lane.held--;
    this.total--;
    if (lane.held === 0) this.lanes.delete(key);
  }

  /** Abandons every waiting push (the sender closes); returns how many there were. */
  clear(): number {
    let dropped = 0;
    for (const [key, lane] of this.lanes) {
      for (const _ of lane.waiting.splice(0)) {
        dropped++;
        this.release(key);
      }
    }
    this.turn.clear();
    return dropped;
  }
}
