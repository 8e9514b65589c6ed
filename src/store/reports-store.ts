import type { NewAuditEntry } from '../domain/audit.js';
import type {
  NewReport,
  QueueViewer,
  ReportAction,
  ReportClosing,
  ReportQuery,
  ReportStatus,
  ReportView,
  StoredReport,
} from '../domain/reports.js';

/** What `file` did: stored a report, or found the reporter's open one about that message. */
export interface Filed {
  readonly report: StoredReport;
  /** False when the reporter had an open report of this message: `report` is that one. */
  readonly created: boolean;
}

/** One page of reports, newest first. */
export interface ReportPage {
  readonly reports: ReportView[];
  /** The `before` of the next page; null when nothing older matches. */
  readonly next: number | null;
}

/**
 * Reports of messages (domain/reports.ts), kept by the same backend as the log (Store.reports).
 *
 * Contract (checked for every backend by reports.contract.ts):
 *
 * - `file(report, maxOpen)`, in one transaction: when `reporter` has an open report of
 *   `message`, returns it (`created: false`) and stores nothing; else, when they have
 *   `maxOpen` open reports, rejects with REPORTS_FULL; else stores it, open.
 * - `queue(viewer, query)` lists the reports `viewer` moderates, newest first, each with its
 *   message as it is now (ReportedMessage; `deleted` once deleted or pruned), decided in the
 *   query: an admin, every report; anyone else, the reports of a room's message where they
 *   are an owner or a moderator now, of the room's current life (a report from an earlier
 *   life of the name goes to admins only). A direct message's or a broadcast's report (room
 *   null) goes to admins only.
 * - `moderated(viewer, id)` is the report `id` when `queue` would list it for `viewer`.
 * - `mine(reporter, query)` lists `reporter`'s own reports, newest first.
 * - `close(id, closing, audit)`, in one transaction: rejects with REPORT_NOT_FOUND when there
 *   is no report `id` and with REPORT_CLOSED when it is not open; else closes it and every
 *   other open report of the same message (status `dismissed` for the outcome dismiss, else
 *   `actioned`; handledBy, handledTs, note), and writes `audit` (store/audit-store.ts). It
 *   returns the reports it closed, `id` first.
 */
export interface ReportStore {
  file(report: NewReport, maxOpen: number): Promise<Filed>;
  queue(viewer: QueueViewer, query: ReportQuery): Promise<ReportPage>;
  moderated(viewer: QueueViewer, id: number): Promise<ReportView | undefined>;
  mine(
    reporter: string,
    query: Omit<ReportQuery, 'status'> & { status?: 'open' | 'closed' },
  ): Promise<ReportPage>;
  close(id: number, closing: ReportClosing, audit: NewAuditEntry): Promise<StoredReport[]>;
}

/** A report as either engine reads it: reports LEFT JOIN messages. */
export interface ReportRow {
  id: number | string;
  message: number | string;
  reporter: string;
  reason: string;
  ts: number | string;
  room: string | null;
  status: ReportStatus;
  outcome: ReportAction | null;
  handled_by: string | null;
  handled_ts: number | string | null;
  note: string;
  m_from?: string | null;
  m_to?: string | null;
  m_text?: string | null;
  m_ts?: number | string | null;
  m_deleted?: number | boolean | null;
  m_edited?: number | string | null;
}

/** The columns of a ReportRow, for SELECT lists over `reports r LEFT JOIN messages m`. */
export const REPORT_COLUMNS = `r.id, r.message, r.reporter, r.reason, r.ts, r.room, r.status,
  r.outcome, r.handled_by, r.handled_ts, r.note, m.sender AS m_from, m.recipient AS m_to,
  m.text AS m_text, m.ts AS m_ts, m.deleted AS m_deleted, m.edited AS m_edited`;

/** A ReportRow without its message. */
export function toReport(row: ReportRow): StoredReport {
  return {
    id: Number(row.id),
    message: Number(row.message),
    reporter: row.reporter,
    reason: row.reason,
    ts: Number(row.ts),
    room: row.room,
    status: row.status,
    outcome: row.outcome,
    handledBy: row.handled_by,
    handledTs: row.handled_ts === null ? null : Number(row.handled_ts),
    note: row.note,
  };
}

/** A ReportRow with its message (a message no longer stored reads as deleted). */
export function toReportView(row: ReportRow): ReportView {
  const gone = row.m_from === null || row.m_from === undefined;
  const deleted = gone || row.m_deleted === true || Number(row.m_deleted) === 1;
  return {
    ...toReport(row),
    body: {
      id: Number(row.message),
      from: row.m_from ?? '',
      to: row.m_to ?? row.room ?? '',
      text: deleted ? '' : (row.m_text ?? ''),
      ts: Number(row.m_ts ?? 0),
      ...(!deleted &&
        row.m_edited !== null &&
        row.m_edited !== undefined && { edited: Number(row.m_edited) }),
      ...(deleted && { deleted: true as const }),
    },
  };
}

/** A page of `limit` from rows read with `limit + 1`. */
export function toPage(rows: ReportRow[], limit: number): ReportPage {
  const more = rows.length > limit;
  const reports = rows.slice(0, limit).map(toReportView);
  return { reports, next: more ? (reports.at(-1)?.id ?? null) : null };
}

/** The WHERE of a status filter over `reports r`. */
export function statusFilter(status: 'open' | 'closed' | undefined): string {
  if (status === 'open') return "r.status = 'open'";
  if (status === 'closed') return "r.status <> 'open'";
  return '1 = 1';
}
