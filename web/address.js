// The page's address names the open conversation: `/#<with>` (encodeURIComponent of `all`,
// `#room` or a nick), so that a reload, a bookmark or a notification (pushed ones carry this
// as their `url`) opens it. Everyone is plain `/`.

import { nickProblem } from './login.js';
import { EVERYONE, isRoom } from './model.js';

/**
 * The address of conversation `id`.
 * @param {string} id
 */
export function convUrl(id) {
  return id === EVERYONE ? '/' : `/#${encodeURIComponent(id)}`;
}

/** The conversation the address names, or null (none, or not a conversation id). */
export function linkedConv() {
  const hash = location.hash.slice(1);
  if (hash === '') return null;
  let id;
  try {
    id = decodeURIComponent(hash);
  } catch {
    return null;
  }
  if (id === EVERYONE) return id;
  if (isRoom(id)) return id.length > 1 && !/[\s/]/.test(id) ? id : null;
  return nickProblem(id) === '' ? id : null;
}

/**
 * Makes the address name conversation `id`, without a history entry per conversation.
 * @param {string} id
 */
export function showConv(id) {
  const url = convUrl(id);
  if (location.pathname + location.hash !== url) history.replaceState(null, '', url);
}
