// The "Account" area of the sidebar (docs/api.md, "Your account"): a download of the user's
// data, and, in accounts mode, deleting the account after asking for the password and a
// confirmation. Other account settings (password, profile) live beside it in their own files.

import { ApiError } from './api.js';
import { $ } from './view.js';

/**
 * What the account area needs from the page.
 * @typedef {object} AccountDeps
 * @property {string} me the signed-in user
 * @property {'open' | 'accounts'} auth the server's mode: only accounts can be deleted
 * @property {(question: string) => boolean} confirm asks the user (window.confirm)
 * @property {() => void} deleted the account is gone: back to the sign-in form
 */

/** The API path of the export (fetched, not via call(): its answer is a file). */
const EXPORT_PATH = '/api/v1/account/export';

/** "Export my data" and "Delete my account" (the profile and password are in account.js). */
export class AccountData {
  /** @param {AccountDeps} deps */
  constructor(deps) {
    this.deps = deps;
  }

  wire() {
    $('account-export').addEventListener('click', () => this.export());
    $('account-delete').hidden = this.deps.auth !== 'accounts';
    $('account-delete').addEventListener('submit', (e) => {
      e.preventDefault();
      this.remove();
    });
  }

  /** Downloads the export as a file, or says why not. */
  async export() {
    const button = $('account-export', HTMLButtonElement);
    const note = $('account-export-note');
    button.disabled = true;
    note.textContent = 'Preparing your data…';
    try {
      const res = await fetch(EXPORT_PATH, { credentials: 'same-origin' });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        throw new ApiError(
          res.status,
          body?.error?.code ?? `HTTP_${res.status}`,
          body?.error?.message ?? `the server answered ${res.status}`,
        );
      }
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download =
        fileName(res.headers.get('Content-Disposition')) ?? `ssechat-${this.deps.me}.json`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      note.textContent = 'Your data was downloaded.';
    } catch (e) {
      const err = ApiError.from(e);
      note.textContent =
        err.code === 'CHAT_RATE_LIMITED'
          ? 'You exported a moment ago; try again in a minute.'
          : `Could not export: ${err.message}.`;
    } finally {
      button.disabled = false;
    }
  }

  /** Deletes the account, once the user gave the password and confirmed. */
  async remove() {
    const password = $('account-delete-password', HTMLInputElement);
    const error = $('account-delete-error');
    error.textContent = '';
    if (password.value === '') {
      error.textContent = 'Enter your password.';
      return;
    }
    const question = `Delete the account ${this.deps.me}? Your sessions end at once, and this cannot be undone.`;
    if (!this.deps.confirm(question)) return;
    const button = $('account-delete-go', HTMLButtonElement);
    button.disabled = true;
    try {
      // Not call(): a 401 here is a wrong password, not a lost session.
      const res = await fetch('/api/v1/account', {
        method: 'DELETE',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ password: password.value }),
      });
      if (res.status !== 204) {
        const body = await res.json().catch(() => null);
        const code = body?.error?.code;
        error.textContent =
          code === 'AUTH_FAILED'
            ? 'That is not your password.'
            : `Could not delete the account: ${body?.error?.message ?? res.status}.`;
        return;
      }
    } catch {
      error.textContent = 'Could not reach the server; nothing was deleted.';
      return;
    } finally {
      button.disabled = false;
    }
    password.value = '';
    this.deps.deleted();
  }
}

/**
 * The file name of a Content-Disposition header (its plain `filename="…"`), or null.
 * @param {string | null} header
 */
function fileName(header) {
  const match = header && /filename="([^"]+)"/.exec(header);
  return match ? (match[1] ?? null) : null;
}
