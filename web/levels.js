// Notification levels (docs/api.md, GET and PUT /api/v1/notify): per conversation, all
// messages, mentions only, or nothing, else the default of its kind (DMs all, rooms and
// Everyone mentions); and whether notifications on a lock screen hide the text. The menu of
// the open conversation is in its header, the lock-screen setting with the other settings.
// `notify` events bring changes made in another tab or device.

import { ApiError, call } from './api.js';
import { EVERYONE, isRoom } from './model.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiNotifyLevel} Level */
/** @typedef {'direct' | 'room' | 'all'} Kind */
/**
 * What the levels need from the page.
 * @typedef {object} LevelsDeps
 * @property {import('../src/http/api-types.js').ApiAuthMode} auth in open mode anyone may
 *   claim a nick, so mentions never notify
 * @property {() => string} active the id of the open conversation
 * @property {(text: string) => void} notify says something in the notice line
 */

/** The defaults the server documents, until it says otherwise. @type {Record<Kind, Level>} */
const DEFAULTS = { direct: 'all', room: 'mentions', all: 'mentions' };
/** @type {Record<Level, string>} */
const NAMES = { all: 'All messages', mentions: 'Mentions', none: 'Nothing' };

/**
 * True for a level the server may send.
 * @param {unknown} x
 * @returns {x is Level}
 */
const isLevel = (x) => x === 'all' || x === 'mentions' || x === 'none';

/**
 * The kind of conversation `id`, whose default level applies.
 * @param {string} id
 * @returns {Kind}
 */
const kindOf = (id) => (id === EVERYONE ? 'all' : isRoom(id) ? 'room' : 'direct');

/** The user's notification levels and the lock-screen setting. */
export class Levels {
  /** @param {LevelsDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** Levels set per conversation. @type {Map<string, Level>} */
    this.levels = new Map();
    this.defaults = { ...DEFAULTS };
    this.hideText = false;
    this.mentionsNotify = deps.auth === 'accounts';
  }

  wire() {
    $('conv-level').addEventListener('change', () => {
      const value = $('conv-level', HTMLSelectElement).value;
      this.set(this.deps.active(), isLevel(value) ? value : null);
    });
    $('hide-text').addEventListener('change', () => {
      this.setHideText($('hide-text', HTMLInputElement).checked);
    });
  }

  /** Reads the levels from the server (at every hello: changes made meanwhile are in). */
  async load() {
    let answer;
    try {
      answer = /** @type {Record<string, unknown> | null} */ (await call('GET', 'notify'));
    } catch {
      return; // An older server: the documented defaults hold.
    }
    if (!answer) return;
    this.levels.clear();
    const levels = /** @type {Record<string, unknown>} */ (answer.levels ?? {});
    for (const [id, level] of Object.entries(levels))
      if (isLevel(level)) this.levels.set(id, level);
    const defaults = /** @type {Record<string, unknown>} */ (answer.defaults ?? {});
    for (const kind of /** @type {Kind[]} */ (['direct', 'room', 'all'])) {
      const level = defaults[kind];
      if (isLevel(level)) this.defaults[kind] = level;
    }
    if (typeof answer.hideText === 'boolean') this.hideText = answer.hideText;
    if (typeof answer.mentionsNotify === 'boolean') this.mentionsNotify = answer.mentionsNotify;
    this.render();
  }

  /**
   * The level that applies to conversation `id`.
   * @param {string} id
   * @returns {Level}
   */
  level(id) {
    return this.levels.get(id) ?? this.defaults[kindOf(id)];
  }

  /**
   * Whether a message (or, `edit`, an edit) in conversation `id` notifies (docs/api.md, "Who
   * gets notified"); `mentioned`: it mentions the user (an edit: newly). The sender is
   * never notified: the caller leaves out our own.
   * @param {string} id
   * @param {boolean} mentioned
   * @param {boolean} edit
   */
  passes(id, mentioned, edit) {
    const level = this.level(id);
    if (level === 'none') return false;
    if (level === 'all' && !edit) return true;
    return mentioned && this.mentionsNotify;
  }

  /**
   * Sets the level of conversation `id` (null: back to the default).
   * @param {string} id
   * @param {Level | null} level
   */
  async set(id, level) {
    const before = this.levels.get(id) ?? null;
    this.put(id, level);
    try {
      await call('PUT', 'notify', { with: id, level });
    } catch (e) {
      this.put(id, before);
      this.deps.notify(`Could not change the notifications: ${ApiError.from(e).message}.`);
    }
  }

  /**
   * Sets whether notifications hide the text.
   * @param {boolean} hide
   */
  async setHideText(hide) {
    const before = this.hideText;
    this.hideText = hide;
    try {
      await call('PUT', 'notify', { hideText: hide });
    } catch (e) {
      this.hideText = before;
      this.render();
      this.deps.notify(`Could not change the setting: ${ApiError.from(e).message}.`);
    }
  }

  /**
   * @param {string} id
   * @param {Level | null} level
   */
  put(id, level) {
    if (level) this.levels.set(id, level);
    else this.levels.delete(id);
    this.render();
  }

  /**
   * A `notify` event: a level or the lock-screen setting changed (in any tab or device).
   * @param {unknown} data
   */
  onEvent(data) {
    const e = /** @type {Record<string, unknown>} */ (data ?? {});
    if (typeof e.hideText === 'boolean') {
      this.hideText = e.hideText;
      this.render();
    } else if (typeof e.with === 'string' && (e.level === null || isLevel(e.level))) {
      this.put(e.with, e.level);
    }
  }

  /** Shows the open conversation's level in its menu, and the lock-screen setting. */
  render() {
    const id = this.deps.active();
    const select = $('conv-level', HTMLSelectElement);
    const fallback = select.querySelector('option[value="default"]');
    if (fallback) fallback.textContent = `Default (${NAMES[this.defaults[kindOf(id)]]})`;
    select.value = this.levels.get(id) ?? 'default';
    $('hide-text', HTMLInputElement).checked = this.hideText;
  }
}
