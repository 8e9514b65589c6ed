/**
 * A token bucket per key (a nick, a client address): each key holds up to `burst` tokens,
 * refilled at `rate` per second, and every hit takes one. A bucket never refills past `burst`,
 * so a client idle for an hour still gets only `burst` at once.
 *
 * Contract, for every backend (limiter.contract.ts):
 * - `take(key)` resolves 0 and takes a token when one is there; otherwise it resolves the ms
 *   (at least 1) until one will be, and takes nothing. So a refused client that waits the
 *   reported time is served, however hard it hammered meanwhile.
 * - Keys are independent; a fresh key starts full.
 * - `take` never rejects: a backend that cannot reach its storage lets the hit through (and
 *   logs it). Refusing every client because a counter is unreachable would be worse than
 *   briefly not limiting.
 * - Memory is bounded (each backend documents how).
 */
export interface Limiter {
  /** Takes a token for `key`; resolves 0 when allowed, else the ms until a token is there. */
  take(key: string): Promise<number>;
  /** Releases what the limiter holds (connections); `take` must not be called after. */
  close(): Promise<void>;
}

/** The bucket of a Limiter: `rate` tokens per second, at most `burst` held. */
export interface Bucket {
  readonly rate: number;
  readonly burst: number;
}
