/**
 * The SSRF guard of Web Push. A push endpoint is a URL a browser gives the server, which then
 * POSTs to it: without a check, anyone with an account could make the server send requests
 * into the operator's network (a metadata service at 169.254.169.254, an admin port on
 * localhost). So an endpoint must be `https:` to public addresses, checked when it is
 * subscribed and again at every send, on a fresh DNS answer, and the request connects to the
 * very address that was checked (a name that answers a public address to the check and a
 * private one to the connection, DNS rebinding, gets nowhere).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ChatError } from '../../domain/errors.js';

/** Longest endpoint accepted; real ones (FCM, Mozilla, Apple) are under 600 characters. */
export const MAX_ENDPOINT_LENGTH = 2048;

/** Most addresses of one name that are checked; a name with more is refused. */
const MAX_ADDRESSES = 32;

/**
 * How long a lookup may take before the endpoint counts as not resolving, in ms. A subscribe
 * waits for it on the request path, and getaddrinfo holds one of libuv's few threads while it
 * waits (the sender has its own, overall timeout too).
 */
export const RESOLVE_TIMEOUT_MS = 5_000;

/** An address a name resolved to, as node:dns gives it. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has (node:dns lookup, `all: true`). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** How the guard checks. */
export interface EndpointGuardOptions {
  /** `--push-allow-private-endpoints yes`: allow `http:` and any address. */
  readonly allowPrivate: boolean;
  /** A test seam; the system resolver (getaddrinfo, as node's http uses) by default. */
  readonly resolve?: Resolver;
}

/** Where a push is to go: the endpoint, and the checked address to connect to. */
export interface PushTarget {
  readonly url: URL;
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * IPv4 ranges no push service lives in (IANA special-purpose registry): this network,
 * private, CGNAT, loopback, link-local, protocol assignments, documentation, 6to4 relay,
 * benchmarking, multicast, reserved and broadcast. IPv4-mapped IPv6 addresses are refused as
 * IPv6 (below).
 */
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

/**
 * IPv6: only global unicast (2000::/3) is allowed, which leaves out ::1, ::, IPv4-mapped and
 * -compatible addresses, NAT64 (64:ff9b::/96, which could reach a private IPv4 address
 * through a gateway), unique local fc00::/7, link-local fe80::/10 and multicast ff00::/8.
 * Within it, these special ranges are refused too: IETF protocol assignments 2001::/23
 * (Teredo, benchmarking, ORCHID), documentation 2001:db8::/32 and 3fff::/20, and 6to4
 * 2002::/16 (which embeds any IPv4 address).
 */
const GLOBAL_V6: readonly [string, number] = ['2000::', 3];
const BLOCKED_V6: ReadonlyArray<readonly [string, number]> = [
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
];

const blocked = new BlockList();
for (const [net, prefix] of BLOCKED_V4) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of BLOCKED_V6) blocked.addSubnet(net, prefix, 'ipv6');
const globalV6 = new BlockList();
globalV6.addSubnet(GLOBAL_V6[0], GLOBAL_V6[1], 'ipv6');

/** Whether `address` (an IP literal) is a public unicast address a push service may have. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !blocked.check(address, 'ipv4');
  if (family === 6) return globalV6.check(address, 'ipv6') && !blocked.check(address, 'ipv6');
  return false;
}

/** The system resolver: every address of `hostname`, as node's own connections would get. */
const systemResolve: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[];

/** Checks push endpoints; see the top of this file. */
export class EndpointGuard {
  private readonly resolve: Resolver;

  constructor(private readonly options: EndpointGuardOptions) {
    this.resolve = options.resolve ?? systemResolve;
  }

  /** Whether private addresses and `http:` are allowed (`--push-allow-private-endpoints`). */
  get allowPrivate(): boolean {
    return this.options.allowPrivate;
  }

  /**
   * The endpoint as a URL, when its form is acceptable: a string of at most
   * MAX_ENDPOINT_LENGTH, `https:` (or `http:` when private endpoints are allowed), a host, no
   * credentials. Throws PUSH_ENDPOINT_INVALID. No DNS: see target() for the address.
   */
  parse(endpoint: unknown): URL {
    if (typeof endpoint !== 'string' || endpoint === '') {
      throw new ChatError('PUSH_ENDPOINT_INVALID', '"endpoint" must be a URL');
    }
    if (endpoint.length > MAX_ENDPOINT_LENGTH) {
      throw new ChatError('PUSH_ENDPOINT_INVALID', `longer than ${MAX_ENDPOINT_LENGTH}`);
    }
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ChatError('PUSH_ENDPOINT_INVALID', 'not a URL');
    }
    const schemes = this.options.allowPrivate ? ['https:', 'http:'] : ['https:'];
    if (!schemes.includes(url.protocol)) {
      throw new ChatError('PUSH_ENDPOINT_INVALID', `${url.protocol} is not allowed`);
    }
    if (url.hostname === '' || url.username !== '' || url.password !== '') {
      throw new ChatError('PUSH_ENDPOINT_INVALID', 'it needs a host and no credentials');
    }
    return url;
  }

  /**
   * Where a push to `endpoint` may go: its form checked (parse), its host resolved now, and
   * every address it has public (unless private ones are allowed). The caller connects to
   * the returned address and no other. A name with any private address is refused whole: a
   * name that mixes them is either misconfigured or an attack. Throws PUSH_ENDPOINT_INVALID.
   */
  async target(endpoint: unknown): Promise<PushTarget> {
    const url = this.parse(endpoint);
    // URL keeps an IPv6 literal in brackets.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const literal = isIP(host);
    let addresses: ResolvedAddress[];
    if (literal !== 0) {
      addresses = [{ address: host, family: literal as 4 | 6 }];
    } else {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, fail) => {
        timer = setTimeout(() => fail(new Error('lookup timed out')), RESOLVE_TIMEOUT_MS);
      });
      try {
        addresses = await Promise.race([this.resolve(host), late]);
      } catch {
        throw new ChatError('PUSH_ENDPOINT_INVALID', 'its host does not resolve');
      } finally {
        clearTimeout(timer);
      }
    }
    if (addresses.length === 0 || addresses.length > MAX_ADDRESSES) {
      throw new ChatError('PUSH_ENDPOINT_INVALID', 'its host does not resolve');
    }
    if (!this.options.allowPrivate && !addresses.every((a) => isPublicAddress(a.address))) {
      throw new ChatError('PUSH_ENDPOINT_INVALID', 'its host is not a public address');
    }
    const [first] = addresses as [ResolvedAddress];
    return { url, address: first.address, family: first.family };
  }
}
