// Getting in. One form serves both server modes; the page asks which one the server runs
// (GET /api/v1/server, no login needed) as the form opens, and shapes the form to it:
//
// - accounts: "Sign in" logs in with nick and password; "Register" creates the account.
// - open: any nickname, no password. "Sign in" works with the nick alone (a password, if
//   typed, is not sent); "Register" gets 404 AUTH_ACCOUNTS_ONLY, and the page then joins
//   with the nickname, saying that this server has no accounts.
//
// Who may register (accounts mode) is the server's registrationMode: open; invite (Register
// needs an invite link, /?invite=<code>: the form keeps the code in a hidden field and says
// "You were invited"); closed (only admins make accounts: no Register button).
//
// Every answer tells the mode too; the page remembers it in localStorage and shapes the form
// to it at once on the next visit (open: no password field; accounts: password required),
// and while GET /server is on its way or could not be read.

import { ApiError, call } from './api.js';
import { EVERYONE } from './model.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiSession} ApiSession */
/** @typedef {import('../src/http/api-types.js').ApiRegistered} ApiRegistered */
/** @typedef {import('../src/http/api-types.js').ApiAuthMode} ApiAuthMode */
/** @typedef {import('../src/http/api-types.js').ApiServerInfo} ApiServerInfo */
/**
 * Opens the page of `user` once the session is open, saying `notice` (app.js).
 * @typedef {(user: string, auth: ApiAuthMode, notice?: string) => void} Enter
 */

