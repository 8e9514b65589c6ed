// The server admins' page (/admin): tabs Users, Invites, Reports, Audit and Health over the
// admin API (docs/api.md, Admin). Who may see it is the server's decision: the page asks the
// session, shows "Admins only" to anyone else, and every call it makes is checked again.

import { AuditTab } from './admin-audit.js';
import { initConfirm } from './admin-confirm.js';
import { HealthTab } from './admin-health.js';
import { InvitesTab } from './admin-invites.js';
import { ReportsTab } from './admin-reports.js';
import { notice, UsersTab } from './admin-users.js';
import { $ } from './admin-view.js';
import { ApiError, call } from './api.js';

const TABS = /** @type {const} */ (['users', 'invites', 'reports', 'audit', 'health']);

/**
 * Shows the message that replaces the page (not signed in, not an admin, no server).
 * @param {string} text
 * @param {boolean} [link] with a link to the chat's sign-in
 */
function only(text, link = false) {
  const state = $('admin-state');
  state.textContent = text;
  if (link) {
    const a = document.createElement('a');
    a.href = '/';
    a.textContent = 'Sign in';
    state.append(' ', a);
  }
  $('admin').hidden = true;
}

async function boot() {
  let session;
  try {
    session = /** @type {{ user: string, auth: string, admin?: boolean }} */ (
      await call('GET', 'session')
    );
  } catch (e) {
    const err = ApiError.from(e);
    if (err.status === 401) only('Admins only. You are not signed in.', true);
    else only(`Cannot reach the server: ${err.message}.`);
    return;
  }
  if (session.admin !== true) {
    only('Admins only.');
    return;
  }
  document.addEventListener('admin-lost', (e) => {
    const signedOut = e instanceof CustomEvent && e.detail === 401;
    $('admin-state').hidden = false;
    only(signedOut ? 'Admins only. You are not signed in.' : 'Admins only.', signedOut);
  });
  $('admin-state').hidden = true;
  $('admin').hidden = false;
  $('admin-me').textContent = session.user;
  initConfirm();
  const health = new HealthTab();
  /** @type {Record<(typeof TABS)[number], { load(): unknown }>} */
  const tabs = {
    users: new UsersTab(session.user),
    invites: new InvitesTab(),
    reports: new ReportsTab(),
    audit: new AuditTab(),
    health,
  };
  /** @param {(typeof TABS)[number]} name */
  const show = (name) => {
    for (const t of TABS) {
      const on = t === name;
      $(`tab-${t}`).setAttribute('aria-selected', String(on));
      $(`tab-${t}`).tabIndex = on ? 0 : -1;
      $(`panel-${t}`).hidden = !on;
    }
    if (name !== 'health') health.stop();
    notice('');
    tabs[name].load();
    if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  };
  for (const t of TABS) {
    $(`tab-${t}`).addEventListener('click', () => show(t));
    // Arrow keys move between the tabs (the WAI-ARIA tabs pattern).
    $(`tab-${t}`).addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      const i = TABS.indexOf(t) + (e.key === 'ArrowRight' ? 1 : TABS.length - 1);
      const next = TABS[i % TABS.length] ?? 'users';
      show(next);
      $(`tab-${next}`).focus();
    });
  }
  const start = TABS.find((t) => location.hash === `#${t}`) ?? 'users';
  show(start);
}

// The module is deferred: the DOM is ready.
boot();
