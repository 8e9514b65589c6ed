import type pg from 'pg';
import type { NewAuditEntry } from '../../domain/audit.js';
import {
  AUDIT_COLUMNS,
  type AuditPage,
  type AuditQuery,
  type AuditRow,
  type AuditStore,
  auditFilters,
  auditPage,
  auditValues,
} from '../audit-store.js';

/**
 * Writes an audit row through `client` (or a pool, for a row on its own) and returns its id: call it inside the transaction of
 * the change it records (audit-store.ts), which then commits or rolls back both.
 */
export async function insertAudit(
  client: pg.ClientBase | pg.Pool,
  entry: NewAuditEntry,
): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO audit (ts, actor, action, target, room, message, reason, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    auditValues(entry),
  );
  return Number(rows[0]?.id);
}

/** The AuditStore of PostgresStore: the audit table of the same schema. */
export class PostgresAudit implements AuditStore {
  /** Queries through `pool`, whose connections already use the store's schema. */
  constructor(private readonly pool: pg.Pool) {}

  async record(entry: NewAuditEntry): Promise<number> {
    // One statement is its own transaction.
    return insertAudit(this.pool, entry);
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const filters = auditFilters(query);
    // Each filter is an index's first column (schema.ts), read backwards by id from `before`.
    const where = ['id < $1', ...filters.map(([column], i) => `${column} = $${i + 2}`)];
    const { rows } = await this.pool.query<AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit WHERE ${where.join(' AND ')}
        ORDER BY id DESC LIMIT $${filters.length + 2}`,
      [
        query.before ?? Number.MAX_SAFE_INTEGER,
        ...filters.map(([, value]) => value),
        query.limit + 1,
      ],
    );
    return auditPage(rows, query.limit);
  }
}
