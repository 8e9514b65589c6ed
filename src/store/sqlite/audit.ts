import type Database from 'better-sqlite3';
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

const INSERT = `INSERT INTO audit (ts, actor, action, target, room, message, reason, detail)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

/** The prepared insert of each connection, made once. */
const inserts = new WeakMap<Database.Database, Database.Statement>();

/**
 * Writes an audit row on `db` and returns its id: call it inside the transaction of the change
 * it records (audit-store.ts), which then commits or rolls back both.
 */
export function insertAudit(db: Database.Database, entry: NewAuditEntry): number {
  let insert = inserts.get(db);
  if (!insert) {
    insert = db.prepare(INSERT);
    inserts.set(db, insert);
  }
  return Number(insert.run(...auditValues(entry)).lastInsertRowid);
}

/** The AuditStore of SqliteStore: the audit table of the same database. */
export class SqliteAudit implements AuditStore {
  /** The page statement of each combination of filters, prepared when first used (16 at most). */
  private readonly pages = new Map<string, Database.Statement<unknown[], AuditRow>>();

  /** Uses `db`, which must already have the current schema. */
  constructor(private readonly db: Database.Database) {}

  async record(entry: NewAuditEntry): Promise<number> {
    return insertAudit(this.db, entry);
  }

  async list(query: AuditQuery): Promise<AuditPage> {
    const filters = auditFilters(query);
    const key = filters.map(([column]) => column).join(',');
    let page = this.pages.get(key);
    if (!page) {
      // Each filter is an index's first column (schema.ts), read backwards by id from `before`.
      const where = ['id < ?', ...filters.map(([column]) => `${column} = ?`)].join(' AND ');
      page = this.db.prepare<unknown[], AuditRow>(
        `SELECT ${AUDIT_COLUMNS} FROM audit WHERE ${where} ORDER BY id DESC LIMIT ?`,
      );
      this.pages.set(key, page);
    }
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    const rows = page.all(before, ...filters.map(([, value]) => value), query.limit + 1);
    return auditPage(rows, query.limit);
  }
}
