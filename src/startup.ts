import { closeSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from './config.js';
import { redactUrl } from './config-redact.js';
import { isStoreUnavailable } from './domain/store-unavailable.js';
import { NewerSchemaError } from './store/newer-schema.js';

/**
 * A start that cannot go on for a reason the operator must fix: a port in use, a data
 * directory that cannot be written, a damaged database, a database that cannot be reached.
 * Its message is one line naming the setting and the path; the command line prints it as it
 * is, without a stack, which would only bury it (cli/main.ts).
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The errno, SQLite or SQLSTATE code of a thrown value, if it carries one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Plain words for the errnos a directory or a listening socket meets. */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a parent is not a directory',
  ENOENT: 'no such file or directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EISDIR: 'it is a directory',
  EMFILE: 'too many open files',
  EIO: 'an I/O error',
};

/** The plain words for `err`'s errno, or its message when there are none. */
function reason(err: unknown): string {
  const code = errorCode(err);
  const words = code === undefined ? undefined : ERRNO_WORDS[code];
  if (words !== undefined) return words;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Makes `dir` and its missing parents, one level at a time. node's own recursive mkdirSync
 * spins forever where mkdir answers ENOENT for a parent that exists (under /proc, seen on
 * node 20): this stops after the path's depth.
 */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return; // created meanwhile; the caller checks its type
    const parent = dirname(dir);
    if (errorCode(err) !== 'ENOENT' || parent === dir) throw err;
    makeDirectory(parent);
    mkdirSync(dir);
  }
}

/**
 * Creates the SQLite data directory if it is missing and checks that ssechat can create files
 * in it (the database and, in WAL mode, its -wal and -shm files beside it). Throws a
 * StartupError naming `--data-dir` and the path when it is a file, cannot be created or
 * cannot be written. The write check creates and removes a small file: asking access(2)
 * would say yes to root on a read-only mount.
 */
