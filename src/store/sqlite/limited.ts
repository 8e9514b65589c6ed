import type Database from 'better-sqlite3';

/**
 * Distinct limits one query keeps a statement for. Callers use one or two (a replay's page
 * size, say); past this many, the least recently used statement is dropped.
 */
const MAX_LIMITS = 8;

/**
 * A query whose LIMIT is written into its text rather than bound. SQLite's planner reads a
 * bound LIMIT's value, so it marks the statement to be prepared again whenever that parameter
 * is bound, which here is every call: for a resume near the head, 27 of the query's 34 µs
 * (since() on 1,000 users' log, this box). One statement per limit, prepared once, costs 7.
 */
export class LimitedQuery<P extends unknown[], R> {
  private readonly statements = new Map<number, Database.Statement<P, R>>();

  /** `sql` has the placeholder `LIMIT_N` where the limit goes; `raw` rows come as arrays. */
  constructor(
    private readonly db: Database.Database,
    private readonly sql: string,
    private readonly raw: boolean,
  ) {
    if (!sql.includes('LIMIT_N')) throw new Error('LimitedQuery: no LIMIT_N in the query');
  }

  /** The rows for `params`, at most `limit` (a positive integer) of them. */
  all(limit: number, ...params: P): R[] {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`bad limit ${limit}`);
    let statement = this.statements.get(limit);
    if (statement === undefined) {
      statement = this.db.prepare<P, R>(this.sql.replace('LIMIT_N', `LIMIT ${limit}`));
      if (this.raw) statement.raw(true);
      if (this.statements.size >= MAX_LIMITS) {
        const oldest = this.statements.keys().next().value as number;
        this.statements.delete(oldest);
      }
    } else {
      // Most recently used last, so that the first key is the one to drop.
      this.statements.delete(limit);
    }
    this.statements.set(limit, statement);
    return statement.all(...params);
  }
}
