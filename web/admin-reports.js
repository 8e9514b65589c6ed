// The Reports tab of the admin page: the report queue (GET /api/v1/reports) and acting on a
// report in one step (POST /api/v1/reports/<id>): dismiss it, or delete the message, mute,
// ban or kick its author, with a reason, confirmed (admin-confirm.js).

import { confirmAction } from './admin-confirm.js';
import { notice } from './admin-users.js';
import { $, button, durationSelect, el, failure, label, when } from './admin-view.js';
import { call, segment } from './api.js';

/**
 * A report as the server lists it (docs/api.md, Reports).
 * @typedef {object} ReportedMessage
 * @property {number} id
 * @property {string} from
 * @property {string} to
 * @property {string} text
 * @property {number} ts
 * @property {number} [edited] when its text was last edited
 * @property {boolean} [deleted]
 * @typedef {object} Report
 * @property {number | string} id
 * @property {ReportedMessage} message
 * @property {string} reporter
 * @property {string} reason
 * @property {number} ts
 * @property {string | null} room
 * @property {string} status open, dismissed or actioned
 * @property {string | null} outcome
 * @property {string | null} handledBy
 * @property {number | null} handledTs
 * @property {string | null} note
 */

/** Reports per page. */
const PAGE = 50;

/**
 * The actions on a report: what the button says, what the dialog says, the confirm button.
 * @type {ReadonlyArray<{ action: 'dismiss' | 'delete' | 'mute' | 'ban' | 'kick', button: string, go: string, danger: boolean, what: (r: Report) => string }>}
 */
const ACTIONS = [
  {
    action: 'dismiss',
    button: 'Dismiss…',
    go: 'Dismiss',
    danger: false,
    what: () => 'The report is closed and nothing else happens.',
  },
  {
    action: 'delete',
    button: 'Delete message…',
    go: 'Delete',
    danger: true,
    what: (r) => `The message of ${r.message.from} is deleted for everyone.`,
  },
  {
    action: 'mute',
    button: 'Mute author…',
    go: 'Mute',
    danger: true,
    what: (r) => `${r.message.from} cannot send, edit or react until the mute ends.`,
  },
  {
    action: 'ban',
    button: 'Ban author…',
    go: 'Ban',
    danger: true,
    what: (r) =>
      `${r.message.from} is signed out everywhere and cannot sign in until the ban ends.`,
  },
  {
    action: 'kick',
    button: 'Kick from room…',
    go: 'Kick',
    danger: true,
    what: (r) => `${r.message.from} is removed from ${r.room ?? 'the room'}.`,
  },
];

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
    const li = el('li', 'report');
    li.dataset.report = String(r.id);
    const head = el('div', 'report-head');
    const where = r.room ?? `DM to ${r.message.to}`;
    head.append(
      el('strong', 'report-author', r.message.from),
      el('span', 'muted', ` in ${where}, ${when(r.message.ts)}`),
    );
    const quote = el('blockquote', 'report-text', r.message.text);
    if (r.message.deleted) quote.append(el('span', 'muted', ' (deleted)'));
    // The author may have edited the text since it was reported: this is not what was seen.
    else if (r.message.edited !== undefined && r.message.edited >= r.ts) {
      quote.append(el('span', 'muted', ` (edited after the report, ${when(r.message.edited)})`));
    }
    const why = el('p', 'report-reason');
    why.append(
      el('span', 'muted', `Reported by ${r.reporter}, ${when(r.ts)}: `),
      el('span', 'reason', r.reason),
    );
    li.append(head, quote, why);
    if (r.status !== 'open') {
      const closed = `${r.status}${r.outcome ? ` (${r.outcome})` : ''} by ${r.handledBy ?? '?'}, ${when(r.handledTs)}`;
      li.append(el('p', 'muted report-closed', closed));
      if (r.note) li.append(el('p', 'muted', r.note));
      return li;
    }
    const actions = el('div', 'row-actions');
    for (const a of ACTIONS) {
      if (a.action === 'kick' && !r.room) continue;
      if (a.action === 'delete' && r.message.deleted) continue;
      actions.append(button(a.button, () => this.act(r, a), a.danger ? 'small danger' : 'small'));
    }
    li.append(actions);
    return li;
  }

  /**
   * @param {Report} r
   * @param {(typeof ACTIONS)[number]} a
   */
  async act(r, a) {
    /** @type {HTMLElement[]} */
    const extra = [];
    /** @type {HTMLSelectElement | null} */
    let minutes = null;
    /** @type {HTMLInputElement | null} */
    let purge = null;
    if (a.action === 'mute') {
      minutes = durationSelect('report-minutes', [
        ['10', '10 minutes'],
        ['60', '1 hour'],
        ['1440', '1 day'],
        ['10080', '7 days'],
      ]);
      minutes.value = '60';
      extra.push(label('report-minutes', 'For'), minutes);
    } else if (a.action === 'ban') {
      minutes = durationSelect('report-minutes', [
        ['', 'Until lifted'],
        ['1440', '1 day'],
        ['10080', '7 days'],
        ['43200', '30 days'],
      ]);
      purge = document.createElement('input');
      purge.type = 'checkbox';
      purge.id = 'report-purge';
      const purgeLabel = el('label', '', ' Also delete their messages');
      purgeLabel.prepend(purge);
      extra.push(label('report-minutes', 'For'), minutes, purgeLabel);
    }
    const done = await confirmAction({
      title: `${a.go}: report ${r.id}`,
      what: a.what(r),
      go: a.go,
      danger: a.danger,
      // The server keeps the reason as the report's note; a dismissal may go without one.
      reasonRequired: a.action !== 'dismiss',
      extra,
      act: async (reason) => {
        /** @type {{ action: string, reason: string, minutes?: number, deleteMessages?: boolean }} */
        const body = { action: a.action, reason };
        if (minutes?.value) body.minutes = Number(minutes.value);
        if (purge) body.deleteMessages = purge.checked;
        await call('POST', `reports/${segment(String(r.id))}`, body);
      },
    });
    if (done) {
      notice(`Report ${r.id}: ${a.go.toLowerCase()} done.`);
      await this.load();
    }
  }
}