export function prepareDataDir(dir: string): void {
  const setting = `--data-dir ${dir}`;
  let directory: boolean;
  try {
    if (statSync(dir, { throwIfNoEntry: false }) === undefined) makeDirectory(dir);
    directory = statSync(dir).isDirectory();
  } catch (err) {
    throw new StartupError(`${setting}: cannot create the directory: ${reason(err)}`);
  }
  if (!directory) throw new StartupError(`${setting}: not a directory`);
  const probe = join(dir, `.ssechat-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    throw new StartupError(`${setting}: the directory is not writable: ${reason(err)}`);
  }
}

/** `host:port` as a URL spells it, with an IPv6 address in brackets. */
function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * What `listen` failing means to the operator, naming the setting to change: a StartupError
 * for the usual causes, else `err` itself.
 */
export function listenError(err: unknown, config: Config): unknown {
  const where = hostPort(config.host, config.port);
  switch (errorCode(err)) {
    case 'EADDRINUSE':
      return new StartupError(`--port ${config.port}: address ${where} is already in use`);
    case 'EACCES':
      return new StartupError(
        `--port ${config.port}: permission denied to listen on ${where} (a port below 1024 needs root or CAP_NET_BIND_SERVICE)`,
      );
    case 'EADDRNOTAVAIL':
      return new StartupError(
        `--host ${config.host}: no interface of this machine has that address`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`--host ${config.host}: cannot resolve that name`);
    case 'EINVAL':
      // The port was checked with the config; what is left is the address, e.g. an IPv6
      // scope (`fe80::1%eth9`) that names no interface here.
      return new StartupError(
        `--host ${config.host}: cannot listen on that address: invalid argument (an IPv6 zone after % must name an interface of this machine)`,
      );
    default:
      return err;
  }
}

/** SQLite's result codes at open, in the words an operator can act on. */
const SQLITE_OPEN_WORDS: Readonly<Record<string, string>> = {
  SQLITE_CORRUPT: 'is damaged, restore it from a backup (docs/deploy.md)',
  SQLITE_NOTADB: 'is not an SQLite database',
  SQLITE_CANTOPEN: 'cannot be opened',
  SQLITE_READONLY: 'cannot be written',
  SQLITE_FULL: 'cannot grow: the disk is full',
  SQLITE_IOERR: 'cannot be read or written: an I/O error',
  SQLITE_BUSY: 'is locked by another process',
};

/**
 * What a startup step on the SQLite file at `path` failing means (its stat, open, integrity
 * check, migration, or the first write): a StartupError naming `--data-dir` and the file for
 * SQLite's own errors (a failed integrity check carries SQLITE_CORRUPT), an errno (a loop of
 * symbolic links, a directory in its place) and a schema from a newer ssechat, else `err`.
 */
export function sqliteOpenError(err: unknown, dir: string, path: string): unknown {
  const where = `--data-dir ${dir}: database ${path}`;
  if (err instanceof NewerSchemaError) {
    return new StartupError(
      `--data-dir ${dir}: ${err.message}; run that newer ssechat, or restore a backup made before it (docs/deploy.md)`,
    );
  }
  const code = errorCode(err);
  if (code !== undefined && /^E[A-Z]+$/.test(code)) {
    return new StartupError(`${where} cannot be opened: ${reason(err)}`);
  }
  if (code === undefined || !code.startsWith('SQLITE_')) return err;
  const base = /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;
  const words = SQLITE_OPEN_WORDS[base];
  const detail = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  const what = words === undefined ? `cannot be used (${base})` : words;
  return new StartupError(`${where} ${what}; ${detail}`);
}

/**
 * What failing to reach or use PostgreSQL at startup means: a StartupError naming
 * `--database-url` (its password redacted) for a URL that does not parse, a refused or lost
 * connection, a timeout, a failed login, a missing database, a database that cannot write
 * (isStoreUnavailable: a full disk, a read-only standby), a role without the rights it needs,
 * and a schema from a newer ssechat; else `err` itself.
 */
export function postgresOpenError(err: unknown, url: string): unknown {
  const setting = `--database-url ${redactUrl(url)}`;
  const code = errorCode(err) ?? '';
  // The URL's own text is never shown: it may hold the password where the parser gave up.
  if (code === 'ERR_INVALID_URL') return new StartupError(`${setting}: not a valid URL`);
  if (err instanceof NewerSchemaError) {
    return new StartupError(
      `${setting}: ${err.message}; run that newer ssechat, or restore a backup made before it`,
    );
  }
  const network = /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN)$/;
  // SQLSTATE classes 08 (connection), 28 (authorization), 3D (no such database), 57P03.
  const refused = /^(08|28|3D)|^57P03$/.test(code);
  const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  // pg's own timeout and lost-connection errors carry no code.
  const pgConnection = code === '' && /^(timeout|Connection terminated)/.test(message);
  const detail = message === '' ? code : message;
  if (network.test(code) || refused || pgConnection) {
    return new StartupError(`${setting}: cannot connect: ${detail}`);
  }
  // 42501: insufficient privilege (say, no CREATE on the schema or the database).
  if (code === '42501' || isStoreUnavailable(err)) {
    return new StartupError(`${setting}: cannot use the database: ${detail} (${code})`);
  }
  return err;
}

/** A Redis connection that failed at startup, naming `--redis-url` with its password hidden. */
export function redisOpenError(err: unknown, url: string): StartupError {
  const detail = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  return new StartupError(`--redis-url ${redactUrl(url)}: cannot connect: ${detail}`);
}

/** The SQLite file of `config`, in its data directory. */
export function sqlitePath(config: Config): string {
  return join(config.dataDir, 'ssechat.db');
}

/**
 * What a startup step on the configured store failing means (opening it, migrating it, its
 * first reads and its first write): a StartupError naming the setting to look at, as
 * sqliteOpenError or postgresOpenError says, else `err` itself (a bug, printed with its stack).
 */
export function storeStartupError(err: unknown, config: Config): unknown {
  if (err instanceof StartupError) return err;
  if (config.store === 'sqlite') return sqliteOpenError(err, config.dataDir, sqlitePath(config));
  if (config.store === 'postgres') return postgresOpenError(err, config.databaseUrl);
  return err;
}
