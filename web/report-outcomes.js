// What became of our own reports. A report handled while a page of ours is open arrives as a
// `report` event (events.js) and is said in the notice line at once; one handled while none
// was open (the event is not stored) is caught up when the stream is live again, from
// GET /api/v1/account/reports?status=closed. The ids already told are kept in this browser
// (localStorage, the newest MAX_TOLD), so that each outcome is told once.

import { call } from './api.js';

/** @typedef {import('../src/http/api-types.js').ApiReportEvent} ApiReportEvent */
/** @typedef {{ id: number, status: string, outcome: string | null, message: { id: number }, handledTs: number | null }} OwnReport */

/** The closed reports read at each catch-up (newest filed first). */
const PAGE = 20;
/** Outcomes older than this are not told any more (a browser new to the user). */
const RECENT_MS = 7 * 24 * 3600_000;
/** How many told ids the browser keeps. */
const MAX_TOLD = 200;

/** What each outcome of a report did, for the notice the reporter reads. */
const OUTCOMES = {
  dismiss: 'moderators looked at it and left the message as it is',
  delete: 'the message was deleted',
  kick: 'its author was removed from the room',
  mute: 'its author was muted',
  ban: 'its author was banned',
};

/**
 * What was done about a report, in words.
 * @param {string | null} outcome
 */
function outcomeText(outcome) {
  return Object.hasOwn(OUTCOMES, outcome ?? '')
    ? OUTCOMES[/** @type {keyof typeof OUTCOMES} */ (outcome)]
    : 'it was closed';
}

/**
 * The notice of a handled report.
 * @param {{ outcome: string | null }} r
 */
export function reportNotice(r) {
  return `Your report was handled: ${outcomeText(r.outcome)}. Thank you.`;
}

/** Tells the outcomes of our reports, each once. */
export class ReportOutcomes {
  /**
   * @param {string} me
   * @param {(text: string) => void} notify says something in the notice line
   */
  constructor(me, notify) {
    this.key = `ssechat-reports-told:${me}`;
    this.notify = notify;
  }

  /** The ids told already in this browser. @returns {number[]} */
  told() {
    try {
      const ids = JSON.parse(localStorage.getItem(this.key) ?? '[]');
      return Array.isArray(ids) ? ids.filter((id) => typeof id === 'number') : [];
    } catch {
      return [];
    }
  }

  /** @param {number[]} ids */
  remember(ids) {
    const all = [...new Set([...this.told(), ...ids])].slice(-MAX_TOLD);
    try {
      localStorage.setItem(this.key, JSON.stringify(all));
    } catch {
      // Storage full or refused: an outcome may be told twice, no more.
    }
  }

  /**
   * A `report` event: one of ours was handled just now.
   * @param {ApiReportEvent} r
   */
  onEvent(r) {
    this.remember([r.id]);
    this.notify(reportNotice(r));
  }

  /** The stream is live again: tells the outcomes of reports handled while we were away. */
  async catchUp() {
    let answer;
    try {
      answer = /** @type {{ reports: OwnReport[] }} */ (
        await call('GET', `account/reports?status=closed&limit=${PAGE}`)
      );
    } catch {
      // A lost session is the stream's to notice; the next hello tries again.
      return;
    }
    const told = new Set(this.told());
    const since = Date.now() - RECENT_MS;
    const fresh = answer.reports.filter(
      (r) => !told.has(r.id) && r.handledTs !== null && r.handledTs > since,
    );
    if (fresh.length === 0) return;
    this.remember(fresh.map((r) => r.id));
    const [only] = fresh;
    if (fresh.length === 1 && only) {
      this.notify(`While you were away, ${reportNotice(only).replace(/^Y/, 'y')}`);
      return;
    }
    const what = [...new Set(fresh.map((r) => outcomeText(r.outcome)))].join('; ');
    this.notify(`While you were away, ${fresh.length} of your reports were handled: ${what}.`);
  }
}
