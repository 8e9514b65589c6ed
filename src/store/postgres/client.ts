/**
 * Connections checked out of PostgresStore's pool, and the timeouts that keep a dead or
 * silent connection from crashing or hanging the process (issue 17).
 *
 * A pooled connection is watched by the pool only while idle. Once checked out, pg emits
 * `error` on it when its socket dies (a reset, a server restart, the server ending a session
 * idle in a transaction), and an `error` nobody listens to kills the process. So every
 * checked-out connection goes through withClient, which listens for the whole checkout and
 * destroys a broken connection instead of returning it. A connection that goes silent (a NAT
 * or firewall that dropped its state) never errors: every query has a client-side timeout
 * (QUERY_TIMEOUT_MS, the pool's `query_timeout`), and a query that times out leaves the
 * connection in an unknown state, so it is destroyed too, without a ROLLBACK that would wait
 * on the same silence.
 */
import type pg from 'pg';
import { ChatError } from '../../domain/errors.js';

/**
 * How long any query may wait for its answer before its connection is taken as silent and
 * destroyed (the pool's `query_timeout`, so reads through pool.query have it too). Our reads
 * and in-transaction writes are index lookups and bounded batches that take milliseconds; a
 * prune chunk (10,000 rows) takes well under a second. The append lock's wait is longer and
 * has its own bound (LOCK_QUERY_TIMEOUT_MS).
 */
export const QUERY_TIMEOUT_MS = 5_000;

/**
 * How long `BEGIN`, the first round trip of every transaction, may take. It is answered at
 * once by a live server, so it doubles as the test that a connection taken from the pool is
 * not silent: a connection that fails it is destroyed and the transaction starts again on
 * another (BEGIN_ATTEMPTS), having done nothing.
 */
export const BEGIN_TIMEOUT_MS = 2_000;

/**
 * Connections one transaction tries before it fails when each fails its BEGIN. A NAT that
 * dropped its state silences every open connection at once; each costs BEGIN_TIMEOUT_MS, and
 * the reads running meanwhile find and destroy the others.
 */
export const BEGIN_ATTEMPTS = 3;

/**
 * How long PostgreSQL ends a session idle inside a transaction after (its
 * `idle_in_transaction_session_timeout`): a node that stalls mid-append (a paused process, a
 * lost network) holds the append lock, and with it every node's appends, until then. A batch
 * normally holds it for a few milliseconds.
 */
export const IDLE_IN_TRANSACTION_MS = 10_000;

/**
 * Longest wait for the append lock (the transaction's `lock_timeout`, enforced by the
 * server): the holder may be a stalled node, which keeps it up to IDLE_IN_TRANSACTION_MS
 * after its last statement, plus a margin for the batches queued behind it. A longer wait
 * means the cluster cannot append; the batch fails as unavailable (55P03) and clients retry.
 */
export const LOCK_WAIT_MS = IDLE_IN_TRANSACTION_MS + 2_000;

/**
 * The client-side bound on the statement that waits for the append lock: the server answers
 * by LOCK_WAIT_MS (the lock, or lock_timeout's error), so no answer by this time means the
 * connection is silent.
 */
export const LOCK_QUERY_TIMEOUT_MS = LOCK_WAIT_MS + 2_000;

/** Whether `err` from a query means its connection is dead or silent and must be dropped. */
function breaks(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Our own refusals (a full mailbox, a room rule) are decided over a working connection.
  if (err instanceof ChatError) return false;
  // A server error (it has a SQLSTATE) arrived over a working connection, except those that
  // end the session: 57P01 admin shutdown, 57P05 idle session timeout, 25P03 idle in
  // transaction timeout, class 08 connection exceptions.
  // Only a server's error has a SQLSTATE: Node's socket errors have codes too, some of five
  // capitals (EPIPE, EBADF), but they carry the failed `syscall` and break the connection.
  const code = (err as { code?: unknown }).code;
  const fromServer = (err as { severity?: unknown }).severity !== undefined;
  if (fromServer && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return /^(08...|57P0[1-5]|25P03)$/.test(code);
  }
  return true;
}

/** Stages of a transaction, as withClient's caller reports them to onStage (readiness). */
export type Stage = 'begin' | 'lock' | 'work' | 'commit';

/** How inTransaction opens its transaction. */
export interface TransactionOptions {
  /**
   * A lock the transaction takes first (the append lock). `attempt` goes with BEGIN, in the
   * same round trip and under its short timeout: statements that must not wait (SET LOCAL, a
   * pg_try_ lock), the last of which answers one row `{taken}`. Only when the lock was busy
   * does `wait` follow, a statement that may wait long, with its own client-side timeout.
   * So an uncontended transaction costs no round trip more than a bare BEGIN would.
   */
  readonly lock?: {
    readonly attempt: string;
    readonly wait: string;
    readonly timeoutMs: number;
  };
  /** Hears each stage start, and undefined at the end, for readiness (AppendQueue). */
  readonly onStage?: (stage: Stage | undefined) => void;
}

