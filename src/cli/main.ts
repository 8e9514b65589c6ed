import { ConfigError, helpText, loadConfig, parseArgs, resolveConfig } from '../config.js';
import { redactedConfig } from '../config-redact.js';
import { serve } from '../main.js';
import { type AccountCommand, runAccountCommand } from './accounts.js';
import { BAN_HELP, type BanCommand, runBanCommand } from './bans.js';
import { UsageError } from './errors.js';
import { packageVersion } from './version.js';

const USAGE = `Usage:
  ssechat [serve] [PORT] [options]      Run the chat server (the default command)
  ssechat user add <nick> [options]     Register an account; the password is read from stdin
  ssechat user add --admin <nick>       Register a server admin (accounts mode)
  ssechat user passwd <nick> [options]  Set an account's password and end its sessions and tokens
  ssechat user role <nick> admin|user   Make an account a server admin, or a plain user again
  ssechat token create <nick> [--name <label>] [options]
                                        Issue a bearer token and print it, once, to stdout
  ssechat ban address <ip> --reason <text> [--minutes <n>]
                                        Ban a client address (IPv6: its /64)
  ssechat ban list                      Print the address bans in force
  ssechat unban address <id|ip>         Lift an address ban
  ssechat config [options]              Print the effective config as JSON, secrets redacted
  ssechat version                       Print the version (also --version or -V, anywhere)
  ssechat <command> --help              Help on one command

Passwords are never taken from the command line: on a terminal they are typed twice without
echo, otherwise the first line of stdin is the password. The account commands open the store
the options name (--store, --data-dir, --database-url, ...), the same way serve does, and are
safe to run while a server uses it.

Exit codes: 0 done, 1 failed (a taken nick, a weak password, a store error, a port in use,
a data directory that cannot be written), 2 bad usage or configuration.
`;

const COMMAND_HELP: Record<string, string> = {
  user: `Usage:
  ssechat user add [--admin] [--reason <text>] <nick> [options]
  ssechat user passwd <nick> [options]
  ssechat user role <nick> admin|user [--reason <text>] [options]

add registers <nick> (it must not exist yet), with --admin as a server admin; passwd sets the
password of an existing user and ends every session, token and ticket of theirs; role makes an
existing user a server admin (admin) or a plain user (user). Server admins (accounts mode) act
as owners of every room and use /api/v1/admin; the first one is made here. What add and role
do is kept in the audit log (GET /api/v1/admin/audit) with the actor (cli) and the --reason
(at most 500 characters). The last admin cannot be made a plain user. The password is read from stdin: typed twice
without echo on a terminal, else the first line (printf '%s\\n' "$PW" | ssechat user add bob).
Accounts are checked only by a server run with --auth accounts; in open mode the command works
and says so. Options: those of serve (ssechat serve --help) that choose the store.
`,
  token: `Usage:
  ssechat token create <nick> [--name <label>] [options]

Issues a bearer token (Authorization: Bearer <token>) for the registered user <nick> and
prints it to stdout; it is shown this once and only its hash is kept. --name labels it in
GET /api/v1/tokens (at most 100 characters). Options: those of serve that choose the store.
`,
  ban: BAN_HELP,
  unban: BAN_HELP,
  config: `Usage:
  ssechat config [options]

Prints the config that serve would run with, after flags, environment variables, the config
file and defaults, as a JSON object a --config file could hold. --webhook-secret,
--metrics-token and any password in --database-url or --redis-url read [redacted].
`,
};

