import { Users } from '../auth/users.js';
import type { Config } from '../config.js';
import { ChatError } from '../domain/errors.js';
import { parseNick } from '../domain/input.js';
import { silentLogger } from '../logger.js';
import { openStore } from '../open-store.js';
import type { Store } from '../store/store.js';
import { CliError, UsageError } from './errors.js';
import { type PasswordInput, readNewPassword } from './password.js';

/** What an account command reads and writes besides the store. */
export interface CommandIO {
  readonly stdin: PasswordInput;
  /** The command's result (a token), for scripts. */
  out(text: string): void;
  /** Prompts and notes, for the person at the terminal. */
  note(text: string): void;
}

/** The account commands, by their words after `ssechat`. */
export type AccountCommand = 'user add' | 'user passwd' | 'token create';

/**
 * Runs an account command against the configured store, through the same Users rules as the
 * JSON API. It never records an auth mode (setAuthMode): a command run with other flags than
 * the server must not end every session of it. A running server may keep accepting a revoked
 * credential for up to its cache time (10 s), and streams it already opened stay open.
 */
export async function runAccountCommand(
  command: AccountCommand,
  rawNick: string,
  options: { readonly label?: string },
  config: Config,
  io: CommandIO,
): Promise<void> {
  if (config.store === 'memory') {
    throw new UsageError('--store memory keeps no accounts; use sqlite or postgres');
  }
  let nick: string;
  try {
    // Accounts mode's rules: the nick names an account, which may predate the rules for new
    // nicks; `user add` applies those (Users.create).
    nick = parseNick(rawNick, { ...config, auth: 'accounts' });
  } catch (err) {
    if (err instanceof ChatError) throw new UsageError(`${err.message}: "${rawNick}"`);
    throw err;
  }
  const store = await openStore(config, silentLogger);
  try {
    const users = new Users(store.accounts);
    const exists = await users.exists(nick);
    if (command === 'user add') {
      if (exists) throw new CliError(`user "${nick}" already exists`);
      await users.create(nick, await readNewPassword(io.stdin, io.note, nick));
      io.out(`user ${nick} created\n`);
    } else if (!exists) {
      throw new CliError(`no user "${nick}"; create it with: ssechat user add ${nick}`);
    } else if (command === 'user passwd') {
      const password = await readNewPassword(io.stdin, io.note, nick);
      const ended = await users.setPassword(nick, password);
      io.out(`password of ${nick} changed; sessions, tokens and tickets ended: ${ended}\n`);
    } else {
      const { token, credential } = await users.createToken(nick, options.label);
      io.note(`token ${credential.id} for ${nick}; it is shown only this once:\n`);
      io.out(`${token}\n`);
    }
    await noteAuthMode(store, config, io);
  } catch (err) {
    if (err instanceof ChatError) throw new CliError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

/**
 * Accounts only count on a server run with `--auth accounts`. The mode the store last ran
 * with says what its server does; before any server ran, the command's own config says what
 * the next one will do. Switching a server to accounts mode later keeps users and passwords
 * but ends every session and token (AccountStore.setAuthMode), including tokens made here.
 */
async function noteAuthMode(store: Store, config: Config, io: CommandIO): Promise<void> {
  const mode = (await store.accounts.authMode()) ?? config.auth;
  if (mode === 'accounts') return;
  io.note(
    'note: this server runs with --auth open, where anyone may use any nick and passwords are not checked; accounts count once it runs with --auth accounts (which ends every session and token made before)\n',
  );
}