/**
 * Runs `work` on a connection checked out of `pool`. The connection's `error` is listened to
 * for the whole checkout (the process survives its death); a connection that errored, or
 * whose work failed with an error that breaks it (a lost or silent connection), is destroyed
 * rather than returned to the pool. `work` gets `fail`, to mark the connection broken itself.
 */
export async function withClient<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient, fail: (err: Error) => void) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const fail = (err: Error): void => {
    broken ??= err;
  };
  client.on('error', fail);
  try {
    return await work(client, fail);
  } catch (err) {
    if (breaks(err)) fail(err as Error);
    throw err;
  } finally {
    // release(err) ends the connection, destroying its socket when a query is still waiting
    // on it (pg 8.23: Client.end), so a silent connection goes without a wait. The pool's
    // own listener is attached by release, before ours comes off.
    client.release(broken);
    client.off('error', fail);
  }
}

/**
 * Runs `work` in a transaction on one pooled connection (withClient): commits when it
 * resolves, rolls back when it throws. A connection that fails its BEGIN (with the lock's
 * attempt, if any; dead or silent, BEGIN_TIMEOUT_MS) is destroyed and the transaction starts on another, up to
 * BEGIN_ATTEMPTS. After a failure that broke the connection, or of COMMIT (its outcome is
 * unknown), no ROLLBACK is tried: the connection is destroyed, which ends the transaction.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const { lock, onStage } = options;
  try {
    for (let attempt = 1; ; attempt++) {
      onStage?.('begin');
      const began = await withClient(pool, async (client, fail) => {
        let taken: boolean;
        try {
          const opened = await client.query(
            timed(lock ? `BEGIN; ${lock.attempt}` : 'BEGIN', BEGIN_TIMEOUT_MS),
          );
          taken = lock === undefined || lockTaken(opened);
        } catch (err) {
          // Nothing was written: safe to try another connection, once this one is destroyed.
          // A lock its attempt may have taken on the server goes with the session (at once
          // when the server sees the close; after IDLE_IN_TRANSACTION_MS when it cannot).
          if (attempt < BEGIN_ATTEMPTS && breaks(err)) {
            fail(err as Error);
            return { retry: true as const };
          }
          throw err;
        }
        const wait = taken ? undefined : lock;
        return { retry: false as const, result: await inside(client, fail, work, wait, onStage) };
      });
      if (!began.retry) return began.result;
    }
  } finally {
    onStage?.(undefined);
  }
}

/** The transaction's body after BEGIN: the lock, `work`, COMMIT, or ROLLBACK on a failure. */
async function inside<T>(
  client: pg.PoolClient,
  fail: (err: Error) => void,
  work: (client: pg.PoolClient) => Promise<T>,
  lock: TransactionOptions['lock'],
  onStage: TransactionOptions['onStage'],
): Promise<T> {
  let result: T;
  try {
    if (lock) {
      onStage?.('lock');
      await client.query(timed(lock.wait, lock.timeoutMs));
    }
    onStage?.('work');
    result = await work(client);
  } catch (err) {
    // Over a working connection, roll back (bounded by QUERY_TIMEOUT_MS); a broken one is
    // destroyed by withClient, which the server takes as a rollback. So is one whose
    // ROLLBACK failed: it may still be inside the failed transaction.
    if (!breaks(err)) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        fail(e instanceof Error ? e : new Error(String(e)));
      });
    }
    throw err;
  }
  onStage?.('commit');
  await client.query('COMMIT');
  return result;
}

/** Whether the last statement of a BEGIN with a lock attempt answered `{taken: true}`. */
function lockTaken(results: pg.QueryResult | pg.QueryResult[]): boolean {
  const last = Array.isArray(results) ? results.at(-1) : results;
  return last?.rows[0]?.taken === true;
}

/**
 * A query with its own client-side timeout: pg reads `query_timeout` from the query's config
 * before the connection's (pg 8: Client.query), though @types/pg does not declare it.
 */
export function timed(text: string, ms: number, values?: unknown[]): pg.QueryConfig {
  const config: pg.QueryConfig & { query_timeout: number } = { text, query_timeout: ms };
  if (values !== undefined) config.values = values;
  return config;
}

/**
 * How long a statement of maintenance (a prune) may take: it legitimately scans as many index
 * entries as --retention-count keeps (about 0.2 µs each here, so 5 s at some 25 million) and
 * waits behind a long DDL or VACUUM FULL, neither of which is a silent connection. It runs in
 * the background, so a long wait costs one pooled connection and no client.
 */
export const MAINTENANCE_QUERY_TIMEOUT_MS = 10 * 60_000;
