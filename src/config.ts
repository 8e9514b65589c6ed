/**
 * The one typed, frozen config, read at startup and validated before anything runs. The
 * options themselves (flag, variable, default, bounds) are listed in config-options.ts.
 *
 * Precedence: a command-line flag, then the environment variable, then the config file
 * (`--config <path>` or SSECHAT_CONFIG: JSON keyed by flag names without the dashes), then
 * the default. `PORT` and `HOST` count as environment variables when SSECHAT_PORT and
 * SSECHAT_HOST are unset.
 */
import { ConfigError, type FileValue, readConfigFile } from './config-file.js';
import { type Config, defaultText, OPTIONS, type Option, type Options } from './config-options.js';

export { ConfigError } from './config-file.js';
export {
  type Config,
  defaultText,
  OPTIONS,
  type Option,
  type RateLimit,
} from './config-options.js';

/** The flag and variable that name a config file; not an option itself, as it holds them. */
export const CONFIG_FILE = { flag: '--config', env: 'SSECHAT_CONFIG' } as const;

/** The result of reading the command line: run with a config, or print help. */
export type ConfigResult =
  | { readonly help: true }
  | { readonly help: false; readonly config: Config };

/** A command line split into options, a config file, command-specific flags and the rest. */
export interface ParsedArgs {
  readonly help: boolean;
  /** `--version` or `-V` was given, anywhere (not as a flag's value). */
  readonly version: boolean;
  readonly flags: ReadonlyMap<keyof Options, string>;
  readonly configFile: string | undefined;
  /** Values of the flags the command added (`--name` of `token create`), by flag. */
  readonly extras: ReadonlyMap<string, string>;
  /** Arguments that are not flags, in order (after `--`, everything is one). */
  readonly positionals: readonly string[];
}

const BY_FLAG = new Map<string, keyof Options>(
  (Object.keys(OPTIONS) as (keyof Options)[]).map((key) => [OPTIONS[key].flag, key]),
);

/**
 * Splits `args` into option flags (`--port 8000` or `--port=8000`), `--config`, the command's
 * own `extraFlags`, and positional arguments. Throws ConfigError for an unknown flag or one
 * without a value.
 */
export function parseArgs(args: readonly string[], extraFlags: readonly string[] = []): ParsedArgs {
  const flags = new Map<keyof Options, string>();
  const extras = new Map<string, string>();
  const positionals: string[] = [];
  let configFile: string | undefined;
  let help = false;
  let version = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--version' || arg === '-V') {
      version = true;
      continue;
    }
    if (!arg.startsWith('-') || /^\d+$/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const key = BY_FLAG.get(flag);
    if (!key && flag !== CONFIG_FILE.flag && !extraFlags.includes(flag)) {
      throw new ConfigError(`unknown argument "${arg}"; see --help`);
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    if (key) flags.set(key, value);
    else if (flag === CONFIG_FILE.flag) configFile = value;
    else extras.set(flag, value);
  }
  return { help, version, flags, configFile, extras, positionals };
}

/**
 * Validates every option from the parsed flags, `env` and the config file, in that order of
 * precedence, and checks combinations. Throws ConfigError naming the setting (and the file).
 */
export function resolveConfig(parsed: ParsedArgs, env: NodeJS.ProcessEnv): Config {
  const path = parsed.configFile ?? env[CONFIG_FILE.env];
  if (path === '') throw new ConfigError(`${CONFIG_FILE.flag} must not be empty`);
  const file = path === undefined ? new Map<keyof Options, FileValue>() : readConfigFile(path);
  const config: Record<string, unknown> = {};
  for (const key of Object.keys(OPTIONS) as (keyof Options)[]) {
    const option: Option<unknown> = OPTIONS[key];
    const fromFile = file.get(key);
    // Every value of the file is checked, also one a flag overrides today: the file must not
    // hold a mistake that only shows once that flag is dropped.
    if (fromFile) parseFrom(option, fromFile.source, fromFile.raw);
    // The first place that sets the option wins, and an error names that place.
    const source = [
      [option.flag, parsed.flags.get(key)],
      [option.env, env[option.env]],
      [option.alias, option.alias === undefined ? undefined : env[option.alias]],
      [fromFile?.source, fromFile?.raw],
    ].find(([, value]) => value !== undefined);
    if (source === undefined) {
      config[key] = option.default;
      continue;
    }
    const [name, raw] = source as [string, string];
    config[key] = parseFrom(option, name, raw);
  }
  checkCombinations(config as Config);
  return Object.freeze(config) as Config;
}

