// The Users tab of the admin page: the accounts (GET /api/v1/admin/users), with each one's
// role, presence, last seen and sanctions, and the actions on them: role, ban, unban, mute,
// unmute, each confirmed with a reason (admin-confirm.js).

import { confirmAction } from './admin-confirm.js';
import {
  $,
  ago,
  button,
  cell,
  durationSelect,
  el,
  failure,
  label,
  untilText,
  when,
} from './admin-view.js';
import { call, segment } from './api.js';

/**
 * A user as the admin listing shows them (src/http/api-admin-view.ts AdminUser).
 * @typedef {object} Sanction
 * @property {string} reason
 * @property {number | null} until
 * @property {string} by
 * @property {number} since
 * @typedef {object} AdminUser
 * @property {string} nick
 * @property {string | null} displayName
 * @property {boolean} admin
 * @property {number} created
 * @property {number | null} lastSeen
 * @property {boolean} online
 * @property {Sanction | null} ban
 * @property {Sanction | null} mute
 */

/** Rows per page. */
const PAGE = 50;
const BAN_DURATIONS = /** @type {const} */ ([
  ['', 'Until lifted'],
  ['60', '1 hour'],
  ['1440', '1 day'],
  ['10080', '7 days'],
  ['43200', '30 days'],
]);
const MUTE_DURATIONS = /** @type {const} */ ([
  ['10', '10 minutes'],
  ['60', '1 hour'],
  ['1440', '1 day'],
  ['10080', '7 days'],
  ['525600', '1 year'],
]);

/** The Users tab. */
export class UsersTab {
  /** @param {string} me the signed-in admin */
  constructor(me) {
    this.me = me;
    /** @type {string | null} */
    this.next = null;
    this.q = '';
    /** Bumped by each new search, so that an older answer is dropped. */
    this.generation = 0;
    $('users-search').addEventListener('submit', (e) => {
      e.preventDefault();
      this.load($('users-q', HTMLInputElement).value.trim());
    });
    $('users-more').addEventListener('click', () => this.page());
    $('user-new').addEventListener('click', () => this.create());
  }

  /** Makes an account (POST /api/v1/admin/users), in any registration mode. */
  async create() {
    const nick = document.createElement('input');
    nick.id = 'new-nick';
    nick.autocomplete = 'off';
    nick.spellcheck = false;
    nick.maxLength = 64;
    const password = document.createElement('input');
    password.id = 'new-password';
    password.type = 'password';
    password.autocomplete = 'new-password';
    password.maxLength = 256;
    const admin = document.createElement('input');
    admin.type = 'checkbox';
    admin.id = 'new-admin';
    const adminLabel = el('label', '', ' A server admin');
    adminLabel.prepend(admin);
    const done = await confirmAction({
      title: 'Create an account',
      what: 'The account is made whatever the registration mode; tell its owner the password.',
      go: 'Create account',
      extra: [
        label('new-nick', 'Nickname'),
        nick,
        label('new-password', 'Password (at least 8 characters)'),
        password,
        adminLabel,
      ],
      act: async (reason) => {
        await call(
          'POST',
          'admin/users',
          withReason(
            { nick: nick.value.trim(), password: password.value, admin: admin.checked },
            reason,
          ),
        );
      },
    });
    if (done) {
      notice(`Account ${nick.value.trim()} created.`);
      await this.load();
    }
  }

  /** Shows the first page for `q` (all users for ''). */
  load(q = this.q) {
    this.q = q;
    this.next = null;
    this.generation++;
    $('users-rows').replaceChildren();
    return this.page(true);
  }

  /** Appends the next page. */
  async page(first = false) {
    const generation = this.generation;
    const state = $('users-state');
    state.textContent = 'Loading…';
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (this.q) query.set('q', this.q);
    if (!first && this.next) query.set('after', this.next);
    let answer;
    try {
      answer = /** @type {{ users: AdminUser[], next: string | null }} */ (
        await call('GET', `admin/users?${query}`)
      );
    } catch (e) {
      if (generation === this.generation) state.textContent = failure(e);
      return;
    }
    if (generation !== this.generation) return;
    for (const user of answer.users) $('users-rows').append(this.row(user));
    this.next = answer.next;
    $('users-more').hidden = answer.next === null;
    const n = $('users-rows').childElementCount;
    state.textContent = n === 0 ? 'Nobody found.' : `${n} user${n === 1 ? '' : 's'} shown.`;
  }

  /**
   * One user's row.
   * @param {AdminUser} u
   */
  row(u) {
    const tr = document.createElement('tr');
    tr.dataset.nick = u.nick;
    const who = document.createElement('td');
    who.append(el('strong', 'nick', u.nick));
    if (u.displayName) who.append(el('span', 'muted display', ` ${u.displayName}`));
    who.append(el('div', 'muted', `Joined ${when(u.created)}`));
    tr.append(who, cell(u.admin ? 'Admin' : 'User', u.admin ? 'role admin' : 'role'));
    const status = document.createElement('td');
    status.className = 'status';
    status.append(el('span', u.online ? 'online' : 'offline', u.online ? 'Online' : 'Offline'));
    if (u.ban) {
      status.append(
        el(
          'div',
          'sanction ban',
          `Banned ${untilText(u.ban.until)} by ${u.ban.by}: ${u.ban.reason}`,
        ),
      );
    }
    if (u.mute) {
      status.append(
        el(
          'div',
          'sanction mute',
          `Muted ${untilText(u.mute.until)} by ${u.mute.by}: ${u.mute.reason}`,
        ),
      );
    }
    tr.append(status, cell(u.online ? 'now' : ago(u.lastSeen)));
    const actions = document.createElement('td');
    actions.className = 'row-actions';
    if (u.nick !== this.me) {
      actions.append(
        button(u.admin ? 'Remove admin…' : 'Make admin…', () => this.role(u)),
        u.ban
          ? button('Unban…', () => this.unban(u))
          : button('Ban…', () => this.ban(u), 'small danger'),
        u.mute ? button('Unmute…', () => this.unmute(u)) : button('Mute…', () => this.mute(u)),
      );
    } else {
      actions.append(el('span', 'muted', 'You'));
    }
    tr.append(actions);
    return tr;
  }

