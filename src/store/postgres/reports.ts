import type pg from 'pg';
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
import { inTransaction } from './client.js';

// The reports a non-admin moderates ($1: admin, $2: nick): see sqlite/reports.ts.
const MODERATES = `($1::boolean OR EXISTS (SELECT 1 FROM members mb JOIN rooms ro ON ro.name = mb.room
  WHERE mb.room = r.room AND mb.nick = $2 AND mb.role IN ('owner', 'moderator')
    AND ro.created_id <= r.message))`;

const FROM = "reports r LEFT JOIN messages m ON m.id = r.message AND m.kind = 'message'";

/** The ReportStore of PostgresStore: the reports table (schema.ts, the reports step). */
export class PostgresReports implements ReportStore {
  constructor(private readonly pool: pg.Pool) {}

  file(report: NewReport, maxOpen: number): Promise<Filed> {
    return inTransaction(this.pool, async (client) => {
      // One reporter's filings, one at a time: the open count and the repeat check hold.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `report:${report.reporter}`,
      ]);
      const found = await client.query<ReportRow>(
        "SELECT * FROM reports WHERE message = $1 AND reporter = $2 AND status = 'open'",
        [report.message, report.reporter],
      );
      if (found.rows[0]) return { report: toReport(found.rows[0]), created: false };
      const open = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM reports WHERE reporter = $1 AND status = 'open'",
        [report.reporter],
      );
      if (Number(open.rows[0]?.n ?? 0) >= maxOpen) {
        throw new ChatError('REPORTS_FULL', `at most ${maxOpen} open reports`);
      }
      const { rows } = await client.query<ReportRow>(
        `INSERT INTO reports (message, reporter, reason, ts, room) VALUES ($1, $2, $3, $4, $5)
         RETURNING *`,
        [report.message, report.reporter, report.reason, report.ts, report.room],
      );
      const row = rows[0];
      if (!row) throw new Error('INSERT … RETURNING gave no row');
      return { report: toReport(row), created: true };
    });
  }

  async queue(viewer: QueueViewer, query: ReportQuery): Promise<ReportPage> {
    const { rows } = await this.pool.query<ReportRow>(
      `SELECT ${REPORT_COLUMNS} FROM ${FROM}
        WHERE ${MODERATES} AND ${statusFilter(query.status)} AND r.id < $3
        ORDER BY r.id DESC LIMIT $4`,
      [viewer.admin, viewer.nick, query.before ?? Number.MAX_SAFE_INTEGER, query.limit + 1],
    );
    return toPage(rows, query.limit);
  }

  async moderated(viewer: QueueViewer, id: number): Promise<ReportView | undefined> {
    const { rows } = await this.pool.query<ReportRow>(
      `SELECT ${REPORT_COLUMNS} FROM ${FROM} WHERE ${MODERATES} AND r.id = $3`,
      [viewer.admin, viewer.nick, id],
    );
    return rows[0] && toReportView(rows[0]);
  }

  async mine(
    reporter: string,
    query: Omit<ReportQuery, 'status'> & { status?: 'open' | 'closed' },
  ): Promise<ReportPage> {
    const { rows } = await this.pool.query<ReportRow>(
      `SELECT ${REPORT_COLUMNS} FROM ${FROM}
        WHERE r.reporter = $1 AND ${statusFilter(query.status)} AND r.id < $2
        ORDER BY r.id DESC LIMIT $3`,
      [reporter, query.before ?? Number.MAX_SAFE_INTEGER, query.limit + 1],
    );
    return toPage(rows, query.limit);
  }

  close(id: number, closing: ReportClosing, audit: NewAuditEntry): Promise<StoredReport[]> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<ReportRow>(
        'SELECT * FROM reports WHERE id = $1 FOR UPDATE',
        [id],
      );
      const row = rows[0];
      if (!row) throw new ChatError('REPORT_NOT_FOUND');
      if (row.status !== 'open') throw new ChatError('REPORT_CLOSED');
      const closed = await client.query<ReportRow>(
        `UPDATE reports SET status = $1, outcome = $2, handled_by = $3, handled_ts = $4, note = $5
          WHERE message = $6 AND status = 'open' RETURNING *`,
        [
          closedStatus(closing.outcome),
          closing.outcome,
          closing.by,
          closing.ts,
          closing.note,
          row.message,
        ],
      );
      await insertAudit(client, audit);
      return closed.rows
        .map(toReport)
        .sort((a, b) => (a.id === id ? -1 : b.id === id ? 1 : a.id - b.id));
    });
  }
}
