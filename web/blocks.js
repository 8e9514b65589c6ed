// The users we block (docs/api.md, Blocks; accounts mode): the server already keeps their
// direct messages, mentions, invitations, typing and reactions from us. Their messages in
// rooms still come, and the message list folds each into a "Message from a blocked user"
// line until it is clicked (message-list.js). Kept here for the whole page; changed by the
// message tools (Block) and the Account dialog (Unblock).

import { ApiError, call, segment } from './api.js';

/** @type {Set<string>} */
const blocked = new Set();
/** Ids of messages of blocked users that were shown on a click. */
const revealed = new Set();
/** @type {Array<() => void>} */
const listeners = [];

/**
 * Whether we block `nick`.
 * @param {string} nick
 */
export function isBlocked(nick) {
  return blocked.has(nick);
}

/** Our blocks, oldest first, as the server listed them last. */
export function blockedNicks() {
  return [...blocked];
}

/**
 * Whether message `id` of a blocked user was shown on a click.
 * @param {number} id
 */
export function isRevealed(id) {
  return revealed.has(id);
}

/**
 * Shows message `id` of a blocked user (a click on its folded line).
 * @param {number} id
 */
export function reveal(id) {
  revealed.add(id);
  changed();
}

/**
 * Calls `fn` whenever the blocks change (to render again).
 * @param {() => void} fn
 */
export function onBlocksChange(fn) {
  listeners.push(fn);
}

function changed() {
  for (const fn of listeners) fn();
}

/** Reads our blocks from the server. */
export async function loadBlocks() {
  const { blocks } = /** @type {{ blocks: Array<{ nick: string }> }} */ (
    await call('GET', 'blocks')
  );
  blocked.clear();
  for (const b of blocks) blocked.add(b.nick);
  changed();
}

/**
 * Blocks (`on`) or unblocks `nick`; returns an error message, or '' when done.
 * @param {string} nick
 * @param {boolean} on
 */
export async function setBlocked(nick, on) {
  try {
    if (on) {
      const b = /** @type {{ nick: string }} */ (await call('PUT', `blocks/${segment(nick)}`));
      blocked.add(b.nick);
    } else {
      await call('DELETE', `blocks/${segment(nick)}`);
      blocked.delete(nick);
    }
  } catch (e) {
    return ApiError.from(e).message;
  }
  changed();
  return '';
}
