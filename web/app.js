// The page's entry: the chat page of the session's user (chat.js), or the login form
// (login.js); and, across this browser's tabs, one session: a login or logout in one tab
// reaches the others, which follow.

import { ApiError, call } from './api.js';
import { Chat } from './chat.js';
import { rememberMode, showLogin } from './login.js';

/** @typedef {import('../src/http/api-types.js').ApiSession} ApiSession */
/** @typedef {import('../src/http/api-types.js').ApiAuthMode} ApiAuthMode */

// Logins and logouts in one tab reach the others, which follow (one cookie per browser).
const sessions =
  typeof BroadcastChannel === 'function' ? new BroadcastChannel('ssechat-session') : null;

/** @type {Chat | null} */
let chat = null;

/**
 * Tells this browser's other tabs that the session changed.
 * @param {{ t: 'login', user: string } | { t: 'logout' }} message
 */
const tellTabs = (message) => sessions?.postMessage(message);

/**
 * Opens the page of `user`, who just logged in (login.js), here and in the other tabs.
 * @param {string} user
 * @param {ApiAuthMode} auth
 * @param {string} [notice]
 */
function enter(user, auth, notice = '') {
  rememberMode(auth);
  tellTabs({ t: 'login', user });
  chat = new Chat(user, auth, tellTabs);
  chat.start(notice);
  // The sign-in's answer said whether the user is an admin; the session says it again.
  call('GET', 'session').then(
    (s) => showAdminLink(Object(s)),
    () => {},
  );
}

/**
 * Shows the link to the admins' page (/admin) to server admins only; the page and its API
 * check again.
 * @param {object} session the answer of GET /api/v1/session
 */
function showAdminLink(session) {
  const link = document.getElementById('admin-link');
  const admin = 'admin' in session && session.admin === true;
  if (link) link.hidden = !admin;
  // Admins moderate every report: the Reports button shows for them (mod-queue.js).
  chat?.modQueue?.setAdmin(admin);
}

if (sessions) {
  sessions.onmessage = (e) => {
    const m = e.data;
    // Another tab logged in or out: this browser's cookie changed, follow it.
    if (m?.t === 'logout' && chat) {
      chat.leave();
    } else if (m?.t === 'login' && (!chat || chat.me !== m.user)) {
      if (chat) chat.leave();
      else location.replace('/');
    }
  };
}

/** Opens the page of the session's user, or the login form when there is none. */
async function boot() {
  let session;
  try {
    session = /** @type {ApiSession} */ (await call('GET', 'session'));
  } catch (e) {
    const err = ApiError.from(e);
    showLogin(enter, err.status === 401 ? '' : `Cannot reach the server: ${err.message}.`);
    return;
  }
  chat = new Chat(session.user, session.auth, tellTabs);
  rememberMode(session.auth);
  showAdminLink(session);
  chat.start('');
}

// The module is deferred: the DOM is ready.
boot();
