import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import { ChatError } from '../errors.js';
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
  /** config maxStreamsPerUser; 0 for any number. */
  readonly maxStreamsPerUser: number;
  /** How many streams a user has open on this process (Hub.countOf). */
  readonly streamsOf: (nick: string) => number;
  /** Counts refusals, by what was refused. */
  readonly stats?: Stats;
}

/**
 * Admission control at the edge, the same for both front doors: how often a user and a client
 * address may send and open streams (token buckets, config `--send-limit-*` and
 * `--connect-limit-*`), and how many streams a user may hold at once. A refusal is a
 * ChatError, 429 with Retry-After, answered by respond.ts like every other error.
 *
 * The user is checked before the address: a user flooding from a shared address (an office
 * NAT) is stopped by their own bucket and leaves the address's bucket to their neighbours,
 * while a client rotating nicks still empties its address's bucket. IPv6 addresses are keyed by their /64, the block one
 * subscriber usually holds, or a single client could rotate addresses forever.
 */
export class Admission {
  constructor(private readonly deps: AdmissionDeps) {}

  /** Counts a message or receipt from `nick`; throws CHAT_RATE_LIMITED when over a limit. */
  send(req: IncomingMessage, nick: string): Promise<void> {
    const { sendIp, sendUser } = this.deps.limiters;
    return this.take(req, nick, sendIp, sendUser, 'send');
  }

  /** Counts a stream opened by `nick`; throws CHAT_RATE_LIMITED when over a limit. */
  connect(req: IncomingMessage, nick: string): Promise<void> {
    const { connectIp, connectUser } = this.deps.limiters;
    return this.take(req, nick, connectIp, connectUser, 'connect');
  }

  /**
   * Throws CHAT_TOO_MANY_STREAMS when `nick` already holds the most streams allowed here.
   * Call it in the same synchronous run as the stream joins the Hub, or two opens racing
   * could both pass.
   */
  checkStreams(nick: string): void {
    const max = this.deps.maxStreamsPerUser;
    if (max > 0 && this.deps.streamsOf(nick) >= max) {
      if (this.deps.stats) this.deps.stats.refused.streams++;
      throw new ChatError('CHAT_TOO_MANY_STREAMS', `the limit is ${max}`);
    }
  }

  private async take(
    req: IncomingMessage,
    nick: string,
    byIp: Limiter | undefined,
    byUser: Limiter | undefined,
    what: Refusal,
  ): Promise<void> {
    const doing = what === 'send' ? 'sending' : 'opening streams';
    if (byUser) {
      const wait = await byUser.take(nick);
      if (wait > 0) throw this.refuse(what, `${doing} as ${nick}`, wait);
    }
    if (byIp) {
      const wait = await byIp.take(addressKey(clientAddress(req, this.deps.trustProxy)));
      if (wait > 0) throw this.refuse(what, `${doing} from this address`, wait);
    }
  }

  private refuse(what: Refusal, detail: string, waitMs: number): ChatError {
    if (this.deps.stats) this.deps.stats.refused[what]++;
    return limited(detail, waitMs);
  }
}

function limited(what: string, waitMs: number): ChatError {
  return new ChatError(
    'CHAT_RATE_LIMITED',
    `${what}; retry in ${Math.ceil(waitMs / 1000)} s`,
    waitMs,
  );
}

/**
 * The key an address is limited by: an IPv4 address as it is (IPv4-mapped IPv6 included), an
 * IPv6 address by its first 64 bits.
 */
export function addressKey(address: string): string {
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::', 2);
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') && tail !== '' ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
