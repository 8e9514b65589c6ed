import { type NewAuditEntry, parseReason } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import { type EventId, isRoom, type OwnChange } from '../domain/events.js';
import {
  ADMIN_ACTIONS,
  MAX_ALERTED,
  MAX_OPEN_REPORTS_PER_USER,
  parseReportAction,
  type ReportQuery,
  type ReportView,
  type StoredReport,
} from '../domain/reports.js';
import { canModerate } from '../domain/room-rules.js';
import type { Filed, ReportPage } from '../store/reports-store.js';
import type { Store } from '../store/store.js';
import { visibleMessage } from './visible-message.js';

/** What a report's action asks of the sanctions (core/sanctions.ts, Sanctions). */
export interface ReportSanctions {
  ban(
    by: string,
    nick: string,
    options: { reason: string; deleteMessages?: boolean; minutes?: number },
  ): Promise<unknown>;
  mute(by: string, nick: string, options: { reason: string; minutes: number }): Promise<unknown>;
}

/** What reports need from the chat service. */
export interface ChatReportsDeps {
  readonly store: Store;
  readonly now: () => number;
  /** Whether `nick` is a server admin (AccountStore.isAdmin). */
  readonly isAdmin: (nick: string) => Promise<boolean>;
  /** Bans and mutes; undefined where the server has none. */
  readonly sanctions: () => ReportSanctions | undefined;
  /** Removes `nick` from `room` as `by` would (ChatRooms.remove, by the room rules). */
  readonly kick: (by: string, room: string, nick: string, reason: string) => Promise<unknown>;
  /** Deletes a reported message as `by`, audited (ChatEdits.deleteReported). */
  readonly deleteMessage: (
    by: string,
    message: { readonly id: EventId; readonly to: string; readonly from: string },
    reason: string,
    report: number,
  ) => Promise<void>;
  /** Tells the user's own streams, on every process (an `own` event on the Bus). */
  readonly tell: (nick: string, change: OwnChange) => Promise<void>;
}

/** What a moderator asks for (POST /api/v1/reports/<id>). */
export interface ReportDecision {
  readonly action: unknown;
  readonly reason: unknown;
  readonly minutes?: unknown;
  readonly deleteMessages?: unknown;
}

/**
 * Reports of messages (domain/reports.ts): a user reports a message they see; the people who
 * moderate it (a room's owners and moderators, the server's admins) read their queue, decided
 * in the Store's query, and handle a report in one step; the reporter hears the outcome.
 */
export class ChatReports {
  constructor(private readonly deps: ChatReportsDeps) {}

  /**
   * `reporter` reports message `id`: CHAT_MESSAGE_NOT_FOUND when they cannot see it (the same
   * answer as for a missing one), CHAT_FORBIDDEN for their own message. A repeat while their
   * report is open returns that one (`created: false`).
   */
  async file(reporter: string, id: EventId, reasonRaw: unknown): Promise<Filed> {
    const reason = parseReason(reasonRaw, true);
    const message = await visibleMessage(this.deps.store, reporter, id);
    if (message.from === reporter) {
      throw new ChatError('CHAT_FORBIDDEN', 'you cannot report your own message');
    }
    const room = isRoom(message.to) ? message.to : null;
    const filed = await this.deps.store.reports.file(
      { message: id, reporter, reason, ts: this.deps.now(), room },
      MAX_OPEN_REPORTS_PER_USER,
    );
    if (filed.created) await this.announce(filed.report.id, room, reporter);
    return filed;
  }

  /**
   * Tells the moderators of a new report, live (the `reported` event, best effort): the
   * admins, and the owners and moderators of its room, at most MAX_ALERTED of them.
   */
  private async announce(id: number, room: string | null, reporter: string): Promise<void> {
    const { store } = this.deps;
    const to = new Set(await store.accounts.admins());
    if (room !== null) {
      for (const m of await store.members(room)) if (canModerate(m.role)) to.add(m.user);
    }
    to.delete(reporter);
    for (const nick of [...to].slice(0, MAX_ALERTED)) {
      await this.deps.tell(nick, { type: 'reported', report: { id, room } });
    }
  }

