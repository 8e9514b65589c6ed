import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimiter } from '../auth/rate-limit.js';
import type { ChatService } from '../core/chat.js';
import { ChatError } from '../domain/errors.js';
import {
  DEFAULT_REPORTS_PAGE,
  MAX_REPORTS_PAGE,
  REPORTS_PER_MINUTE,
  type ReportedMessage,
  type ReportView,
  type StoredReport,
} from '../domain/reports.js';
import type { ReportPage } from '../store/reports-store.js';
import type { Admission } from './admission.js';
import { decodeSegment, intParam, messageId } from './api-paths.js';
import type { Auth } from './auth.js';
import type { JsonBody } from './body.js';
import { sendJson } from './reply.js';
import type { Handler } from './router.js';

/** What the report routes need from the JSON API. */
export interface ApiReportsDeps {
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly admission: Admission;
  /** Reads a JSON body (Api.body). */
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
  /** `open` (the default) or `accounts`: reports need accounts (AUTH_ACCOUNTS_ONLY). */
  readonly accounts: boolean;
}

/** A report as the API shows it (docs/api.md, Reports). */
interface ApiReport extends Omit<StoredReport, 'message'> {
  /** The reported message: as it is now in lists, its id alone in the answers of POSTs. */
  readonly message: ReportedMessage | { readonly id: number };
}

/** The ids of reports: positive whole numbers. */
const LAST_ID = Number.MAX_SAFE_INTEGER;

/**
 * `POST /api/v1/messages/<id>/report`, `GET /api/v1/reports`, `GET /api/v1/account/reports` and
 * `POST /api/v1/reports/<id>` (docs/api.md, Reports). Accounts mode only: in open mode a nick
 * is only a claim, so nobody could be trusted with the reports of another's messages.
 */
export class ApiReports {
  /** REPORTS_PER_MINUTE per user (Admission.userKey), on top of the send limits. */
  private readonly filings = new RateLimiter({
    limit: REPORTS_PER_MINUTE,
    windowMs: 60_000,
    maxKeys: 100_000,
  });

  constructor(private readonly deps: ApiReportsDeps) {}

  /** `POST /api/v1/messages/<id>/report {reason}`: 201 with the report, 200 for a repeat. */
  readonly file: Handler = async (req, res, params) => {
    const nick = await this.user(req);
    const id = messageId(decodeSegment(params.id ?? ''));
    await this.deps.admission.send(req, nick);
    const wait = this.filings.hit(this.deps.admission.userKey(req, nick));
    if (wait > 0) throw new ChatError('CHAT_RATE_LIMITED', 'reports', wait);
    const body = await this.deps.body(req, res);
    const { report, created } = await this.deps.chat.reports.file(nick, id, body.reason);
    sendJson(res, created ? 201 : 200, { report: ownReport(report, true) });
  };

  /** `GET /api/v1/reports?status=open|closed&before=&limit=`: the caller's queue. */
  readonly queue: Handler = async (req, res) => {
    const nick = await this.user(req);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const status = query.get('status') ?? 'open';
    if (status !== 'open' && status !== 'closed') {
      throw new ChatError('API_QUERY_INVALID', 'status must be open or closed');
    }
    const page = await this.deps.chat.reports.queue(nick, { status, ...pageOf(query) });
    sendJson(res, 200, apiPage(page, true));
  };

  /** `GET /api/v1/account/reports?status=&before=&limit=`: the caller's own reports. */
  readonly mine: Handler = async (req, res) => {
    const nick = await this.user(req);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const status = query.get('status') ?? undefined;
    if (status !== undefined && status !== 'open' && status !== 'closed') {
      throw new ChatError('API_QUERY_INVALID', 'status must be open or closed');
    }
    const page = await this.deps.chat.reports.mine(nick, {
      ...(status !== undefined && { status }),
      ...pageOf(query),
    });
    sendJson(res, 200, apiPage(page, false));
  };

  /** `POST /api/v1/reports/<id> {action, reason, minutes?, deleteMessages?}`: handles it. */
  readonly act: Handler = async (req, res, params) => {
    const nick = await this.user(req);
    const raw = decodeSegment(params.id ?? '');
    const id = /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(id)) throw new ChatError('REPORT_NOT_FOUND');
    await this.deps.admission.send(req, nick);
    const body = await this.deps.body(req, res);
    const report = await this.deps.chat.reports.act(nick, id, {
      action: body.action,
      reason: body.reason,
      minutes: body.minutes,
      deleteMessages: body.deleteMessages,
    });
    sendJson(res, 200, { report: ownReport(report, true) });
  };

  /** The signed-in caller, in accounts mode. */
  private async user(req: IncomingMessage): Promise<string> {
    if (!this.deps.accounts) throw new ChatError('AUTH_ACCOUNTS_ONLY');
    return (await this.deps.auth.require(req)).nick;
  }
}

/** `before` and `limit` of a page of reports. */
function pageOf(query: URLSearchParams): { before?: number; limit: number } {
  const limit = intParam(query, 'limit', DEFAULT_REPORTS_PAGE, 1, MAX_REPORTS_PAGE);
  return query.has('before')
    ? { before: intParam(query, 'before', LAST_ID, 1, LAST_ID), limit }
    : { limit };
}

/**
 * A report as the API shows it, its message as `{id}` only (the answers of filing and acting).
 * `moderator`: for those who moderate it; a reporter's own list does not name who handled it.
 */
function ownReport(r: StoredReport, moderator: boolean): ApiReport {
  return {
    id: r.id,
    message: { id: r.message },
    reporter: r.reporter,
    reason: r.reason,
    ts: r.ts,
    room: r.room,
    status: r.status,
    outcome: r.outcome,
    handledBy: moderator ? r.handledBy : null,
    handledTs: r.handledTs,
    note: r.note,
  };
}

/** A report with its message as it is now (docs/api.md, Reports). */
function apiReport(r: ReportView, moderator: boolean): ApiReport {
  return { ...ownReport(r, moderator), message: r.body };
}

/** A page of reports as the API shows it. */
function apiPage(page: ReportPage, moderator: boolean) {
  return { reports: page.reports.map((r) => apiReport(r, moderator)), next: page.next };
}