/** Parses one raw value, or throws ConfigError naming where it came from. */
function parseFrom(option: Option<unknown>, name: string, raw: string): unknown {
  try {
    return option.parse(raw);
  } catch (err) {
    throw new ConfigError(`invalid ${name}: ${(err as Error).message}`);
  }
}

/**
 * Reads the command line of `ssechat [serve]`: options over environment variables over the
 * config file over defaults. A leading `serve` command is accepted and ignored; a bare number
 * is the port, as the seed's servers took it (`php server.php 8001`). Throws ConfigError.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ConfigResult {
  const parsed = parseArgs(argv[0] === 'serve' ? argv.slice(1) : argv);
  if (parsed.help) return { help: true };
  const [port, extra] = parsed.positionals;
  if (port !== undefined && (!/^\d+$/.test(port) || parsed.flags.has('port'))) {
    throw new ConfigError(`unknown argument "${port}"; see --help`);
  }
  if (extra !== undefined) throw new ConfigError(`unknown argument "${extra}"; see --help`);
  if (port === undefined) return { help: false, config: resolveConfig(parsed, env) };
  const flags = new Map(parsed.flags).set('port', port);
  return { help: false, config: resolveConfig({ ...parsed, flags }, env) };
}

/** Rejects settings that are valid alone but not together; throws ConfigError. */
function checkCombinations(config: Config): void {
  if (config.bus === 'redis' && config.store !== 'postgres') {
    throw new ConfigError(
      `--bus redis needs --store postgres: with --store ${config.store} every process would keep its own messages, and clients moving between processes would miss them`,
    );
  }
  if (config.registration !== 'open' && config.auth !== 'accounts') {
    throw new ConfigError(
      `--registration ${config.registration} needs --auth accounts: in open mode nobody registers, anyone may use any nickname`,
    );
  }
  if (config.presenceNodeTtlMs < 2 * config.presenceHeartbeatMs) {
    throw new ConfigError(
      '--presence-node-ttl-ms must be at least twice --presence-heartbeat-ms: one late heartbeat must not be a death',
    );
  }
  if (config.webhookUrl !== 'none') {
    if (!/^https?:\/\/[^\s]+$/.test(config.webhookUrl)) {
      throw new ConfigError(`invalid --webhook-url: "${config.webhookUrl}" is not an http(s) URL`);
    }
    if (config.webhookSecret === 'none' || config.webhookSecret.length < 16) {
      throw new ConfigError('--webhook-url needs --webhook-secret of at least 16 characters');
    }
  }
}

/** Builds a config from defaults and overrides, validated the same way; for tests. */
export function configWith(overrides: Partial<Config>): Config {
  const config = { ...resolveConfig(parseArgs([]), {}), ...overrides };
  checkCombinations(config);
  return Object.freeze(config);
}

/** The option list of `--help`: each flag, its meaning, variable and default. */
export function helpText(): string {
  const rows = Object.values(OPTIONS).map(
    (o: Option<unknown>) =>
      `  ${o.flag.padEnd(24)} ${o.doc}\n  ${''.padEnd(24)} env ${o.env}${o.alias ? ` or ${o.alias}` : ''}, default ${defaultText(o.default)}`,
  );
  const file = `  ${CONFIG_FILE.flag.padEnd(24)} A JSON file of settings keyed by flag name without the dashes,\n  ${''.padEnd(24)} e.g. {"port": 8001, "send-limit-user": "50,1000"}; env ${CONFIG_FILE.env}`;
  return `Usage: ssechat [serve] [PORT] [options]\n\nOptions (a flag beats its env var, which beats the config file, which beats the default):\n${file}\n${rows.join('\n')}\n  --help, -h               Show this help\n  --version, -V            Print the version\n`;
}
