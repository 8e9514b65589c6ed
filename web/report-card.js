// A report in a moderator's queue, shared by the admin page's Reports tab (admin-reports.js)
// and the chat page's Reports dialog (mod-queue.js): the card that shows it (every piece of
// user data as text, never as HTML), the actions on it, and acting in one step (POST
// /api/v1/reports/<id>) after the confirmation dialog of admin-confirm.js, which both pages
// hold (#confirm) and which shows the server's refusal in place.

import { confirmAction } from './admin-confirm.js';
import { button, durationSelect, el, label, when } from './admin-view.js';
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
/** @typedef {'dismiss' | 'delete' | 'mute' | 'ban' | 'kick'} ReportAction */
/**
 * An action on a report: what its button says, the confirm button, and what it does.
 * @typedef {{ action: ReportAction, button: string, go: string, danger: boolean, what: (r: Report) => string }} ActionSpec
 */

/** What a room's owners and moderators may do; server admins may do every action. */
export const MODERATOR_ACTIONS = /** @type {readonly ReportAction[]} */ ([
  'dismiss',
  'delete',
  'kick',
]);

/** @type {ReadonlyArray<ActionSpec>} */
export const ACTIONS = [
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

/**
 * The card of report `r`: who wrote what where, who reported it and why; an open report gets
 * a button per action `allowed` (kick only for a room's message, delete only for a message
 * still there), each calling `onAct`; a closed one says how it was closed.
 * @param {Report} r
 * @param {object} options
 * @param {(action: ReportAction) => boolean} options.allowed
 * @param {(r: Report, a: ActionSpec) => void} options.onAct
 * @param {HTMLElement[]} [options.extra] more buttons (e.g. going to the message)
 */
export function reportCard(r, { allowed, onAct, extra = [] }) {
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
    if (!allowed(a.action)) continue;
    if (a.action === 'kick' && !r.room) continue;
    if (a.action === 'delete' && r.message.deleted) continue;
    actions.append(button(a.button, () => onAct(r, a), a.danger ? 'small danger' : 'small'));
  }
  actions.append(...extra);
  li.append(actions);
  return li;
}

/**
 * Acts on report `r` with action `a` after the confirmation (its reason, and for a mute or a
 * ban how long): resolves true once the server did it, false when cancelled. A refusal is
 * shown in the dialog, which stays open.
 * @param {Report} r
 * @param {ActionSpec} a
 * @returns {Promise<boolean>}
 */
export function actOnReport(r, a) {
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
  return confirmAction({
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
}
