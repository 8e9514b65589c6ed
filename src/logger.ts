/** Severity levels, least severe first; `silent` writes nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Structured data attached to a log line. Message bodies do not belong here at info. */
export type LogFields = Record<string, unknown>;

/**
 * The logger every component receives (it is injected, never imported as a global). Messages
 * are constant strings; the variable parts go in fields, so logs can be grepped and counted.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** A logger that writes one JSON object per line to `write` (stdout by default). */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const min = RANK[level];
  const at =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields?: LogFields): void => {
      if (RANK[lvl] < min) return;
      const line = { time: new Date().toISOString(), level: lvl, msg, ...fields };
      write(`${JSON.stringify(line, errorsAsObjects)}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

// JSON.stringify turns an Error into {}; keep what an operator needs.
function errorsAsObjects(_key: string, value: unknown): unknown {
  return value instanceof Error
    ? { name: value.name, message: value.message, stack: value.stack }
    : value;
}

/** A logger that drops everything; for tests. */
export const silentLogger: Logger = createLogger('silent');
