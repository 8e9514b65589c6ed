/** What a SerialQueue is told at construction: its bound and the errors it answers with. */
export interface SerialQueueOptions {
  /** How many jobs may wait behind the running one; one more is refused with `busy()`. */
  readonly maxWaiting: number;
  /** How long a job may run before its caller is answered with `timedOut()`, in ms. */
  readonly timeoutMs: number;
  /** The error for a job refused because `maxWaiting` jobs already wait. */
  readonly busy: () => Error;
  /** The error for a job that ran longer than `timeoutMs`. */
  readonly timedOut: () => Error;
  /** The error for a job offered after close(), or still waiting when close() is called. */
  readonly closed: () => Error;
}

/** One job waiting for its turn. */
interface Waiting {
  readonly job: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Runs one job at a time, in the order they were offered (FIFO), with at most `maxWaiting`
 * waiting behind it (memory bound: one closure and two callbacks per waiting job).
 *
 * A job that overruns `timeoutMs` has its caller answered with `timedOut()` at once, but it keeps
 * the slot until its promise settles: work that cannot be cancelled (an image decoding on a libuv
 * thread) would otherwise overlap the next job, and a stream of slow inputs could stack up
 * threads. Such work must therefore end on its own (sharp's own timeout does); until it does,
 * new jobs wait and then are refused with `busy()`, which is the bound doing its job.
 */
export class SerialQueue {
  private readonly options: SerialQueueOptions;
  private readonly waiting: Waiting[] = [];
  /** The running job's work, settled or not; undefined when idle. */
  private current: Promise<unknown> | undefined;
  private closed = false;

  constructor(options: SerialQueueOptions) {
    if (!Number.isInteger(options.maxWaiting) || options.maxWaiting < 0) {
      throw new RangeError('maxWaiting must be an integer >= 0');
    }
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
    this.options = options;
  }

  /** Jobs waiting behind the running one (not counting it). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Runs `job` when its turn comes and answers with its result, its error, `timedOut()` if it
   * runs longer than `timeoutMs`, `busy()` at once if the queue is full, or `closed()`.
   */
  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.options.closed());
    if (this.current === undefined) return this.start(job);
    if (this.waiting.length >= this.options.maxWaiting) {
      return Promise.reject(this.options.busy());
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ job, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /**
   * Refuses new jobs and rejects the waiting ones with `closed()`; resolves when the running
   * job's work (if any) has ended, even one whose caller was already answered by the timeout.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(this.options.closed());
    while (this.current !== undefined) await this.current;
  }

  /** Starts `job` now; the slot is released when its work settles, not when the timer fires. */
  private start<T>(job: () => Promise<T>): Promise<T> {
    let work: Promise<T>;
    try {
      work = job();
    } catch (err) {
      work = Promise.reject(err);
    }
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.current = settled;
    void settled.then(() => this.next());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.options.timedOut()), this.options.timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  /** Hands the slot to the next waiting job, or leaves the queue idle. */
  private next(): void {
    this.current = undefined;
    const w = this.waiting.shift();
    if (w === undefined) return;
    this.start(w.job).then(w.resolve, w.reject);
  }
}