  /** The reports `nick` moderates (see ReportStore.queue). */
  async queue(nick: string, query: ReportQuery): Promise<ReportPage> {
    const admin = await this.deps.isAdmin(nick);
    return this.deps.store.reports.queue({ nick, admin }, query);
  }

  /** `nick`'s own reports, with their outcomes. */
  mine(nick: string, query: Omit<ReportQuery, 'status'> & { status?: 'open' | 'closed' }) {
    return this.deps.store.reports.mine(nick, query);
  }

  /**
   * Handles report `id` in one step as `by`: the action (none for dismiss), then the report
   * closed with every other open report of the message, audited in that transaction; each
   * reporter is told. REPORT_NOT_FOUND for a report `by` does not moderate (as for a missing
   * one), REPORT_CLOSED for one handled already, AUTH_ADMIN_ONLY for mute and ban by a
   * room moderator. Returns the report as closed.
   */
  async act(by: string, id: number, decision: ReportDecision): Promise<StoredReport> {
    const { store, now } = this.deps;
    const action = parseReportAction(decision.action);
    const reason = parseReason(decision.reason, action !== 'dismiss');
    const admin = await this.deps.isAdmin(by);
    const report = await store.reports.moderated({ nick: by, admin }, id);
    if (!report) throw new ChatError('REPORT_NOT_FOUND');
    if (report.status !== 'open') throw new ChatError('REPORT_CLOSED');
    if (ADMIN_ACTIONS.includes(action) && !admin) throw new ChatError('AUTH_ADMIN_ONLY');
    const author = report.body.from;
    if (action !== 'dismiss' && action !== 'delete' && author === '') {
      throw new ChatError('REPORT_ACTION_INVALID', 'the message is no longer stored');
    }
    await this.apply(by, report, action, reason, decision);
    const audit: NewAuditEntry = {
      ts: now(),
      actor: by,
      action: action === 'dismiss' ? 'report.dismiss' : 'report.act',
      ...(author !== '' && { target: author }),
      ...(report.room !== null && { room: report.room }),
      message: report.message,
      reason,
      detail: { action, report: id },
    };
    const closed = await store.reports.close(
      id,
      { outcome: action, by, ts: audit.ts, note: reason },
      audit,
    );
    for (const r of closed) {
      await this.deps.tell(r.reporter, {
        type: 'report',
        report: { id: r.id, status: r.status, outcome: r.outcome, message: r.message },
      });
    }
    const [first] = closed;
    if (!first) throw new ChatError('REPORT_CLOSED');
    return first;
  }

  /** Does what `action` says to the reported message or its author. */
  private async apply(
    by: string,
    report: ReportView,
    action: ReturnType<typeof parseReportAction>,
    reason: string,
    decision: ReportDecision,
  ): Promise<void> {
    const author = report.body.from;
    switch (action) {
      case 'dismiss':
        return;
      case 'delete':
        // A message deleted meanwhile (by its author, or another moderator) needs nothing more.
        if (report.body.deleted) return;
        await this.deps.deleteMessage(by, report.body, reason, report.id).catch((err: unknown) => {
          if (!(err instanceof ChatError && err.code === 'CHAT_MESSAGE_NOT_FOUND')) throw err;
        });
        return;
      case 'kick':
        if (report.room === null) {
          throw new ChatError('REPORT_ACTION_INVALID', 'kick is for a message in a room');
        }
        await this.deps.kick(by, report.room, author, reason);
        return;
      case 'mute':
      case 'ban': {
        const sanctions = this.deps.sanctions();
        if (!sanctions) throw new ChatError('AUTH_ACCOUNTS_ONLY');
        if (action === 'mute') {
          if (typeof decision.minutes !== 'number') {
            throw new ChatError('REPORT_ACTION_INVALID', 'a mute needs minutes');
          }
          await sanctions.mute(by, author, { reason, minutes: decision.minutes });
        } else {
          await sanctions.ban(by, author, {
            reason,
            deleteMessages: decision.deleteMessages === true,
            ...(typeof decision.minutes === 'number' && { minutes: decision.minutes }),
          });
        }
        return;
      }
    }
  }
}
