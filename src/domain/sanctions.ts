import { ChatError } from './errors.js';

/** What an admin can hold a user to (core/sanctions.ts). */
export type SanctionKind = 'ban' | 'mute';

/** A ban or mute as the Store keeps it: one row per (nick, kind). */
export interface Sanction {
  readonly nick: string;
  readonly kind: SanctionKind;
  /** When it was imposed, ms since the epoch. */
  readonly since: number;
  /** When it lifts by itself, ms since the epoch; 0: only when lifted by hand. */
  readonly until: number;
  readonly reason: string;
  /** Who imposed it: a nick, or `(cli)`. */
  readonly by: string;
}

/** A ban of a client address (open mode's sanction; see banPrefix). */
export interface AddressBan {
  readonly id: number;
  /** The banned network: `1.2.3.4/32`, or an IPv6 /64 as `2001:db8:0:1::/64`. */
  readonly prefix: string;
  readonly since: number;
  /** 0: only when lifted by hand. */
  readonly until: number;
  readonly reason: string;
  readonly by: string;
}

/** A sanction as the API shows it: `until` null when it lasts until lifted. */
export interface SanctionView {
  readonly reason: string;
  readonly until: number | null;
  readonly by: string;
  readonly since: number;
}

/** Longest timed ban or mute, in minutes (a year); a ban may also have no end. */
export const MAX_SANCTION_MINUTES = 525_600;

/**
 * Most address bans in force at once: every process holds them all in memory and re-reads
 * them every ADDRESS_BANS_RELOAD_MS, so the table must stay small.
 */
export const MAX_ADDRESS_BANS = 10_000;

/** Whether a sanction is in force at `now`. */
export function inForce(s: { readonly until: number }, now: number): boolean {
  return s.until === 0 || s.until > now;
}

/** The API's view of a sanction. */
export function sanctionView(s: Sanction | AddressBan): SanctionView {
  return { reason: s.reason, until: s.until === 0 ? null : s.until, by: s.by, since: s.since };
}

/**
 * A duration in minutes from a request (1..MAX_SANCTION_MINUTES); undefined when absent and
 * `optional`. Anything else is MOD_DURATION_INVALID.
 */
export function parseMinutes(raw: unknown, optional: boolean): number | undefined {
  if ((raw === undefined || raw === null) && optional) return undefined;
  if (
    typeof raw !== 'number' ||
    !Number.isSafeInteger(raw) ||
    raw < 1 ||
    raw > MAX_SANCTION_MINUTES
  ) {
    throw new ChatError('MOD_DURATION_INVALID');
  }
  return raw;
}

/**
 * The network an address ban covers, in canonical form: an IPv4 address as its /32
 * (`1.2.3.4/32`), an IPv6 address as its /64 (`2001:db8:0:1::/64`: the block one subscriber
 * usually holds, as the flood guards key it), an IPv4-mapped IPv6 address as the IPv4 one.
 * Brackets and a port (`[::1]:443`, `1.2.3.4:80`) are dropped. Undefined for anything else.
 */
export function addressPrefix(raw: string): string | undefined {
  let address = raw.trim().toLowerCase();
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end <= 0) return undefined;
    address = address.slice(1, end);
  } else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}$/.test(address)) {
    address = address.slice(0, address.lastIndexOf(':'));
  }
  // A zone (fe80::1%eth0) names the interface, not the host.
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  if (isIPv4(address)) return `${address}/32`;
  const groups = ipv6Groups(address);
  if (groups === undefined) return undefined;
  // IPv4-mapped (::ffff:1.2.3.4): the IPv4 client it stands for.
  if (groups.slice(0, 5).every((g) => /^0+$/.test(g)) && /^0*ffff$/.test(groups[5] ?? '')) {
    const [hi = 0, lo = 0] = groups.slice(6).map((g) => Number.parseInt(g, 16));
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}/32`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** A dotted IPv4 address: four decimal octets of 0..255, without leading zeros. */
function isIPv4(address: string): boolean {
  const parts = address.split('.');
  return (
    parts.length === 4 && parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)
  );
}

/** The eight groups of an IPv6 address (an IPv4 tail made two groups), or undefined. */
function ipv6Groups(address: string): string[] | undefined {
  if (address.includes('.')) {
    // An IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups.
    const cut = address.lastIndexOf(':');
    const v4 = address.slice(cut + 1);
    if (cut === -1 || !isIPv4(v4)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
    address = `${address.slice(0, cut + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const [head = '', tail = ''] = halves;
  const left = head === '' ? [] : head.split(':');
  const right = halves.length === 2 && tail !== '' ? tail.split(':') : [];
  const groups =
    halves.length === 1
      ? left
      : 8 - left.length - right.length >= 1
        ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
        : [];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups;
}

/** Like addressPrefix, or throws MOD_ADDRESS_INVALID. */
export function parseAddress(raw: unknown): string {
  const prefix = typeof raw === 'string' && raw.length <= 64 ? addressPrefix(raw) : undefined;
  if (prefix === undefined) throw new ChatError('MOD_ADDRESS_INVALID');
  return prefix;
}
