import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import { ChatError } from '../domain/errors.js';
import { addressPrefix } from '../domain/sanctions.js';
import type { Limiter } from '../limits/limiter.js';
import type { Refusal, Stats } from '../ops/stats.js';
import { clientAddress } from './auth.js';

/** The limiters of the edge, one per kind of hit and key; absent means no limit. */
export interface AdmissionLimiters {
  readonly sendUser?: Limiter;
  readonly sendIp?: Limiter;
  readonly connectUser?: Limiter;
  readonly connectIp?: Limiter;
}

/** What the edge's admission control needs (main.ts builds it). */
export interface AdmissionDeps {
  readonly limiters: AdmissionLimiters;
  /** config trustProxy: take the address from X-Forwarded-For. */
  readonly trustProxy: boolean;
  /**
   * config auth === 'accounts': nicks are proven, and a user is limited as one user wherever
   * they connect from. In open mode a nick is only a claim, see `userKey`.
   */
  readonly accounts: boolean;
  /** config maxStreamsPerUser; 0 for any number. */
  readonly maxStreamsPerUser: number;
  /** Counts refusals, by what was refused. */
  readonly stats?: Stats;
  /** The address bans in force (address-bans.ts); absent: none are checked. */
  readonly bans?: { check(req: IncomingMessage): void };
}

/**
 * Admission control at the edge, the same for both front doors: how often a user and a client
 * address may send and open streams (token buckets, config `--send-limit-*` and
 * `--connect-limit-*`), and how many streams a user may hold at once. A refusal is a
 * ChatError, 429 with Retry-After, answered by reply.ts like every other error.
 *
 * Whose bucket a request takes from depends on whether its nick is proven:
 * - accounts mode: the user's, then the address's. A user flooding from a shared address (an
 *   office NAT) is stopped by their own bucket and leaves the address's to their neighbours.
 * - open mode, where anyone may claim any nick: the address's first, then that of the nick as
 *   claimed from this address. Keying "the user" by nick alone would let anyone empty a
 *   victim's buckets, or hold their streams, and lock them out; and a refused address must
 *   not add entries for the nicks it cycles through.
 *
 * IPv6 addresses are keyed by their /64, the block one subscriber usually holds, or a single
 * client could rotate addresses forever.
 */
export class Admission {
  /** Open streams per user key (see userKey); an entry lives while its streams do. */
  private readonly streams = new Map<string, number>();

  constructor(private readonly deps: AdmissionDeps) {}

  /** Counts a message or receipt from `nick`; throws CHAT_RATE_LIMITED when over a limit. */
  send(req: IncomingMessage, nick: string): Promise<void> {
    this.deps.bans?.check(req);
    const { sendIp, sendUser } = this.deps.limiters;
    return this.take(req, nick, sendIp, sendUser, 'send');
  }

  /** Counts a stream opened by `nick`; throws CHAT_RATE_LIMITED when over a limit. */
  connect(req: IncomingMessage, nick: string): Promise<void> {
    this.deps.bans?.check(req);
    const { connectIp, connectUser } = this.deps.limiters;
    return this.take(req, nick, connectIp, connectUser, 'connect');
  }

  /**
   * Counts one more open stream of `nick` and returns the function that gives its place back
   * when it closes; throws CHAT_TOO_MANY_STREAMS when they hold the most allowed here. Call
   * it in the same synchronous run as the stream joins the Hub.
   */
  openStream(req: IncomingMessage, nick: string): () => void {
    const max = this.deps.maxStreamsPerUser;
    if (max === 0) return noop;
    const key = this.userKey(req, nick);
    const open = this.streams.get(key) ?? 0;
    if (open >= max) {
      if (this.deps.stats) this.deps.stats.refused.streams++;
      throw new ChatError('CHAT_TOO_MANY_STREAMS', `the limit is ${max}`);
    }
    this.streams.set(key, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.streams.get(key) ?? 1) - 1;
      if (left > 0) this.streams.set(key, left);
      else this.streams.delete(key);
    };
  }

  /**
   * The key of "this user", for the flood guards and any other budget of theirs (read
   * receipts, api.ts): the nick when proven, else the nick as claimed from this address.
   */
  userKey(req: IncomingMessage, nick: string, address = this.addressOf(req)): string {
    return this.deps.accounts ? nick : `${nick} ${address}`;
  }

  /**
   * The key of a budget that, in open mode, a client must not multiply by claiming more nicks
   * (claimed-limit.ts does the same for rooms and tokens): the address; undefined in accounts
   * mode, where the user's own key suffices.
   */
  claimedKey(req: IncomingMessage): string | undefined {
    return this.deps.accounts ? undefined : this.addressOf(req);
  }

  /** The network an address ban of the client would name (domain/sanctions.ts). */
  prefixOf(req: IncomingMessage): string | undefined {
    return addressPrefix(clientAddress(req, this.deps.trustProxy));
  }

  private addressOf(req: IncomingMessage): string {
    return addressKey(clientAddress(req, this.deps.trustProxy));
  }

  private async take(
    req: IncomingMessage,
    nick: string,
    byIp: Limiter | undefined,
    byUser: Limiter | undefined,
    what: Refusal,
  ): Promise<void> {
    if (!byIp && !byUser) return;
    const doing = what === 'send' ? 'sending' : 'opening streams';
    // Once per request: the address bucket and, in open mode, the user's key both use it.
    const address = this.addressOf(req);
    const user = this.userKey(req, nick, address);
    if (this.deps.accounts) {
      await this.check(byUser, user, what, `${doing} as ${nick}`);
      await this.check(byIp, address, what, `${doing} from this address`);
    } else {
      await this.check(byIp, address, what, `${doing} from this address`);
      await this.check(byUser, user, what, `${doing} as ${nick}`);
    }
  }

  /** Takes a token for `key`; throws CHAT_RATE_LIMITED, counted, when there is none. */
  private async check(
    limiter: Limiter | undefined,
    key: string,
    what: Refusal,
    detail: string,
  ): Promise<void> {
    if (!limiter) return;
    const wait = await limiter.take(key);
    if (wait > 0) throw this.refuse(what, detail, wait);
  }

  private refuse(what: Refusal, detail: string, waitMs: number): ChatError {
    if (this.deps.stats) this.deps.stats.refused[what]++;
    return limited(detail, waitMs);
  }
}

const noop = (): void => {};

function limited(what: string, waitMs: number): ChatError {
  return new ChatError(
    'CHAT_RATE_LIMITED',
    `${what}; retry in ${Math.ceil(waitMs / 1000)} s`,
    waitMs,
  );
}

/**
 * The key an address is limited by: an IPv4 address as it is (IPv4-mapped IPv6 included), an
 * IPv6 address by its first 64 bits. A port or brackets, as some proxies write them in
 * X-Forwarded-For (`1.2.3.4:5678`, `[2001:db8::1]:443`), are dropped first, or every source
 * port would get a bucket of its own.
 */
export function addressKey(raw: string): string {
  let address = raw.trim().toLowerCase();
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end > 0) address = address.slice(1, end);
  } else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(address)) {
    address = address.slice(0, address.lastIndexOf(':'));
  }
  if (!isIPv6(address)) return address;
  // IPv4-mapped (::ffff:1.2.3.4, or written out in full): the IPv4 client it stands for.
  if (address.includes('.')) return address.slice(address.lastIndexOf(':') + 1);
  const [head = '', tail = ''] = address.split('::', 2);
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') && tail !== '' ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
