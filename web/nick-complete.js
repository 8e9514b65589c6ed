// Nick completion in the message box: after an `@`, a list of the people of the open
// conversation whose nick starts with what follows (a room's members, a DM's peer, those
// online for Everyone). Up and Down choose, Enter or Tab take the choice, Escape closes; a
// click takes one too. The box is an ARIA combobox whose listbox is #mention-list.

import { ApiError, call } from './api.js';
import { foldNick } from './mentions.js';
import { EVERYONE, isRoom } from './model.js';
import { roomPath } from './rooms.js';
import { $, el, reconcile } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiRoomView} ApiRoomView */
/**
 * What completion needs from the page.
 * @typedef {object} NickCompleteDeps
 * @property {import('./model.js').Model} model who is online, and who we are
 * @property {() => string} active the id of the open conversation
 */

/** Most nicks the list shows. */
const MAX_SHOWN = 8;
/** A room's member list is read again after this long. */
const MEMBERS_TTL_MS = 30_000;
/** What is being completed: an `@` that may start a mention, and the nick typed so far. */
const TYPED = /(?:^|[^\p{L}\p{N}_])@([^\s\p{C}\p{Z}/?#%+:,<>"'&`\\@]*)$/u;

/** The completion list of the message box. */
export class NickComplete {
  /** @param {NickCompleteDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** Nicks shown, and which is chosen. @type {string[]} */
    this.shown = [];
    this.chosen = 0;
    /** Where the `@` being completed is in the box. */
    this.start = -1;
    this.generation = 0;
    /** Room members read lately: room → nicks and when. @type {Map<string, { nicks: string[], at: number }>} */
    this.members = new Map();
  }

  wire() {
    const box = text();
    box.setAttribute('role', 'combobox');
    box.setAttribute('aria-autocomplete', 'list');
    box.setAttribute('aria-controls', 'mention-list');
    box.setAttribute('aria-expanded', 'false');
    box.setAttribute('aria-multiline', 'true');
    box.addEventListener('input', () => this.update());
    box.addEventListener('click', () => this.update());
    box.addEventListener('blur', () => this.close());
    // Capture: this runs before the composer's own keys (Enter sends, Escape ends an edit),
    // and a key the list takes goes no further.
    box.addEventListener('keydown', (e) => this.key(e), { capture: true });
  }

  /** True while the list shows. */
  get isOpen() {
    return !$('mention-list').hidden;
  }

  /** @param {KeyboardEvent} e */
  key(e) {
    if (!this.isOpen || e.isComposing) return;
    const n = this.shown.length;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      this.chosen = (this.chosen + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.render();
    } else if ((e.key === 'Enter' && !e.shiftKey) || (e.key === 'Tab' && !e.shiftKey)) {
      this.take(this.shown[this.chosen] ?? '');
    } else if (e.key === 'Escape') {
      this.close();
    } else {
      return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
  }

  /** Opens, updates or closes the list for what precedes the caret. */
  async update() {
    const box = text();
    const caret = box.selectionStart;
    const match = box.selectionEnd === caret ? TYPED.exec(box.value.slice(0, caret)) : null;
    const generation = ++this.generation;
    if (!match) return this.close();
    const typed = foldNick(match[1] ?? '');
    this.start = caret - (match[1] ?? '').length - 1;
    const nicks = await this.candidates(this.deps.active());
    if (generation !== this.generation) return;
    const me = foldNick(this.deps.model.me);
    const found = nicks.filter((n) => foldNick(n) !== me && foldNick(n).startsWith(typed));
    found.sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' }));
    if (found.length === 0) return this.close();
    const keep = this.shown[this.chosen];
    this.shown = found.slice(0, MAX_SHOWN);
    this.chosen = Math.max(0, keep === undefined ? 0 : this.shown.indexOf(keep));
    $('mention-list').hidden = false;
    box.setAttribute('aria-expanded', 'true');
    this.render();
  }

  /**
   * The people of conversation `id` one may mention.
   * @param {string} id
   * @returns {Promise<string[]>}
   */
  async candidates(id) {
    const { model } = this.deps;
    if (id === EVERYONE) return [...model.online];
    if (!isRoom(id)) return [id];
    const kept = this.members.get(id);
    if (kept && Date.now() - kept.at < MEMBERS_TTL_MS) return kept.nicks;
    try {
      const view = /** @type {ApiRoomView | null} */ (await call('GET', roomPath(id)));
      const nicks = (view?.members ?? []).map((m) => m.user);
      this.members.set(id, { nicks, at: Date.now() });
      return nicks;
    } catch (e) {
      if (ApiError.from(e).status === -1) throw e;
      return kept?.nicks ?? [];
    }
  }

  /**
   * Puts `@nick ` in place of what was typed after the `@`.
   * @param {string} nick
   */
  take(nick) {
    const box = text();
    const end = box.selectionStart;
    if (!nick || this.start < 0 || this.start > end) return this.close();
    const inserted = `@${nick} `;
    box.value = box.value.slice(0, this.start) + inserted + box.value.slice(end);
    const caret = this.start + inserted.length;
    box.setSelectionRange(caret, caret);
    this.close();
    // The composer grows the box and says we are typing.
    box.dispatchEvent(new Event('input'));
  }

  close() {
    this.generation++;
    this.shown = [];
    this.chosen = 0;
    this.start = -1;
    $('mention-list').hidden = true;
    text().setAttribute('aria-expanded', 'false');
    text().removeAttribute('aria-activedescendant');
  }

  render() {
    const list = $('mention-list');
    reconcile(
      list,
      this.shown.map((nick, i) => ({
        key: nick,
        create: () => {
          const li = el('div', 'option', `@${nick}`);
          li.setAttribute('role', 'option');
          // mousedown, not click: the box keeps focus (a blur would close the list first).
          li.addEventListener('mousedown', (e) => {
            e.preventDefault();
            this.take(nick);
          });
          return li;
        },
        update: (li) => {
          li.id = `mention-option-${i}`;
          li.setAttribute('aria-selected', String(i === this.chosen));
        },
      })),
    );
    text().setAttribute('aria-activedescendant', `mention-option-${this.chosen}`);
  }
}

/** The message box. */
function text() {
  return $('text', HTMLTextAreaElement);
}
