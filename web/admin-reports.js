// The Reports tab of the admin page: the report queue (GET /api/v1/reports) and acting on a
// report in one step (dismiss it, or delete the message, mute, ban or kick its author, with a
// reason, confirmed): the card and the action are report-card.js, shared with the chat page.

import { notice } from './admin-users.js';
import { $, failure } from './admin-view.js';
import { call } from './api.js';
import { actOnReport, reportCard } from './report-card.js';

/** @typedef {import('./report-card.js').Report} Report */
/** @typedef {import('./report-card.js').ActionSpec} ActionSpec */

/** Reports per page. */
const PAGE = 50;

/** The Reports tab. */
export class ReportsTab {
  constructor() {
    /** @type {number | string | null} */
    this.next = null;
    this.generation = 0;
    $('reports-status').addEventListener('change', () => this.load());
    $('reports-refresh').addEventListener('click', () => this.load());
    $('reports-more').addEventListener('click', () => this.page());
  }

  load() {
    this.next = null;
    this.generation++;
    $('reports-list').replaceChildren();
    return this.page(true);
  }

  async page(first = false) {
    const generation = this.generation;
    const state = $('reports-state');
    state.textContent = 'Loading…';
    const status = $('reports-status', HTMLSelectElement).value;
    const query = new URLSearchParams({ status, limit: String(PAGE) });
    if (!first && this.next !== null) query.set('before', String(this.next));
    let answer;
    try {
      answer = /** @type {{ reports: Report[], next: number | string | null }} */ (
        await call('GET', `reports?${query}`)
      );
    } catch (e) {
      if (generation === this.generation) state.textContent = failure(e);
      return;
    }
    if (generation !== this.generation) return;
    for (const r of answer.reports) $('reports-list').append(this.item(r));
    this.next = answer.next ?? null;
    $('reports-more').hidden = this.next === null;
    const n = $('reports-list').childElementCount;
    state.textContent = n === 0 ? `No ${status} reports.` : '';
  }

  /** @param {Report} r */
  item(r) {
    // An admin may do every action (report-card.js).
    return reportCard(r, { allowed: () => true, onAct: (report, a) => this.act(report, a) });
  }

  /**
   * @param {Report} r
   * @param {ActionSpec} a
   */
  async act(r, a) {
    if (await actOnReport(r, a)) {
      notice(`Report ${r.id}: ${a.go.toLowerCase()} done.`);
      await this.load();
    }
  }
}
