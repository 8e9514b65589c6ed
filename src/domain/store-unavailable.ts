// What a Store outage looks like from outside the Store: the errors an engine throws when its
// backend cannot serve (classified here, so that the HTTP edge and startup can answer 503 without
// importing an engine), and the error a client is told.
import { ChatError } from './errors.js';

/**
 * How long a client told SERVER_STORE_UNAVAILABLE should wait before it tries again (the
 * Retry-After header), in ms. A full disk or a read-only database needs an operator, so
 * retrying sooner would only add load; a lost connection is usually back within it.
 */
export const STORE_RETRY_AFTER_MS = 10_000;

/**
 * SQLite result codes (better-sqlite3 reports the extended code, e.g. SQLITE_IOERR_WRITE)
 * that mean the database cannot be written now, whatever was asked: the disk is full
 * (SQLITE_FULL, also when PRAGMA max_page_count is reached), an I/O error, a file or mount
 * that went read-only, a file that cannot be opened, a lock another process held past the
 * busy timeout.
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY)(_|$)/;

/**
 * PostgreSQL SQLSTATEs of the same kind: class 08 (connection exception), class 53
 * (insufficient resources: 53100 disk full, 53200 out of memory, 53300 too many
 * connections), 25006 (read-only transaction: a hot standby after a failover, or
 * default_transaction_read_only), 57P01-57P03 (shutting down, starting up), 58030 (I/O error),
 * 25P03 and 57P05 (the server ended a session idle too long: the node stalled), 55P03 (the
 * append lock was not granted within its lock_timeout: store/postgres/client.ts).
 */
const POSTGRES_UNAVAILABLE = /^(08...|53...|25006|25P03|55P03|57P0[1235]|58030)$/;

/** Errnos of a connection to PostgreSQL that could not be made or was lost. */
const NETWORK_UNAVAILABLE =
  /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN|PIPE)$/;

/**
 * pg's own errors for a lost or timed-out connection carry no code; these are their messages
 * (pg 8: "Connection terminated unexpectedly", "timeout exceeded when trying to connect",
 * "Client has encountered a connection error and is not queryable", and "Query read timeout",
 * a query_timeout: the connection went silent, see store/postgres/client.ts).
 */
const PG_CONNECTION_MESSAGE =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout$)/;

/**
 * Whether `err`, thrown by a Store engine, says that the backend cannot serve now (a full
 * disk, a read-only database, an I/O error, a lost connection) rather than that the request
 * was wrong or the code has a bug. The HTTP edge answers those 503 SERVER_STORE_UNAVAILABLE
 * with a Retry-After instead of 500 INTERNAL, and the engines remember them for readiness.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (err instanceof ChatError || !(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    return (
      SQLITE_UNAVAILABLE.test(code) ||
      POSTGRES_UNAVAILABLE.test(code) ||
      NETWORK_UNAVAILABLE.test(code)
    );
  }
  return PG_CONNECTION_MESSAGE.test(err.message);
}

/** The client's answer to a write the store cannot make now. */
export function storeUnavailableError(): ChatError {
  return new ChatError('SERVER_STORE_UNAVAILABLE', undefined, STORE_RETRY_AFTER_MS);
}
