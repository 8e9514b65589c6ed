import type { Config } from '../config.js';
import { CLI_ACTOR, parseReason } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import { addressPrefix, MAX_ADDRESS_BANS, parseMinutes } from '../domain/sanctions.js';
import { silentLogger } from '../logger.js';
import { openStore } from '../open-store.js';
import { CliError, UsageError } from './errors.js';

/** The address-ban commands, by their words after `ssechat`. */
export type BanCommand = 'ban address' | 'ban list' | 'unban address';

export const BAN_HELP = `Usage:
  ssechat ban address <ip> --reason <text> [--minutes <n>] [options]
  ssechat ban list [options]
  ssechat unban address <id|ip> [--reason <text>] [options]

Bans a client address: logins, stream opens and sends from it are refused (403
AUTH_ADDRESS_BANNED with until and reason), and its open streams end. Every server process of
the store re-reads the bans every second. An IPv4 address is banned alone (/32); an IPv6
address bans its /64, the block one subscriber usually holds. --minutes (1 to 525600) ends the
ban by itself; without it the ban holds until lifted. --reason is required for a ban (at most
500 characters). list prints the bans in force, one a line: id, network, until, by, reason.
unban lifts a ban by its id, or every ban of the address's network. Each ban and unban is
written to the audit log (actor "(cli)"). Options: those of serve that choose the store.
`;

/** Runs an address-ban command against the configured store. */
export async function runBanCommand(
  command: BanCommand,
  arg: string | undefined,
  options: { readonly reason?: string; readonly minutes?: string },
  config: Config,
  out: (text: string) => void,
): Promise<void> {
  if (config.store === 'memory') {
    throw new UsageError('--store memory keeps nothing; use sqlite or postgres');
  }
  if (command !== 'ban list' && arg === undefined) {
    throw new UsageError(`${command} needs an ${command === 'ban address' ? '<ip>' : '<id|ip>'}`);
  }
  let reason = '';
  let minutes: number | undefined;
  try {
    reason = parseReason(options.reason, command === 'ban address');
    if (options.minutes !== undefined) {
      if (command !== 'ban address') throw new UsageError('--minutes is for ban address');
      minutes = parseMinutes(Number(options.minutes), false);
    }
  } catch (err) {
    if (err instanceof ChatError) throw new UsageError(err.message);
    throw err;
  }
  const store = await openStore(config, silentLogger);
  try {
    const now = Date.now();
    if (command === 'ban list') {
      for (const ban of await store.sanctions.addressBans(now)) {
        const until = ban.until === 0 ? 'until-lifted' : new Date(ban.until).toISOString();
        out(`${ban.id}\t${ban.prefix}\t${until}\t${ban.by}\t${ban.reason}\n`);
      }
      return;
    }
    if (command === 'ban address') {
      const prefix = addressPrefix(arg ?? '');
      if (prefix === undefined) throw new UsageError(`not an IPv4 or IPv6 address: "${arg}"`);
      const until = minutes === undefined ? 0 : now + minutes * 60_000;
      const ban = await store.sanctions.imposeAddress(
        { prefix, since: now, until, reason, by: CLI_ACTOR },
        { ts: now, actor: CLI_ACTOR, action: 'address.ban', reason },
      );
      if (ban === null) throw new CliError(`at most ${MAX_ADDRESS_BANS} address bans in force`);
      out(`address ban ${ban.id}: ${ban.prefix}\n`);
      return;
    }
    const raw = arg ?? '';
    const target = /^\d+$/.test(raw) ? { id: Number(raw) } : { prefix: addressPrefix(raw) };
    if ('prefix' in target && target.prefix === undefined) {
      throw new UsageError(`not a ban id nor an address: "${raw}"`);
    }
    const lifted = await store.sanctions.liftAddress(
      target as { id: number } | { prefix: string },
      now,
      {
        ts: now,
        actor: CLI_ACTOR,
        action: 'address.unban',
        reason,
      },
    );
    if (lifted.length === 0) throw new CliError(`no address ban in force for "${raw}"`);
    for (const ban of lifted) out(`address ban ${ban.id} lifted: ${ban.prefix}\n`);
  } catch (err) {
    if (err instanceof ChatError) throw new CliError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}
