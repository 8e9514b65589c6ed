// Reactions under a message: a row of chips ("👍 2", highlighted when we are among them, their
// title says who), a click on one adds or takes back ours, and the small picker the React
// button (message-tools.js) opens. History pages bring each message's summary; the `reaction`
// events that the server sends to whoever sees the message keep it up to date (applyReaction).
// Everything is text: an emoji or a nick never reaches innerHTML.

import { ApiError, call } from './api.js';
import { el, part } from './view.js';

/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./conversation.js').Message} Message */
/** @typedef {import('../src/domain/events.js').ReactionSummary} ReactionSummary */
/** @typedef {import('../src/http/api-types.js').ApiReaction} ApiReaction */
/** @typedef {import('../src/http/api-types.js').ApiReactions} ApiReactions */
/**
 * What reactions need from the page.
 * @typedef {object} ReactionsDeps
 * @property {string} me the signed-in user
 * @property {(conv: Conversation) => void} renderIf renders `conv` if it is shown
 * @property {(text: string) => void} notify says something in the notice line
 * @property {() => void} loggedOut the session is gone
 */

/** The picker's emoji: the common ones (the server takes any single emoji). */
export const PICKS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];

/** Most nicks a history summary names per emoji (MAX_REACTION_USERS on the server). */
const MAX_USERS = 20;

/** The summary each row shows, so that an unchanged message costs nothing. */
const shown = new WeakMap();

/**
 * The reactions of `m` after `event` (one user added or took back one emoji), or null when it
 * changes nothing (a replay of what a history page already counted). A summary names at most
 * MAX_USERS users: one not named may still be counted, so a removal of such a user lowers the
 * count while there are more counted than named.
 * @param {readonly ReactionSummary[]} list
 * @param {ApiReaction} event
 * @returns {ReactionSummary[] | null}
 */
export function reacted(list, event) {
  const at = list.findIndex((r) => r.emoji === event.emoji);
  const found = at === -1 ? undefined : list[at];
  const named = found?.users.includes(event.from) ?? false;
  if (event.on) {
    if (named) return null;
    if (!found) return [...list, { emoji: event.emoji, count: 1, users: [event.from] }];
    const users = found.users.length < MAX_USERS ? [...found.users, event.from] : found.users;
    return list.map((r, i) => (i === at ? { ...r, count: r.count + 1, users } : r));
  }
  if (!found || (!named && found.count <= found.users.length)) return null;
  if (found.count <= 1) return list.filter((_, i) => i !== at);
  const users = found.users.filter((u) => u !== event.from);
  return list.map((r, i) => (i === at ? { ...r, count: r.count - 1, users } : r));
}

/**
 * Sets message `id`'s reactions in `conv` (a copy of the message, so the view sees a new
 * one); false when the page does not hold it or it was deleted. A message loaded later brings
 * its reactions from history.
 * @param {Conversation} conv
 * @param {number} id
 * @param {readonly ReactionSummary[]} reactions
 */
export function setReactions(conv, id, reactions) {
  const m = conv.byId.get(id);
  if (!m || m.deleted) return false;
  const { reactions: _, ...rest } = m;
  conv.byId.set(id, reactions.length > 0 ? { ...rest, reactions } : rest);
  conv.sorted = null;
  return true;
}

/** The chips under messages and the picker. */
export class Reactions {
  /** @param {ReactionsDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** The message whose picker is open, or 0. */
    this.picking = 0;
  }

  /**
   * Applies a `reaction` event to the conversation that holds its message; returns it when
   * something changed.
   * @param {Conversation | undefined} conv
   * @param {ApiReaction} event
   */
  onEvent(conv, event) {
    const m = conv?.byId.get(event.message);
    if (!conv || !m) return null;
    const next = reacted(m.reactions ?? [], event);
    return next && setReactions(conv, m.id, next) ? conv : null;
  }

  /**
   * Brings the reactions row of message node `li` up to date.
   * @param {HTMLElement} li
   * @param {Conversation} conv
   * @param {Message} m
   */
  update(li, conv, m) {
    const picking = this.picking === m.id && !m.deleted;
    const list = m.deleted ? [] : (m.reactions ?? []);
    const key = `${picking}`;
    const row = part(li, '.reactions');
    if (shown.get(row) === list && row.dataset.picking === key) return;
    shown.set(row, list);
    row.dataset.picking = key;
    row.replaceChildren();
    for (const r of list) {
      const mine = r.users.includes(this.deps.me);
      const chip = el('button', mine ? 'chip mine' : 'chip');
      chip.type = 'button';
      chip.append(el('span', 'emoji', r.emoji), el('span', 'count', String(r.count)));
      const more = r.count > r.users.length ? ` and ${r.count - r.users.length} more` : '';
      chip.title = `${r.users.join(', ')}${more}`;
      chip.setAttribute('aria-pressed', String(mine));
      chip.setAttribute('aria-label', `${r.emoji} ${r.count}: ${chip.title}`);
      chip.addEventListener('click', () => this.toggle(conv, m.id, r.emoji, !mine));
      row.append(chip);
    }
    if (picking) row.append(this.picker(conv, m));
  }

  /**
   * The picker of message `m`: one button per emoji of PICKS.
   * @param {Conversation} conv
   * @param {Message} m
   */
  picker(conv, m) {
    const box = el('span', 'picker');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', 'Pick a reaction');
    for (const emoji of PICKS) {
      const button = el('button', 'pick', emoji);
      button.type = 'button';
      const mine = (m.reactions ?? []).some(
        (r) => r.emoji === emoji && r.users.includes(this.deps.me),
      );
      button.setAttribute('aria-label', `React with ${emoji}`);
      button.addEventListener('click', () => {
        this.picking = 0;
        this.toggle(conv, m.id, emoji, !mine);
      });
      box.append(button);
    }
    return box;
  }

  /**
   * Opens the picker of message `m` (or closes it when open).
   * @param {Conversation} conv
   * @param {Message} m
   */
  pick(conv, m) {
    this.picking = this.picking === m.id ? 0 : m.id;
    this.deps.renderIf(conv);
    if (this.picking) {
      const li = [...document.querySelectorAll('#messages li.msg')].find(
        (n) => n instanceof HTMLElement && n.dataset.key === `m:${m.id}`,
      );
      const first = li?.querySelector('.reactions .pick');
      if (first instanceof HTMLElement) first.focus();
    }
  }

  /**
   * Adds (`on`) or takes back our reaction `emoji` on message `id`; the answer's summary is
   * shown at once (the `reaction` event then changes nothing).
   * @param {Conversation} conv
   * @param {number} id
   * @param {string} emoji
   * @param {boolean} on
   */
  async toggle(conv, id, emoji, on) {
    let answer;
    try {
      answer = /** @type {ApiReactions} */ (
        await call(on ? 'PUT' : 'DELETE', `messages/${id}/reactions/${encodeURIComponent(emoji)}`)
      );
    } catch (e) {
      const err = ApiError.from(e);
      if (err.status === 401) this.deps.loggedOut();
      this.deps.notify(`Could not react: ${err.message}.`);
      this.deps.renderIf(conv);
      return;
    }
    setReactions(conv, id, answer.reactions);
    this.deps.renderIf(conv);
  }
}
