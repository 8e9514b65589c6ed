import { RateLimiter, type RateLimiterOptions } from '../auth/rate-limit.js';
import { ChatError, type ErrorCode } from '../domain/errors.js';
import { MAX_ROOMS_CREATED_PER_HOUR, ROOM_CREATION_WINDOW_MS } from '../domain/room-rules.js';

/** How often one address, and one nick claimed from it, may do a thing (see ClaimedLimit). */
export interface ClaimedLimitOptions {
  readonly perAddress: RateLimiterOptions;
  readonly perUser: RateLimiterOptions;
}

// Keys are bounded by maxKeys (least recently used first), each costing about limit × 8 bytes.
const HOUR = 60 * 60_000;
const MAX_KEYS = 10_000;

/**
 * Bearer tokens in open mode: 50 per address and 10 per nick from one address, per hour. With
 * their 30-day lifetime (OPEN_TOKEN_TTL_MS) one address holds at most 36,000 live tokens.
 */
export const OPEN_TOKENS: ClaimedLimitOptions = {
  perAddress: { limit: 50, windowMs: HOUR, maxKeys: MAX_KEYS },
  perUser: { limit: 10, windowMs: HOUR, maxKeys: MAX_KEYS },
};

/**
 * Stream tickets in open mode, per 30 s (a ticket's life, TICKET_TTL_MS in auth.ts): 120 per
 * address (an office NAT opening tabs), 20 per nick from one address (the cap that accounts
 * mode counts per user, MAX_TICKETS_PER_USER).
 */
export const OPEN_TICKETS: ClaimedLimitOptions = {
  perAddress: { limit: 120, windowMs: 30_000, maxKeys: MAX_KEYS },
  perUser: { limit: 20, windowMs: 30_000, maxKeys: MAX_KEYS },
};

/**
 * Room creations in open mode, per hour: MAX_ROOMS_CREATED_PER_HOUR per nick from one address
 * (what accounts mode counts per user in the Store), 30 per address (three such users behind one
 * NAT). Counted per process: the Store cannot count by address. A refused creation (the name
 * is taken) counts too, so that probing names costs the same as creating.
 */
export const OPEN_ROOM_CREATIONS: ClaimedLimitOptions = {
  perAddress: {
    limit: 3 * MAX_ROOMS_CREATED_PER_HOUR,
    windowMs: ROOM_CREATION_WINDOW_MS,
    maxKeys: MAX_KEYS,
  },
  perUser: {
    limit: MAX_ROOMS_CREATED_PER_HOUR,
    windowMs: ROOM_CREATION_WINDOW_MS,
    maxKeys: MAX_KEYS,
  },
};

/**
 * A budget of something one makes in open mode, where a nick is only claimed. In accounts mode
 * such budgets are counted per user (in the Store); counted per claimed nick, anyone could use
 * up anyone's. So, as the flood guards do (admission.ts): per client address first (IPv6 per
 * /64, the caller's addressKey), then per nick as claimed from that address. A refused address
 * adds no entry for the nicks it cycles through, and a user of a shared address keeps most of
 * the address's allowance for their neighbours.
 */
export class ClaimedLimit {
  private readonly perAddress: RateLimiter;
  private readonly perUser: RateLimiter;

  constructor(
    options: ClaimedLimitOptions,
    private readonly what: string,
    /** The error a refusal throws: AUTH_RATE_LIMITED for credentials, CHAT_RATE_LIMITED else. */
    private readonly code: ErrorCode = 'AUTH_RATE_LIMITED',
  ) {
    this.perAddress = new RateLimiter(options.perAddress);
    this.perUser = new RateLimiter(options.perUser);
  }

  /** Counts one from `nick` at `address`; throws `code` (429) over either bound. */
  hit(address: string, nick: string, now: number): void {
    let wait = this.perAddress.hit(address, now);
    if (wait > 0) throw limited(this.code, `${this.what} from this address`, wait);
    wait = this.perUser.hit(`${nick} ${address}`, now);
    if (wait > 0) throw limited(this.code, `${this.what} as ${nick} from this address`, wait);
  }
}

function limited(code: ErrorCode, what: string, waitMs: number): ChatError {
  return new ChatError(code, `${what}; retry in ${Math.ceil(waitMs / 1000)} s`, waitMs);
}
