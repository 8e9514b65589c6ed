import { pino } from 'pino';

/** Severity levels, least severe first; `silent` writes nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Structured data attached to a log line. Message texts and passwords never belong here. */
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
  /** True when a line at `level` would be written, to skip building one that would not. */
  isLevelEnabled(level: Exclude<LogLevel, 'silent'>): boolean;
}

/** Where log lines go: anything with a `write(line)`, like a stream; stdout by default. */
export interface LogDestination {
  write(line: string): void;
}

/**
 * An Error as an operator needs it (JSON.stringify would give `{}`): name, message, stack,
 * and a system error's code.
 */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const { name, message, stack } = value;
  const code = (value as NodeJS.ErrnoException).code;
  return code === undefined ? { name, message, stack } : { name, message, stack, code };
}

/**
 * A pino logger writing one JSON object per line, `{"level":"info","time":"…","msg":"…",…}`,
 * to `destination` (stdout by default, written synchronously so that the lines before a crash
 * or process.exit are not lost). Errors under `err` or `error` keep name, message and stack.
 */
export function createLogger(level: LogLevel, destination?: LogDestination): Logger {
  const log = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError, error: serializeError },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
  // pino replaces the methods of disabled levels by no-ops, so a call below the level costs
  // one function call; the fields object, if any, is the caller's.
  const at =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields?: LogFields): void => {
      if (fields === undefined) log[lvl](msg);
      else log[lvl](fields, msg);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    isLevelEnabled: (lvl) => log.isLevelEnabled(lvl),
  };
}

/** A logger that drops everything; for tests. */
export const silentLogger: Logger = createLogger('silent');
