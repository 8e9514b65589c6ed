// Small DOM and text helpers of the admin page (admin.html). Every piece of user data goes in
// with textContent (el), never as HTML.

import { ApiError } from './api.js';

export { $, el } from './view.js';

/**
 * A time as the admin reads it: local date and time to the minute; '—' for none.
 * @param {number | null | undefined} ms
 */
export function when(ms) {
  if (!ms) return '—';
  return new Date(ms).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/**
 * How long ago `ms` was, roughly ("3 min ago", "2 h ago", "5 days ago"); '—' for none.
 * @param {number | null | undefined} ms
 * @param {number} [now]
 */
export function ago(ms, now = Date.now()) {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86_400);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

/**
 * Until when a sanction lasts, in words.
 * @param {number | null} until ms since the epoch; null (or 0) until lifted
 */
export function untilText(until) {
  return until === null || until === 0 ? 'until lifted' : `until ${when(until)}`;
}

/**
 * What went wrong, for a line under a form: the server's message and code.
 * @param {unknown} e
 */
export function failure(e) {
  const err = ApiError.from(e);
  // No longer an admin (demoted, or signed out meanwhile): the page says so and shows nothing.
  if (err.code === 'AUTH_ADMIN_ONLY' || err.status === 401) {
    document.dispatchEvent(new CustomEvent('admin-lost', { detail: err.status }));
  }
  return err.status === 0 ? 'Cannot reach the server.' : `${err.message} (${err.code})`;
}

/**
 * A <select> of durations.
 * @param {string} id
 * @param {ReadonlyArray<readonly [string, string]>} options value (minutes, '' for none) and label
 */
export function durationSelect(id, options) {
  const select = document.createElement('select');
  select.id = id;
  for (const [value, label] of options) {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = label;
    select.append(option);
  }
  return select;
}

/**
 * A label for a control made by code.
 * @param {string} forId
 * @param {string} text
 */
export function label(forId, text) {
  const node = document.createElement('label');
  node.htmlFor = forId;
  node.textContent = text;
  return node;
}

/**
 * A table cell with text.
 * @param {string} text
 * @param {string} [className]
 */
export function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/**
 * A small button.
 * @param {string} text
 * @param {() => void} onClick
 * @param {string} [className]
 */
export function button(text, onClick, className = 'small') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}
