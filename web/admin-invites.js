// The Invites tab of the admin page: invite links (GET/POST /api/v1/admin/invites, DELETE
// /api/v1/admin/invites/<id>) and the registration mode (GET /api/v1/server, PUT
// /api/v1/admin/registration), each change confirmed (admin-confirm.js).

import { confirmAction } from './admin-confirm.js';
import { notice, withReason } from './admin-users.js';
import { $, button, cell, durationSelect, failure, label, when } from './admin-view.js';
import { call, segment } from './api.js';

/**
 * An invite as the server lists it (no code).
 * @typedef {object} Invite
 * @property {string} id
 * @property {number} maxUses
 * @property {number} uses
 * @property {number} expires
 * @property {number} created
 * @property {string} createdBy
 * @property {string} [status] active, expired, used or revoked
 */

const MODES = /** @type {const} */ ([
  ['open', 'Anyone may register'],
  ['invite', 'Registration needs an invite link'],
  ['closed', 'Registration is closed'],
]);

/** The Invites tab. */
export class InvitesTab {
  constructor() {
    $('invite-new').addEventListener('click', () => this.create());
    $('invite-copy').addEventListener('click', () => this.copy());
    $('invites-more').addEventListener('click', () => this.page());
    /** @type {string | null} */
    this.next = null;
    this.generation = 0;
    /** @type {string | null} */
    this.mode = null;
  }

  /** Shows the registration mode and the first page of invites. */
  load() {
    this.next = null;
    this.generation++;
    $('invites-rows').replaceChildren();
    this.showMode();
    return this.page(true);
  }

  /** Appends the next page of invites (newest first). */
  async page(first = false) {
    const generation = this.generation;
    const state = $('invites-state');
    state.textContent = 'Loading…';
    const query = new URLSearchParams({ limit: '50' });
    if (!first && this.next) query.set('before', this.next);
    /** @type {{ invites?: Invite[], next?: string | null }} */
    let answer;
    try {
      answer = Object(await call('GET', `admin/invites?${query}`));
    } catch (e) {
      if (generation === this.generation) state.textContent = failure(e);
      return;
    }
    if (generation !== this.generation) return;
    for (const invite of answer.invites ?? []) $('invites-rows').append(this.row(invite));
    this.next = answer.next ?? null;
    $('invites-more').hidden = this.next === null;
    state.textContent = $('invites-rows').childElementCount === 0 ? 'No invite links yet.' : '';
  }

  /** Shows the registration mode, with a button to change it. */
  async showMode() {
    const box = $('registration-mode');
    /** @type {{ mode?: string, stored?: string | null } | null} */
    let modes = null;
    try {
      modes = /** @type {{ mode?: string, stored?: string | null }} */ (
        await call('GET', 'admin/registration')
      );
    } catch {
      modes = null;
    }
    this.mode = modes?.mode ?? null;
    const shown = MODES.find(([m]) => m === this.mode);
    box.replaceChildren();
    if (!shown) return;
    const from = modes?.stored ? '' : ' (from --registration)';
    box.append(
      `${shown[1]}${from}. `,
      button('Change…', () => this.changeMode()),
    );
  }

  async changeMode() {
    const select = durationSelect('registration-select', MODES);
    select.value = this.mode ?? 'open';
    const done = await confirmAction({
      title: 'Registration',
      what: 'Who may create an account on this server. The setting is kept in the database and wins over --registration.',
      go: 'Change',
      extra: [label('registration-select', 'Registration'), select],
      act: async (reason) => {
        await call('PUT', 'admin/registration', withReason({ mode: select.value }, reason));
      },
    });
    if (done) {
      notice('Registration mode changed.');
      await this.showMode();
    }
  }

  /** @param {Invite} i */
  row(i) {
    const tr = document.createElement('tr');
    tr.dataset.id = i.id;
    const status = i.status ?? '';
    tr.append(
      cell(i.id, 'mono'),
      cell(status, `invite-status ${status}`),
      cell(`${i.uses} of ${i.maxUses}`),
      cell(when(i.expires)),
      cell(`${when(i.created)} by ${i.createdBy}`),
    );
    const actions = document.createElement('td');
    if (status === 'active')
      actions.append(button('Revoke…', () => this.revoke(i), 'small danger'));
    tr.append(actions);
    return tr;
  }

  async create() {
    const uses = document.createElement('input');
    uses.id = 'invite-uses';
    uses.type = 'number';
    uses.min = '1';
    uses.max = '1000';
    uses.value = '1';
    const hours = durationSelect('invite-hours', [
      ['24', '1 day'],
      ['168', '7 days'],
      ['720', '30 days'],
      ['8760', '1 year'],
    ]);
    hours.value = '168';
    /** @type {{ url?: string } | null} */
    let made = null;
    const done = await confirmAction({
      title: 'New invite link',
      what: 'Anyone with the link can register, as many times as it allows, until it expires.',
      go: 'Create link',
      noReason: true,
      extra: [
        label('invite-uses', 'Uses (1 to 1000)'),
        uses,
        label('invite-hours', 'Expires after'),
        hours,
      ],
      act: async () => {
        const maxUses = Number(uses.value);
        if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > 1000) {
          throw new Error('uses must be a whole number from 1 to 1000');
        }
        made = /** @type {{ url?: string }} */ (
          await call('POST', 'admin/invites', { maxUses, expiresInHours: Number(hours.value) })
        );
      },
    });
    if (!done || !made) return;
    const url = /** @type {{ url?: string }} */ (made).url ?? '';
    $('invite-made').hidden = false;
    $('invite-url', HTMLInputElement).value = url;
    notice('Invite link created: copy it now, it is not shown again.');
    await this.load();
  }

  async copy() {
    const input = $('invite-url', HTMLInputElement);
    try {
      await navigator.clipboard.writeText(input.value);
      notice('Link copied.');
    } catch {
      input.select();
      notice('Select the link and copy it.');
    }
  }

  /** @param {Invite} i */
  async revoke(i) {
    const done = await confirmAction({
      title: 'Revoke invite link',
      what: `Invite ${i.id} will stop working at once.`,
      go: 'Revoke',
      danger: true,
      act: async (reason) => {
        await call('DELETE', `admin/invites/${segment(i.id)}`, withReason({}, reason));
      },
    });
    if (done) {
      notice('Invite link revoked.');
      await this.load();
    }
  }
}
