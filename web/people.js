// The People dialog (accounts mode): the registered users, found by nickname or display name
// (GET /users?q=), with who is online; choosing one opens a conversation with them. Each
// other user has Block (or Unblock) beside them (blocks.js).

import { ApiError, call } from './api.js';
import { isBlocked, setBlocked } from './blocks.js';
import { $, avatar, el } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiDirectory} ApiDirectory */

/** How long typing pauses before the list is asked for, in ms. */
const DEBOUNCE_MS = 200;

/** The People dialog. */
export class People {
  /**
   * @param {object} deps
   * @param {(id: string, byUser: boolean) => void} deps.open opens a conversation
   * @param {(p: ApiDirectory['users'][number]) => void} deps.seen a profile read here
   * @param {string} deps.me the signed-in user (who cannot block themself)
   */
  constructor(deps) {
    this.deps = deps;
    /** The `after` of the next page, null at the end. @type {string | null} */
    this.next = null;
    this.timer = 0;
    /** Counts requests, so that a late answer to an older search is dropped. */
    this.asked = 0;
  }

  wire() {
    const dialog = $('people', HTMLDialogElement);
    $('people-open').hidden = false;
    $('people-open').addEventListener('click', () => {
      dialog.showModal();
      void this.load(false);
    });
    $('people-close').addEventListener('click', () => dialog.close());
    $('people-search').addEventListener('submit', (e) => e.preventDefault());
    $('people-q').addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.load(false), DEBOUNCE_MS);
    });
    $('people-more').addEventListener('click', () => void this.load(true));
  }

  /**
   * Reads the first page for the search, or the next one (`more`).
   * @param {boolean} more
   */
  async load(more) {
    const q = $('people-q', HTMLInputElement).value.trim();
    const params = new URLSearchParams({ q, limit: '50' });
    if (more && this.next !== null) params.set('after', this.next);
    const asked = ++this.asked;
    $('people-state').textContent = 'Loading…';
    try {
      const page = /** @type {ApiDirectory} */ (await call('GET', `users?${params}`));
      if (asked !== this.asked) return;
      const list = $('people-list');
      if (!more) list.replaceChildren();
      for (const user of page.users) {
        this.deps.seen(user);
        list.append(this.row(user));
      }
      this.next = page.next;
      $('people-more').hidden = page.next === null;
      $('people-state').textContent = list.children.length === 0 ? 'Nobody found.' : '';
    } catch (e) {
      if (asked === this.asked) $('people-state').textContent = `${ApiError.from(e).message}.`;
    }
  }

  /**
   * One person: badge, name and nick, online dot; a click opens the conversation.
   * @param {ApiDirectory['users'][number]} user
   */
  row(user) {
    const li = el('li');
    const button = el('button');
    button.type = 'button';
    const dot = el('span', user.online ? 'dot online' : 'dot');
    dot.setAttribute('aria-hidden', 'true');
    const name = el('span', 'name', user.nick);
    name.dataset.name = user.nick;
    button.append(
      avatar(user.nick),
      name,
      dot,
      el('span', 'sr-only', user.online ? ', online' : ', offline'),
    );
    button.addEventListener('click', () => {
      $('people', HTMLDialogElement).close();
      this.deps.open(user.nick, true);
    });
    li.append(button);
    if (user.nick !== this.deps.me) li.append(this.blockButton(user.nick));
    return li;
  }

  /**
   * Block or Unblock `nick`; they are not told (docs/api.md, Blocks).
   * @param {string} nick
   */
  blockButton(nick) {
    const block = el('button', 'quiet small block');
    block.type = 'button';
    const label = () => {
      const text = isBlocked(nick) ? 'Unblock' : 'Block';
      block.textContent = text;
      block.setAttribute('aria-label', `${text} ${nick}`);
    };
    label();
    block.addEventListener('click', async () => {
      const error = await setBlocked(nick, !isBlocked(nick));
      $('people-state').textContent = error ? `${error}.` : '';
      label();
    });
    return block;
  }
}