  /**
   * Reads the user's row again after an action (the rest of the list stays).
   * @param {string} nick
   */
  async refresh(nick) {
    const query = new URLSearchParams({ q: nick, limit: '100' });
    const answer = /** @type {{ users: AdminUser[] }} */ (
      await call('GET', `admin/users?${query}`)
    );
    const user = answer.users.find((u) => u.nick === nick);
    const old = [...$('users-rows').children].find(
      (tr) => tr instanceof HTMLElement && tr.dataset.nick === nick,
    );
    if (user && old) old.replaceWith(this.row(user));
  }

  /** @param {AdminUser} u */
  async role(u) {
    const role = u.admin ? 'user' : 'admin';
    const done = await confirmAction({
      title: u.admin ? `Remove ${u.nick} as admin` : `Make ${u.nick} an admin`,
      what: u.admin
        ? `${u.nick} will no longer be a server admin.`
        : `${u.nick} will be a server admin: they can ban, mute and read every report and the audit log.`,
      go: u.admin ? 'Remove admin' : 'Make admin',
      act: async (reason) => {
        await call('PUT', `admin/users/${segment(u.nick)}/role`, withReason({ role }, reason));
      },
    });
    if (done)
      await this.after(u.nick, `${u.nick} is now ${role === 'admin' ? 'an admin' : 'a user'}.`);
  }

  /** @param {AdminUser} u */
  async ban(u) {
    const duration = durationSelect('ban-minutes', BAN_DURATIONS);
    const purge = document.createElement('input');
    purge.type = 'checkbox';
    purge.id = 'ban-delete';
    const purgeLabel = label('ban-delete', ' Also delete their messages');
    purgeLabel.prepend(purge);
    purgeLabel.htmlFor = '';
    const done = await confirmAction({
      title: `Ban ${u.nick}`,
      what: `${u.nick} will be signed out everywhere and cannot sign in until the ban ends.`,
      go: 'Ban',
      danger: true,
      reasonRequired: true,
      extra: [label('ban-minutes', 'For'), duration, purgeLabel],
      act: async (reason) => {
        /** @type {{ reason: string, deleteMessages: boolean, minutes?: number }} */
        const body = { reason, deleteMessages: purge.checked };
        if (duration.value) body.minutes = Number(duration.value);
        await call('POST', `admin/users/${segment(u.nick)}/ban`, body);
      },
    });
    if (done) await this.after(u.nick, `${u.nick} is banned.`);
  }

  /** @param {AdminUser} u */
  async unban(u) {
    const done = await confirmAction({
      title: `Unban ${u.nick}`,
      what: `${u.nick} will be able to sign in again.`,
      go: 'Unban',
      act: async (reason) => {
        await call('DELETE', `admin/users/${segment(u.nick)}/ban`, withReason({}, reason));
      },
    });
    if (done) await this.after(u.nick, `${u.nick} is no longer banned.`);
  }

  /** @param {AdminUser} u */
  async mute(u) {
    const duration = durationSelect('mute-minutes', MUTE_DURATIONS);
    duration.value = '60';
    const done = await confirmAction({
      title: `Mute ${u.nick}`,
      what: `${u.nick} will not be able to send, edit or react until the mute ends.`,
      go: 'Mute',
      danger: true,
      reasonRequired: true,
      extra: [label('mute-minutes', 'For'), duration],
      act: async (reason) => {
        await call('POST', `admin/users/${segment(u.nick)}/mute`, {
          reason,
          minutes: Number(duration.value),
        });
      },
    });
    if (done) await this.after(u.nick, `${u.nick} is muted.`);
  }

  /** @param {AdminUser} u */
  async unmute(u) {
    const done = await confirmAction({
      title: `Unmute ${u.nick}`,
      what: `${u.nick} will be able to send again.`,
      go: 'Unmute',
      act: async (reason) => {
        await call('DELETE', `admin/users/${segment(u.nick)}/mute`, withReason({}, reason));
      },
    });
    if (done) await this.after(u.nick, `${u.nick} is no longer muted.`);
  }

  /**
   * After an action: says so, and reads the row again.
   * @param {string} nick
   * @param {string} text
   */
  async after(nick, text) {
    notice(text);
    await this.refresh(nick).catch(() => this.load());
  }
}

/**
 * `body` with `reason` when one was given (an optional reason is left out when empty).
 * @template {object} T
 * @param {T} body
 * @param {string} reason
 */
export function withReason(body, reason) {
  return reason ? { ...body, reason } : body;
}

/**
 * Shows a line of news at the top of the page.
 * @param {string} text
 */
export function notice(text) {
  const p = $('admin-notice');
  p.textContent = text;
  p.hidden = text === '';
}
