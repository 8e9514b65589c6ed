// The confirmation dialog every admin action goes through (admin.html #confirm): it says what
// is about to happen, holds the reason (and any extra fields, such as a duration), and runs
// the action itself, so that a refusal (a target who is an admin, a report closed meanwhile)
// is shown in the dialog, which stays open.

import { $, failure } from './admin-view.js';

/** Longest reason the server takes (domain/audit.ts MAX_REASON_CHARS). */
export const MAX_REASON = 500;

/**
 * What to confirm.
 * @typedef {object} Confirmation
 * @property {string} title e.g. "Ban alice"
 * @property {string} what what will happen, in a sentence
 * @property {string} go the confirm button's text
 * @property {boolean} [reasonRequired] the action is refused without a reason
 * @property {boolean} [noReason] the action takes no reason (the field is hidden)
 * @property {boolean} [danger] the confirm button is red
 * @property {HTMLElement[]} [extra] fields shown above the reason
 * @property {(reason: string) => Promise<void>} act runs the action; its rejection is shown
 */

/** @type {((done: boolean) => void) | null} */
let pending = null;
/** @type {Confirmation | null} */
let current = null;

/**
 * Opens the dialog; resolves true once the action succeeded, false when cancelled.
 * @param {Confirmation} c
 * @returns {Promise<boolean>}
 */
export function confirmAction(c) {
  const dialog = $('confirm', HTMLDialogElement);
  if (pending) pending(false);
  current = c;
  $('confirm-title').textContent = c.title;
  $('confirm-what').textContent = c.what;
  $('confirm-extra').replaceChildren(...(c.extra ?? []));
  const reason = $('confirm-reason', HTMLInputElement);
  reason.value = '';
  reason.required = c.reasonRequired === true;
  reason.hidden = c.noReason === true;
  $('confirm-reason-label').hidden = c.noReason === true;
  $('confirm-reason-label').textContent = c.reasonRequired
    ? 'Reason (required)'
    : 'Reason (optional)';
  $('confirm-error').textContent = '';
  const go = $('confirm-go', HTMLButtonElement);
  go.textContent = c.go;
  go.className = c.danger ? 'danger primary' : 'primary';
  go.disabled = false;
  dialog.showModal();
  (c.noReason ? go : reason).focus();
  return new Promise((resolve) => {
    pending = resolve;
  });
}

/** @param {boolean} done */
function finish(done) {
  const resolve = pending;
  pending = null;
  current = null;
  $('confirm', HTMLDialogElement).close();
  resolve?.(done);
}

/** Wires the dialog's buttons once (admin.js). */
export function initConfirm() {
  const dialog = $('confirm', HTMLDialogElement);
  $('confirm-cancel').addEventListener('click', () => finish(false));
  // Escape closes the dialog: the action was not confirmed.
  dialog.addEventListener('close', () => {
    if (pending) finish(false);
  });
  $('confirm-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const c = current;
    if (!c) return;
    const reason = $('confirm-reason', HTMLInputElement).value.trim();
    const error = $('confirm-error');
    if (c.reasonRequired && reason === '') {
      error.textContent = 'Please give a reason: it is kept in the audit log.';
      return;
    }
    if ([...reason].length > MAX_REASON) {
      error.textContent = `A reason is at most ${MAX_REASON} characters.`;
      return;
    }
    const go = $('confirm-go', HTMLButtonElement);
    go.disabled = true;
    error.textContent = '';
    try {
      await c.act(reason);
    } catch (err) {
      error.textContent = failure(err);
      go.disabled = false;
      return;
    }
    if (current === c) finish(true);
  });
}
