import type { AuditAction, AuditEntry, NewAuditEntry } from '../domain/audit.js';

/** One page of the audit log: newest first, narrowed by every filter given (exact match). */
export interface AuditQuery {
  /** Rows with an id below this; absent for the newest. */
  readonly before?: number;
  /** At most this many (the edge bounds it: MAX_AUDIT_PAGE, domain/audit.ts). */
  readonly limit: number;
  readonly actor?: string;
  readonly target?: string;
  readonly action?: AuditAction;
  readonly room?: string;
}

/** A page of the audit log and where the next one starts. */
export interface AuditPage {
  readonly entries: AuditEntry[];
  /** The `before` of the next older page; null when no older row matches. */
  readonly next: number | null;
}

/**
 * The audit log (Store.audit): who did what to whom, where, why and when, for every admin and
 * moderator action.
 *
 * Contract (checked for every backend by audit.contract.ts):
 *
 * - Rows are append-only: the database itself refuses every UPDATE and DELETE of them
 *   (triggers), and message retention never removes one. Ids increase in the order rows are
 *   written and are never reused.
 * - A change that is audited writes its row in its own transaction: each engine exports an
 *   in-transaction writer `insertAudit` (sqlite/audit.ts, postgres/audit.ts) for the other
 *   stores' transactions; `record` is a row on its own (for what has no other row).
 * - `list` returns the rows matching every given filter, newest first (by id), below
 *   `before`, at most `limit`, and `next` when more match; fields read back as written
 *   (absent ones null, `detail` the same JSON).
 */
export interface AuditStore {
  /** Writes one row in a transaction of its own; its id. */
  record(entry: NewAuditEntry): Promise<number>;
  /** One page of rows; see the contract. */
  list(query: AuditQuery): Promise<AuditPage>;
}

/** An audit row as both engines read it. */
export interface AuditRow {
  id: number;
  ts: number;
  actor: string;
  action: string;
  target: string | null;
  room: string | null;
  message: number | null;
  reason: string;
  detail: string | null;
}

/** The columns of an AuditRow, in the order of the table. */
export const AUDIT_COLUMNS = 'id, ts, actor, action, target, room, message, reason, detail';

/** An AuditRow as the AuditStore hands it out. */
export function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    id: Number(row.id),
    ts: Number(row.ts),
    actor: row.actor,
    action: row.action as AuditAction,
    target: row.target,
    room: row.room,
    message: row.message === null ? null : Number(row.message),
    reason: row.reason,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
  };
}

/** The values of a NewAuditEntry for the columns after id, in AUDIT_COLUMNS' order. */
export function auditValues(entry: NewAuditEntry): Array<string | number | null> {
  return [
    entry.ts,
    entry.actor,
    entry.action,
    entry.target ?? null,
    entry.room ?? null,
    entry.message ?? null,
    entry.reason,
    entry.detail === undefined ? null : JSON.stringify(entry.detail),
  ];
}

/** The filters of `query` that are set, as [column, value], in a fixed order. */
export function auditFilters(query: AuditQuery): Array<[string, string]> {
  const filters: Array<[string, string]> = [];
  for (const column of ['actor', 'target', 'action', 'room'] as const) {
    const value = query[column];
    if (value !== undefined) filters.push([column, value]);
  }
  return filters;
}

/** The page `rows` (read with limit + 1) makes: the first `limit`, and the next `before`. */
export function auditPage(rows: AuditRow[], limit: number): AuditPage {
  const entries = rows.slice(0, limit).map(toAuditEntry);
  const next = rows.length > limit ? (entries.at(-1)?.id ?? null) : null;
  return { entries, next };
}