/** Output of the command line; the real process's streams unless a caller passes others. */
export interface CliStreams {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/**
 * The `ssechat` command line (bin/ssechat.js): picks the command, runs it, and turns its
 * errors into a message on stderr and an exit code (2 for usage, 1 for failures).
 */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  streams: CliStreams = process,
): Promise<void> {
  try {
    await run(argv, env, streams);
  } catch (err) {
    // Anything else (a store that cannot be opened, a lost connection) is a failure too,
    // and its message is what an operator needs; the stack would only bury it.
    const usage = err instanceof UsageError || err instanceof ConfigError;
    streams.stderr.write(`ssechat: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}

async function run(argv: readonly string[], env: NodeJS.ProcessEnv, streams: CliStreams) {
  const [command] = argv;
  const write = (text: string) => void streams.stdout.write(text);
  if (command === 'version') {
    if (argv.length > 1) throw new UsageError(`unexpected argument "${argv[1]}" after ${command}`);
    return write(`${packageVersion()}\n`);
  }
  // --version (-V) anywhere on the line, as --help: after the command, among its options.
  const serving = command === undefined || command === 'serve' || /^(-|\d)/.test(command);
  const words = serving && command !== 'serve' ? argv : argv.slice(1);
  // --admin is the one flag without a value (user add); the others take one.
  const end = words.includes('--') ? words.indexOf('--') : words.length;
  const admin = command === 'user' && words.slice(0, end).includes('--admin');
  const args = admin ? words.filter((a, i) => i >= end || a !== '--admin') : words;
  const extraFlags = extraFlagsOf(command);
  if (parseArgs(args, extraFlags).version) {
    return write(`${packageVersion()}\n`);
  }
  if (serving) {
    const result = loadConfig(argv, env);
    if (result.help) write(command === 'serve' ? helpText() : `${USAGE}\n${helpText()}`);
    else await serve(result.config);
    return;
  }
  if (command === 'help') return write(`${USAGE}\n${helpText()}`);
  const help = COMMAND_HELP[command];
  if (help === undefined) throw new UsageError(`unknown command "${command}"; see --help`);
  const parsed = parseArgs(args, extraFlags);
  if (parsed.help) return write(help);
  if (command === 'config') {
    if (parsed.positionals.length > 0) {
      throw new UsageError(`unexpected argument "${parsed.positionals[0]}"; see config --help`);
    }
    return write(`${JSON.stringify(redactedConfig(resolveConfig(parsed, env)), null, 2)}\n`);
  }
  if (command === 'ban' || command === 'unban') return runBan(command, argv, env, write);
  const verbs = command === 'user' ? ['add', 'passwd', 'role'] : ['create'];
  const [verb, nick, ...more] = parsed.positionals;
  if (verb === undefined || !verbs.includes(verb)) {
    throw new UsageError(`${command} needs one of: ${verbs.join(', ')}; see ${command} --help`);
  }
  if (nick === undefined) throw new UsageError(`${command} ${verb} needs a <nick>`);
  if (admin && verb !== 'add') throw new UsageError('--admin goes with user add only');
  const role = verb === 'role' ? more.shift() : undefined;
  if (verb === 'role' && role !== 'admin' && role !== 'user') {
    throw new UsageError('user role needs <nick> admin or <nick> user');
  }
  const extra = more[0];
  if (extra !== undefined) {
    throw new UsageError(
      `unexpected argument "${extra}" (passwords are read from stdin, never from arguments)`,
    );
  }
  const config = resolveConfig(parsed, env);
  await runAccountCommand(
    `${command} ${verb}` as AccountCommand,
    nick,
    {
      label: parsed.extras.get('--name'),
      admin,
      ...(role !== undefined && { role }),
      reason: parsed.extras.get('--reason'),
    },
    config,
    {
      stdin: streams.stdin,
      out: write,
      note: (text) => void streams.stderr.write(text),
    },
  );
}

/** `ssechat ban …` and `ssechat unban …` (cli/bans.ts). */
async function runBan(
  command: 'ban' | 'unban',
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  write: (text: string) => void,
): Promise<void> {
  const parsed = parseArgs(argv.slice(1), ['--reason', '--minutes']);
  const [verb, arg, extra] = parsed.positionals;
  const verbs = command === 'ban' ? ['address', 'list'] : ['address'];
  if (verb === undefined || !verbs.includes(verb)) {
    throw new UsageError(`${command} needs one of: ${verbs.join(', ')}; see ${command} --help`);
  }
  const unexpected = verb === 'list' ? arg : extra;
  if (unexpected !== undefined) throw new UsageError(`unexpected argument "${unexpected}"`);
  await runBanCommand(
    `${command} ${verb}` as BanCommand,
    arg,
    { reason: parsed.extras.get('--reason'), minutes: parsed.extras.get('--minutes') },
    resolveConfig(parsed, env),
    write,
  );
}

/** The flags of a command besides the config's (parseArgs). */
function extraFlagsOf(command: string | undefined): string[] {
  if (command === 'token') return ['--name'];
  if (command === 'user') return ['--reason'];
  if (command === 'ban' || command === 'unban') return ['--reason', '--minutes'];
  return [];
}
