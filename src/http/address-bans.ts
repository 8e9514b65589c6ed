import type { IncomingMessage } from 'node:http';
import { ChatError } from '../domain/errors.js';
import { type AddressBan, addressPrefix } from '../domain/sanctions.js';
import type { Logger } from '../logger.js';
import type { SanctionStore } from '../store/sanctions-store.js';
import { clientAddress } from './auth.js';

/**
 * How often each process re-reads the address bans in force, in ms: a ban made anywhere (the
 * command line, another process) refuses the address and ends its open streams within this.
 */
export const ADDRESS_BANS_RELOAD_MS = 1_000;

/** What AddressBans needs. */
export interface AddressBansDeps {
  readonly store: Pick<SanctionStore, 'addressBans'>;
  /** config trustProxy: the client's address from X-Forwarded-For. */
  readonly trustProxy: boolean;
  readonly logger: Logger;
  /** Ends this process's open streams whose address `banned` says is banned. */
  readonly closeStreams: (banned: (prefix: string | undefined) => boolean) => void;
  readonly now?: () => number;
}

/**
 * This process's copy of the address bans in force (open mode's sanction, made with the
 * command line; the table is small, MAX_ADDRESS_BANS), re-read every ADDRESS_BANS_RELOAD_MS.
 * A banned address is refused logins, stream opens and sends (AUTH_ADDRESS_BANNED, with
 * `until` and `reason`), and its open streams end at the re-read that finds the ban. An IPv6
 * client is matched by its /64 (addressPrefix). A failed re-read keeps the last copy.
 */
export class AddressBans {
  private readonly now: () => number;
  private bans = new Map<string, AddressBan>();
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;

  constructor(private readonly deps: AddressBansDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Reads the bans once, then every ADDRESS_BANS_RELOAD_MS until close(). */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload(), ADDRESS_BANS_RELOAD_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the bans (at most one read at a time) and ends the banned streams. */
  reload(): Promise<void> {
    this.reloading ??= this.read().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async read(): Promise<void> {
    let list: AddressBan[];
    try {
      list = await this.deps.store.addressBans(this.now());
    } catch (err) {
      this.deps.logger.warn('could not read the address bans; keeping the last ones', { err });
      return;
    }
    const fresh = new Map<string, AddressBan>();
    for (const ban of list) fresh.set(ban.prefix, ban);
    // By id: a ban lifted and made again between two reads is new too.
    const known = new Set([...this.bans.values()].map((ban) => ban.id));
    const added = list.some((ban) => !known.has(ban.id));
    this.bans = fresh;
    if (added)
      this.deps.closeStreams((prefix) => prefix !== undefined && this.ban(prefix) !== undefined);
  }

  /** The network of a request's client address (addressPrefix), if it has one. */
  prefixOf(req: IncomingMessage): string | undefined {
    return addressPrefix(clientAddress(req, this.deps.trustProxy));
  }

  /** Throws AUTH_ADDRESS_BANNED when the request's address is banned now. */
  check(req: IncomingMessage): void {
    if (this.bans.size === 0) return;
    const prefix = this.prefixOf(req);
    const ban = prefix === undefined ? undefined : this.ban(prefix);
    if (ban) {
      throw new ChatError('AUTH_ADDRESS_BANNED', undefined, undefined, {
        until: ban.until === 0 ? null : ban.until,
        reason: ban.reason,
      });
    }
  }

  /** The ban in force of `prefix`, if any (one that expired since the read is not). */
  private ban(prefix: string): AddressBan | undefined {
    const ban = this.bans.get(prefix);
    return ban && (ban.until === 0 || ban.until > this.now()) ? ban : undefined;
  }
}
