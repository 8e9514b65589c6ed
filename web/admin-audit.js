// The Audit tab of the admin page: the audit log (GET /api/v1/admin/audit), newest first,
// paged, filtered by actor, target, action and room.

import { $, cell, failure, when } from './admin-view.js';
import { call } from './api.js';

/**
 * An audit entry (src/domain/audit.ts AuditEntry, as the API shows it).
 * @typedef {object} AuditEntry
 * @property {number} id
 * @property {number} ts
 * @property {string} actor
 * @property {string} action
 * @property {string | null} target
 * @property {string | null} room
 * @property {number | null} message
 * @property {string} reason
 * @property {unknown} detail
 */

/** The actions the filter offers (domain/audit.ts AuditAction). */
const ACTIONS = [
  'role',
  'room.remove',
  'room.role',
  'message.delete',
  'ban',
  'unban',
  'mute',
  'unmute',
  'kick',
  'address.ban',
  'address.unban',
  'report.dismiss',
  'report.act',
  'invite.create',
  'invite.revoke',
  'registration',
  'user.create',
];
const PAGE = 50;

/** The Audit tab. */
export class AuditTab {
  constructor() {
    /** @type {number | null} */
    this.next = null;
    this.generation = 0;
    const select = $('audit-action', HTMLSelectElement);
    for (const action of ACTIONS) {
      const option = document.createElement('option');
      option.value = action;
      option.textContent = action;
      select.append(option);
    }
    $('audit-filters').addEventListener('submit', (e) => {
      e.preventDefault();
      this.load();
    });
    $('audit-more').addEventListener('click', () => this.page());
  }

  load() {
    this.next = null;
    this.generation++;
    $('audit-rows').replaceChildren();
    return this.page(true);
  }

  async page(first = false) {
    const generation = this.generation;
    const state = $('audit-state');
    state.textContent = 'Loading…';
    const query = new URLSearchParams({ limit: String(PAGE) });
    for (const name of ['actor', 'target', 'room']) {
      const value = $(`audit-${name}`, HTMLInputElement).value.trim();
      if (value) query.set(name, value);
    }
    const action = $('audit-action', HTMLSelectElement).value;
    if (action) query.set('action', action);
    if (!first && this.next !== null) query.set('before', String(this.next));
    let answer;
    try {
      answer = /** @type {{ entries: AuditEntry[], next: number | null }} */ (
        await call('GET', `admin/audit?${query}`)
      );
    } catch (e) {
      if (generation === this.generation) state.textContent = failure(e);
      return;
    }
    if (generation !== this.generation) return;
    for (const entry of answer.entries) $('audit-rows').append(row(entry));
    this.next = answer.next;
    $('audit-more').hidden = answer.next === null;
    state.textContent = $('audit-rows').childElementCount === 0 ? 'No entries.' : '';
  }
}

/** @param {AuditEntry} e */
function row(e) {
  const tr = document.createElement('tr');
  tr.dataset.id = String(e.id);
  const target = [e.target, e.room, e.message === null ? null : `message ${e.message}`]
    .filter((part) => part)
    .join(', ');
  tr.append(
    cell(when(e.ts)),
    cell(e.actor),
    cell(e.action, 'audit-action'),
    cell(target),
    cell(e.reason, 'audit-reason'),
    cell(e.detail === null || e.detail === undefined ? '' : detailText(e.detail), 'mono'),
  );
  return tr;
}

/**
 * An entry's detail as short text (JSON; the server stores it as JSON).
 * @param {unknown} detail
 */
function detailText(detail) {
  const text = typeof detail === 'string' ? detail : JSON.stringify(detail);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