const MODE_KEY = 'ssechat:auth';
// The server's nick rule (src/domain/input.ts), checked here too so a bad name gets its reason.
const NICK_FORBIDDEN = /[\s\p{C}\p{Z}/?#%+:,<>"'&`\\]/u;

/**
 * The server's mode as last seen by this browser: 'open', 'accounts' or null.
 * @returns {ApiAuthMode | null}
 */
export function knownMode() {
  try {
    const mode = localStorage.getItem(MODE_KEY);
    return mode === 'open' || mode === 'accounts' ? mode : null;
  } catch {
    return null;
  }
}

/**
 * Remembers the server's mode for the next visit's form.
 * @param {ApiAuthMode} mode
 */
export function rememberMode(mode) {
  try {
    localStorage.setItem(MODE_KEY, mode);
  } catch {
    // Not remembered: the form shows both fields next time.
  }
}

/**
 * Why `nick` cannot be a nickname, or '' when it can (the server has the last word).
 * @param {string} nick
 */
export function nickProblem(nick) {
  if (nick === '') return 'Enter a nickname.';
  const bad = NICK_FORBIDDEN.exec(nick);
  if (bad) {
    return bad[0].trim()
      ? `A nickname cannot contain "${bad[0]}".`
      : 'A nickname cannot contain spaces or control characters.';
  }
  if (nick.toLowerCase() === EVERYONE) return '"all" means everyone; pick another name.';
  return '';
}

const INVITE_KEY = 'ssechat:invite';
/** Longest invite code the page keeps (the server's MAX_INVITE_CODE_LENGTH). */
const MAX_INVITE_LENGTH = 128;

/**
 * The invite code of this visit: taken from `?invite=` (and then out of the address bar, so
 * that it is not bookmarked or shared by accident; kept for this tab's reloads), or ''.
 */
function takeInvite() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('invite');
  if (fromUrl !== null) {
    params.delete('invite');
    const query = params.toString();
    history.replaceState(
      null,
      '',
      `${location.pathname}${query ? `?${query}` : ''}${location.hash}`,
    );
    if (fromUrl !== '' && fromUrl.length <= MAX_INVITE_LENGTH) {
      try {
        sessionStorage.setItem(INVITE_KEY, fromUrl);
      } catch {
        // Kept in the form only.
      }
      return fromUrl;
    }
  }
  try {
    return sessionStorage.getItem(INVITE_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Forgets the invite: it was used (or the user signed in instead). */
function dropInvite() {
  $('invite-code', HTMLInputElement).value = '';
  try {
    sessionStorage.removeItem(INVITE_KEY);
  } catch {
    // Nothing kept.
  }
}

/**
 * Shapes the form to the mode this browser knows the server runs in, and who may register
 * (undefined while unknown).
 * @param {ApiAuthMode | null} mode
 * @param {ApiServerInfo['registrationMode']} [registration]
 */
function shapeForm(mode, registration) {
  const form = $('login');
  const invited = $('invite-code', HTMLInputElement).value !== '';
  form.dataset.mode = mode ?? 'unknown';
  form.dataset.registration = registration ?? 'unknown';
  $('password-row').hidden = mode === 'open';
  $('password', HTMLInputElement).required = mode === 'accounts';
  const noSignup =
    mode === 'accounts' && (registration === 'closed' || (registration === 'invite' && !invited));
  $('register').hidden = mode === 'open' || noSignup;
  $('signin').textContent = mode === 'open' ? 'Join' : 'Sign in';
  $('password', HTMLInputElement).autocomplete = invited ? 'new-password' : 'current-password';
  $('login-hint').textContent =
    mode === 'open'
      ? 'This server has no accounts: pick any nickname to join.'
      : registration === 'closed'
        ? 'Registration is closed on this server: sign in, or ask an admin for an account.'
        : invited
          ? 'You were invited! Choose a nickname and a password of at least 8 characters, then Register.'
          : registration === 'invite'
            ? 'Registration on this server needs an invite link: sign in, or open the link you were sent.'
            : mode === 'accounts'
              ? 'New here? Choose a nickname and a password of at least 8 characters, then Register.'
              : 'New here? Choose Register. On a server without accounts a nickname is enough.';
}

/**
 * Shows the login view; calls `enter(user, auth, notice)` once the session is open. `error`
 * is shown at once (e.g. the server could not be reached).
 * @param {Enter} enter
 * @param {string} [error]
 */
export function showLogin(enter, error = '') {
  document.title = 'ssechat';
  $('app').hidden = true;
  $('login-view').hidden = false;
  $('invite-code', HTMLInputElement).value = takeInvite();
  shapeForm(knownMode());
  call('GET', 'server').then(
    (answer) => {
      const { auth, registrationMode } = /** @type {ApiServerInfo} */ (answer);
      rememberMode(auth);
      shapeForm(auth, registrationMode);
    },
    () => {},
  );
  $('login-error').textContent = error;
  const form = $('login');
  form.onsubmit = async (e) => {
    e.preventDefault();
    const register = e.submitter?.id === 'register';
    const nick = $('nick', HTMLInputElement).value.trim().normalize('NFC');
    const password = $('password', HTMLInputElement).value;
    const problem = nickProblem(nick);
    if (problem) return fail(problem, 'nick');
    if (register && password.length < 8) {
      return fail('Choose a password of at least 8 characters.', 'password');
    }
    setBusy(true);
    try {
      const { user, auth, notice } = register
        ? await registerOrJoin(nick, password)
        : await signIn(nick, password);
      rememberMode(auth);
      $('password', HTMLInputElement).value = '';
      dropInvite();
      enter(user, auth, notice);
    } catch (e) {
      const err = ApiError.from(e);
      fail(explain(err, register), err.code === 'AUTH_FAILED' ? 'password' : 'nick');
    } finally {
      setBusy(false);
    }
  };
  $(knownMode() === 'accounts' && $('nick', HTMLInputElement).value ? 'password' : 'nick').focus();
}

/**
 * Signs in as `nick` (with `password` when the server has accounts).
 * @param {string} nick
 * @param {string} password
 */
async function signIn(nick, password) {
  const mode = knownMode();
  const body = mode === 'open' || password === '' ? { nick } : { nick, password };
  try {
    const reply = /** @type {ApiSession} */ (await call('POST', 'session', body));
    const notice =
      reply.auth === 'open' && password !== ''
        ? 'This server has no accounts: your password was not needed, and anyone may use any nickname.'
        : '';
    return { user: reply.user, auth: reply.auth, notice };
  } catch (err) {
    // A nick alone was refused: the server has accounts.
    if (ApiError.from(err).code === 'AUTH_FAILED') {
      rememberMode('accounts');
      shapeForm('accounts');
      if (password === '') throw new ApiError(401, 'AUTH_PASSWORD_NEEDED', '');
    }
    throw err;
  }
}

/**
 * Registers `nick`; on a server without accounts, joins with it instead.
 * @param {string} nick
 * @param {string} password
 * @returns {Promise<{ user: string, auth: ApiAuthMode, notice: string }>}
 */
async function registerOrJoin(nick, password) {
  try {
    const invite = $('invite-code', HTMLInputElement).value;
    const body = invite ? { nick, password, invite } : { nick, password };
    const reply = /** @type {ApiRegistered} */ (await call('POST', 'users', body));
    return { user: reply.user, auth: 'accounts', notice: '' };
  } catch (err) {
    if (ApiError.from(err).code !== 'AUTH_ACCOUNTS_ONLY') throw err;
  }
  rememberMode('open');
  shapeForm('open');
  const reply = /** @type {ApiSession} */ (await call('POST', 'session', { nick }));
  return {
    user: reply.user,
    auth: reply.auth,
    notice: 'This server has no accounts: nothing was registered, and anyone may use any nickname.',
  };
}

/**
 * What the login form says about `err`.
 * @param {ApiError} err
 * @param {boolean} register
 */
function explain(err, register) {
  switch (err.code) {
    case 'AUTH_PASSWORD_NEEDED':
      return 'This server has accounts: enter your password, or Register.';
    case 'AUTH_FAILED':
      return 'Wrong nickname or password.';
    case 'AUTH_NICK_TAKEN':
      return 'This nickname is already registered. Sign in, or pick another.';
    case 'AUTH_INVITE_INVALID':
      return `This invite link cannot be used (${err.message.replace(/^this invite cannot be used: /, '')}). Ask for a new one.`;
    case 'AUTH_INVITE_REQUIRED':
      return 'Registration on this server needs an invite link. Open the link you were sent.';
    case 'AUTH_REGISTRATION_CLOSED':
      return 'Registration is closed on this server. Ask an admin for an account.';
    case 'NETWORK':
      return 'Cannot reach the server. Check your connection and try again.';
    default:
      return register
        ? `Could not register: ${err.message}.`
        : `Could not sign in: ${err.message}.`;
  }
}

/**
 * Says `message` and moves focus to the field at fault.
 * @param {string} message
 * @param {'nick' | 'password'} field
 */
function fail(message, field) {
  $('login-error').textContent = message;
  $(field === 'password' && !$('password-row').hidden ? 'password' : 'nick').focus();
}

/**
 * Disables the buttons while a request is on its way.
 * @param {boolean} busy
 */
function setBusy(busy) {
  for (const id of ['signin', 'register']) $(id, HTMLButtonElement).disabled = busy;
  $('login').setAttribute('aria-busy', String(busy));
}
