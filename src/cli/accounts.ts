import { Users } from '../auth/users.js';
import type { Config } from '../config.js';
import { CLI_ACTOR, parseReason } from '../domain/audit.js';
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
export type AccountCommand = 'user add' | 'user passwd' | 'user role' | 'token create';

/** What an account command takes besides the nick. */
export interface AccountOptions {
  /** `token create --name`. */
  readonly label?: string;
  /** `user add --admin`: the new account is a server admin. */
  readonly admin?: boolean;
  /** `user role <nick> admin|user`. */
  readonly role?: string;
  /** `--reason`, kept in the audit log (at most 500 characters). */
  readonly reason?: string;
}

/**
 * Runs an account command against the configured store, through the same Users rules as the
 * JSON API. It never records an auth mode (setAuthMode): a command run with other flags than
 * the server must not end every session of it. A running server may keep accepting a revoked
 * credential for up to its cache time (10 s), and streams it already opened stay open.
 */
export async function runAccountCommand(
  command: AccountCommand,
  rawNick: string,
  options: AccountOptions,
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
    parseReason(options.reason, false);
  } catch (err) {
    if (err instanceof ChatError) throw new UsageError(`${err.message}: "${rawNick}"`);
    throw err;
  }
  const store = await openStore(config, silentLogger);
  try {
    const users = new Users(store.accounts);
    const exists = await users.exists(nick);
    // What the operator does to accounts is audited, with the command line as its actor.
    const audit = { ts: Date.now(), actor: CLI_ACTOR, target: nick };
    const reason = parseReason(options.reason, false);
    if (command === 'user add') {
      if (exists) throw new CliError(`user "${nick}" already exists`);
      await users.create(nick, await readNewPassword(io.stdin, io.note, nick));
      const admin = options.admin === true;
      await store.audit.record({ ...audit, action: 'user.create', reason, detail: { admin } });
      if (admin) {
        await store.accounts.setAdmin(nick, true, {
          ...audit,
          action: 'role',
          reason,
          detail: { role: 'admin' },
        });
      }
      io.out(`user ${nick} created${admin ? ' (a server admin)' : ''}\n`);
    } else if (!exists) {
      throw new CliError(`no user "${nick}"; create it with: ssechat user add ${nick}`);
    } else if (command === 'user role') {
      const role = options.role;
      if (role !== 'admin' && role !== 'user') {
        throw new UsageError('user role needs <nick> admin or <nick> user');
      }
      // The account as registered: `exists` matched it in any ASCII letter case.
      const registered = (await store.accounts.canonicalNick(nick)) ?? nick;
      await store.accounts.setAdmin(registered, role === 'admin', {
        ...audit,
        target: registered,
        action: 'role',
        reason,
        detail: { role },
      });
      io.out(`${registered} is ${role === 'admin' ? 'a server admin' : 'a plain user'}\n`);
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
