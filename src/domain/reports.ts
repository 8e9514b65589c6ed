import { ChatError } from './errors.js';
import type { EventId } from './events.js';

/**
 * Reports of messages (issue 23, part E): a user tells the people who moderate a message that
 * it breaks the rules. A room's message goes to the room's owners and moderators and to the
 * server's admins; a direct message or a broadcast to the admins only.
 */

/** What a moderator did with a report, and the report's outcome. */
export const REPORT_ACTIONS = ['dismiss', 'delete', 'kick', 'mute', 'ban'] as const;
export type ReportAction = (typeof REPORT_ACTIONS)[number];

/** The actions only server admins take (Sanctions); the others a room's moderators take too. */
export const ADMIN_ACTIONS: readonly ReportAction[] = ['mute', 'ban'];

export type ReportStatus = 'open' | 'dismissed' | 'actioned';

/**
 * Most open reports one user may have at once (REPORTS_FULL, 429): each is a line in every
 * moderator's queue, so this bounds what one account can put in front of them. A report
 * closes when a moderator handles it.
 */
export const MAX_OPEN_REPORTS_PER_USER = 100;

/**
 * Most moderators a new report is announced to live (the `reported` event): the admins first,
 * then the room's owners and moderators. Each is an event on the Bus; the queue has them all.
 */
export const MAX_ALERTED = 100;

/** Reports one user may file per minute (CHAT_RATE_LIMITED), repeats of an open one included. */
export const REPORTS_PER_MINUTE = 10;

/** Most reports one page of a queue or of a user's own list holds (`limit`, default 50). */
export const MAX_REPORTS_PAGE = 100;
export const DEFAULT_REPORTS_PAGE = 50;

/** A report to store: made by `reporter` about message `message`. */
export interface NewReport {
  readonly message: EventId;
  readonly reporter: string;
  /** Checked (parseReason): NFC, no control characters, 1..MAX_REASON_CHARS. */
  readonly reason: string;
  readonly ts: number;
  /** The message's room (with its `#`); null for a direct message or a broadcast. */
  readonly room: string | null;
}

/** The reported message as the report shows it, read at the time of the request. */
export interface ReportedMessage {
  readonly id: EventId;
  /** Empty when the message is gone (deleted, or pruned by retention). */
  readonly from: string;
  readonly to: string;
  /** Its current text: empty once deleted (a delete removes the text from the Store). */
  readonly text: string;
  readonly ts: number;
  /**
   * When its text was last edited, if ever: a text edited after the report (`edited` later
   * than the report's `ts`) is not what was reported, and the queue says so.
   */
  readonly edited?: number;
  /** True when deleted or no longer stored. */
  readonly deleted?: true;
}

/** A stored report. */
export interface StoredReport extends NewReport {
  readonly id: number;
  readonly status: ReportStatus;
  readonly outcome: ReportAction | null;
  readonly handledBy: string | null;
  readonly handledTs: number | null;
  /** The moderator's reason for the outcome ('' while open). */
  readonly note: string;
}

/** A report with its message, as queues and a user's own list show it. */
export interface ReportView extends StoredReport {
  readonly body: ReportedMessage;
}

/** How a report is closed (ReportStore.close). */
export interface ReportClosing {
  readonly outcome: ReportAction;
  readonly by: string;
  readonly ts: number;
  /** The moderator's reason, kept as the report's note. */
  readonly note: string;
}

/** Which page of reports to read. */
export interface ReportQuery {
  /** 'open', or 'closed' (dismissed and actioned). */
  readonly status: 'open' | 'closed';
  /** Reports with a lower id only (the previous page's `next`); undefined for the first page. */
  readonly before?: number;
  readonly limit: number;
}

/** Who reads a queue: an admin reads every report, anyone else those of rooms they moderate. */
export interface QueueViewer {
  readonly nick: string;
  readonly admin: boolean;
}

/** Parses a report action; REPORT_ACTION_INVALID otherwise. */
export function parseReportAction(raw: unknown): ReportAction {
  if (typeof raw === 'string' && (REPORT_ACTIONS as readonly string[]).includes(raw)) {
    return raw as ReportAction;
  }
  throw new ChatError('REPORT_ACTION_INVALID');
}

/** The status a report closed with `outcome` gets. */
export function closedStatus(outcome: ReportAction): ReportStatus {
  return outcome === 'dismiss' ? 'dismissed' : 'actioned';
}
