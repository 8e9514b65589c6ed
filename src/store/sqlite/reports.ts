import type Database from 'better-sqlite3';
import type { NewAuditEntry } from '../../domain/audit.js';
import { ChatError } from '../../domain/errors.js';
import {
  closedStatus,
  type NewReport,
  type QueueViewer,
  type ReportClosing,
  type ReportQuery,
  type ReportView,
  type StoredReport,
} from '../../domain/reports.js';
import {
  type Filed,
  REPORT_COLUMNS,
  type ReportPage,
  type ReportRow,
  type ReportStore,
  statusFilter,
  toPage,
  toReport,
  toReportView,
} from '../reports-store.js';
import { insertAudit } from './audit.js';

// The reports a non-admin moderates: of a room's message, where they are an owner or a
// moderator now, in the room's current life (created_id: the create that began it).
const MODERATES = `(@admin = 1 OR EXISTS (SELECT 1 FROM members mb JOIN rooms ro ON ro.name = mb.room
  WHERE mb.room = r.room AND mb.nick = @nick AND mb.role IN ('owner', 'moderator')
    AND ro.created_id <= r.message))`;

const FROM = "reports r LEFT JOIN messages m ON m.id = r.message AND m.kind = 'message'";

type Params = Record<string, string | number>;

/** The ReportStore of SqliteStore: the reports table (schema.ts, the reports step). */
export class SqliteReports implements ReportStore {
  private readonly fileTx: (report: NewReport, maxOpen: number) => Filed;
  private readonly closeTx: (
    id: number,
    closing: ReportClosing,
    audit: NewAuditEntry,
  ) => StoredReport[];
  private readonly pages = new Map<string, Database.Statement<[Params], ReportRow>>();

  constructor(private readonly db: Database.Database) {
    const openOne = db.prepare<[number, string], ReportRow>(
      "SELECT * FROM reports WHERE message = ? AND reporter = ? AND status = 'open'",
    );
    const countOpen = db.prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM reports WHERE reporter = ? AND status = 'open'",
    );
    const insert = db.prepare<[number, string, string, number, string | null], ReportRow>(
      `INSERT INTO reports (message, reporter, reason, ts, room) VALUES (?, ?, ?, ?, ?)
       RETURNING *`,
    );
    this.fileTx = db.transaction((report: NewReport, maxOpen: number): Filed => {
      const found = openOne.get(report.message, report.reporter);
      if (found) return { report: toReport(found), created: false };
      if ((countOpen.get(report.reporter)?.n ?? 0) >= maxOpen) {
        throw new ChatError('REPORTS_FULL', `at most ${maxOpen} open reports`);
      }
      const row = insert.get(
        report.message,
        report.reporter,
        report.reason,
        report.ts,
        report.room,
      );
      if (!row) throw new Error('INSERT … RETURNING gave no row');
      return { report: toReport(row), created: true };
    });
    const one = db.prepare<[number], ReportRow>('SELECT * FROM reports WHERE id = ?');
    const closeAll = db.prepare<[Params], ReportRow>(
      `UPDATE reports SET status = @status, outcome = @outcome, handled_by = @by,
         handled_ts = @ts, note = @note
       WHERE message = @message AND status = 'open' RETURNING *`,
    );
    this.closeTx = db.transaction(
      (id: number, closing: ReportClosing, audit: NewAuditEntry): StoredReport[] => {
        const row = one.get(id);
        if (!row) throw new ChatError('REPORT_NOT_FOUND');
        if (row.status !== 'open') throw new ChatError('REPORT_CLOSED');
        const closed = closeAll
          .all({
            status: closedStatus(closing.outcome),
            outcome: closing.outcome,
            by: closing.by,
            ts: closing.ts,
            note: closing.note,
            message: Number(row.message),
          })
          .map(toReport)
          .sort((a, b) => (a.id === id ? -1 : b.id === id ? 1 : a.id - b.id));
        insertAudit(db, audit);
        return closed;
      },
    );
  }

  async file(report: NewReport, maxOpen: number): Promise<Filed> {
    return this.fileTx(report, maxOpen);
  }

  async queue(viewer: QueueViewer, query: ReportQuery): Promise<ReportPage> {
    const rows = this.page(`${MODERATES} AND ${statusFilter(query.status)}`).all({
      ...who(viewer),
      before: query.before ?? Number.MAX_SAFE_INTEGER,
      limit: query.limit + 1,
    });
    return toPage(rows, query.limit);
  }

  async moderated(viewer: QueueViewer, id: number): Promise<ReportView | undefined> {
    const row = this.page(`${MODERATES} AND r.id = @id`).get({
      ...who(viewer),
      id,
      before: Number.MAX_SAFE_INTEGER,
      limit: 1,
    });
    return row && toReportView(row);
  }

  async mine(
    reporter: string,
    query: Omit<ReportQuery, 'status'> & { status?: 'open' | 'closed' },
  ): Promise<ReportPage> {
    const rows = this.page(`r.reporter = @nick AND ${statusFilter(query.status)}`).all({
      nick: reporter,
      before: query.before ?? Number.MAX_SAFE_INTEGER,
      limit: query.limit + 1,
    });
    return toPage(rows, query.limit);
  }

  async close(id: number, closing: ReportClosing, audit: NewAuditEntry): Promise<StoredReport[]> {
    return this.closeTx(id, closing, audit);
  }

  /** A page newest first, below @before, of the reports `where` keeps; prepared once. */
  private page(where: string): Database.Statement<[Params], ReportRow> {
    let statement = this.pages.get(where);
    if (!statement) {
      statement = this.db.prepare<[Params], ReportRow>(
        `SELECT ${REPORT_COLUMNS} FROM ${FROM}
          WHERE ${where} AND r.id < @before ORDER BY r.id DESC LIMIT @limit`,
      );
      this.pages.set(where, statement);
    }
    return statement;
  }
}

/** The parameters MODERATES reads. */
function who(viewer: QueueViewer): Params {
  return { nick: viewer.nick, admin: viewer.admin ? 1 : 0 };
}
