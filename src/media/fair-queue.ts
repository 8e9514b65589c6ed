/** What a FairQueue is told at construction: its bounds and the errors it answers with. */
export interface FairQueueOptions {
  /** How many jobs may wait, all owners together, behind the running one; more get `busy()`. */
  readonly maxWaiting: number;
  /** How many jobs one owner may have waiting (not counting a running one); more get `busy()`. */
  readonly maxWaitingPerOwner: number;
  /** How long a job may wait for its turn, in ms; then its caller gets `busy()`. */
  readonly maxWaitMs: number;
  /**
   * How long a job may run, in ms: then its caller gets `timedOut()` and the job's signal is
   * aborted, which the job must heed (stop its work) for the slot to be released.
   */
  readonly timeoutMs: number;
  /** The error for a job refused because a bound on waiting jobs or time was reached. */
  readonly busy: () => Error;
  /** The error for a job that ran longer than `timeoutMs`. */
  readonly timedOut: () => Error;
  /** The error for a job offered after close(), or still waiting when close() is called. */
  readonly closed: () => Error;
}

/** A job: work that is told, through `signal`, when its caller no longer waits for it. */
export type FairJob<T> = (signal: AbortSignal) => Promise<T>;

/** One job waiting for its turn. */
interface Waiting {
  readonly job: FairJob<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  /** The wait bound's timer, cleared when the job starts or is rejected. */
  readonly timer: NodeJS.Timeout;
}

/**
 * Runs one job at a time; waiting jobs are served round-robin by owner, so one owner with many
 * slow jobs delays another owner's job by at most one of them per turn, not by all of them.
 *
 * Bounds: at most `maxWaiting` jobs wait in all and `maxWaitingPerOwner` per owner (memory: one
 * closure, two callbacks and a timer per job), none waits longer than `maxWaitMs`, and none
 * runs longer than `timeoutMs` as far as its caller is concerned. A job past its timeout is
 * told through its AbortSignal and keeps the slot until its promise settles: work that ignored
 * the signal would otherwise overlap the next job. The jobs given here (a child process that
 * is killed on abort) settle at once.
 *
 * The owners form a ring in the order they first queued; after a job of owner X starts, the
 * next job is taken from the first owner after X in the ring that has one waiting. An owner
 * leaves the ring when it has nothing waiting or running, and comes back at its end.
 */
export class FairQueue {
  private readonly options: FairQueueOptions;
  /** Waiting jobs by owner; the Map's order is the ring. The running owner stays in it. */
  private readonly queues = new Map<string, Waiting[]>();
  private waitingTotal = 0;
  /** The running job's owner and its work (settled or not); undefined when idle. */
  private current: { owner: string; settled: Promise<void> } | undefined;
  private closed = false;

  constructor(options: FairQueueOptions) {
    const { maxWaiting, maxWaitingPerOwner, maxWaitMs, timeoutMs } = options;
    for (const [name, value] of Object.entries({ maxWaiting, maxWaitingPerOwner })) {
      if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be >= 0`);
    }
    for (const [name, value] of Object.entries({ maxWaitMs, timeoutMs })) {
      if (!(value > 0)) throw new RangeError(`${name} must be > 0`);
    }
    this.options = options;
  }

  /** Jobs waiting behind the running one, all owners together. */
  get waitingCount(): number {
    return this.waitingTotal;
  }

  /**
   * Runs `job` for `owner` when its turn comes and answers with its result, its error,
   * `timedOut()` if it runs longer than `timeoutMs`, `busy()` (at once if a bound on waiting
   * jobs is reached, after `maxWaitMs` if its turn has not come) or `closed()`.
   */
  run<T>(owner: string, job: FairJob<T>): Promise<T> {
    const { maxWaiting, maxWaitingPerOwner, maxWaitMs, busy, closed } = this.options;
    if (this.closed) return Promise.reject(closed());
    if (this.current === undefined) return this.start(owner, job);
    const queue = this.queues.get(owner) ?? [];
    if (this.waitingTotal >= maxWaiting || queue.length >= maxWaitingPerOwner) {
      return Promise.reject(busy());
    }
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = {
        job,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: setTimeout(() => this.expire(owner, waiting), maxWaitMs),
      };
      queue.push(waiting);
      this.queues.set(owner, queue);
      this.waitingTotal++;
    });
  }

  /**
   * Refuses new jobs and rejects the waiting ones with `closed()`; resolves when the running
   * job's work (if any) has ended, even one whose caller was already answered by the timeout.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.queues.values()) {
      for (const w of queue.splice(0)) {
        clearTimeout(w.timer);
        w.reject(this.options.closed());
      }
    }
    this.waitingTotal = 0;
    while (this.current !== undefined) await this.current.settled;
  }

  /** Answers a job that waited `maxWaitMs` with `busy()` and takes it out of its queue. */
  private expire(owner: string, waiting: Waiting): void {
    const queue = this.queues.get(owner);
    const i = queue?.indexOf(waiting) ?? -1;
    if (queue === undefined || i < 0) return;
    queue.splice(i, 1);
    this.waitingTotal--;
    if (queue.length === 0 && this.current?.owner !== owner) this.queues.delete(owner);
    waiting.reject(this.options.busy());
  }

  /** Starts `job` now; the slot is released when its work settles, not when the timer fires. */
  private start<T>(owner: string, job: FairJob<T>): Promise<T> {
    if (!this.queues.has(owner)) this.queues.set(owner, []);
    const abort = new AbortController();
    let work: Promise<T>;
    try {
      work = job(abort.signal);
    } catch (err) {
      work = Promise.reject(err);
    }
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.current = { owner, settled };
    void settled.then(() => this.next());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(this.options.timedOut());
        abort.abort();
      }, this.options.timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /** Hands the slot to the next owner in the ring with a job waiting, or leaves the queue idle. */
  private next(): void {
    const last = this.current?.owner;
    this.current = undefined;
    const owners = [...this.queues.keys()];
    // The ring has at most maxWaiting + 1 owners, so this scan is short.
    const from = last === undefined ? -1 : owners.indexOf(last);
    let chosen: string | undefined;
    for (let k = 1; k <= owners.length && chosen === undefined; k++) {
      const owner = owners[(from + k) % owners.length] as string;
      if ((this.queues.get(owner)?.length ?? 0) > 0) chosen = owner;
    }
    if (last !== undefined && this.queues.get(last)?.length === 0) this.queues.delete(last);
    if (chosen === undefined) return;
    const w = (this.queues.get(chosen) as Waiting[]).shift() as Waiting;
    this.waitingTotal--;
    clearTimeout(w.timer);
    this.start(chosen, w.job).then(w.resolve, w.reject);
  }
}
