// Search (`GET /api/v1/search`, docs/api.md): the box in the header (Ctrl+K or Cmd+K, and
// `/` when not typing; Escape closes), and its panel: the filters (search-filters.js: who
// sent it, which conversation), the results grouped by conversation (search-results.js),
// "More results",
// and a line that says what happens or what was searched. A result opens its conversation
// at the message (jump.js). A search runs on Enter or when a filter changes, not on every
// key: searches are rate-limited like sends.

import { ApiError, call } from './api.js';
import { box, fillFilters, readQuery } from './search-filters.js';
import { nothingFound, renderResults } from './search-results.js';
import { $ } from './view.js';

/** @typedef {import('./search-results.js').Hit} Hit */
/** @typedef {import('./search-results.js').Query} Query */
/**
 * What search needs from the page.
 * @typedef {object} SearchDeps
 * @property {import('./model.js').Model} model the people we know, and who we are
 * @property {{ joined(): string[] }} rooms the rooms we are in (Rooms)
 * @property {(id: string, byUser: boolean, at: number) => void} open shows a conversation
 *   at message `at`
 * @property {() => void} loggedOut the session is gone
 */

/** Results asked for per request (the server allows up to 100). */
const LIMIT = 20;
/**
 * A page may hold fewer results than asked while more lie further back (docs/api.md, Search:
 * the server may drop a row its index offered). Until a user action has found this many,
 * the search goes on by itself…
 */
const ENOUGH = 10;
/** …for at most this many more requests per action, then offers "More results". */
const AUTO_PAGES = 3;

/** The search box and its panel. */
export class Search {
  /** @param {SearchDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** What the results shown were searched with, or null. @type {Query | null} */
    this.query = null;
    /** @type {Hit[]} */
    this.hits = [];
    /** Ids of the results shown, so that each shows once. @type {Set<number>} */
    this.ids = new Set();
    /** Where the next page starts (an opaque cursor, sent as `before`); null when there is none. @type {string | null} */
    this.next = null;
    /** How many results there were when the last user action started. */
    this.roundStart = 0;
    this.busy = false;
    /** Bumped by each new search, so that an older one's answer is dropped. */
    this.generation = 0;
    /** Where focus was before the panel opened; it goes back there. @type {Element | null} */
    this.returnTo = null;
  }

  wire() {
    $('search').addEventListener('submit', (e) => {
      e.preventDefault();
      this.run(true);
    });
    box().addEventListener('focus', () => this.show());
    $('search-from').addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' || e.isComposing) return;
      e.preventDefault();
      this.run(true);
    });
    $('search-from').addEventListener('change', () => this.run(false));
    $('search-with').addEventListener('change', () => this.run(false));
    $('search-more').addEventListener('click', () => this.more());
    $('search-close').addEventListener('click', () => this.hide(true));
    document.addEventListener('keydown', (e) => this.key(e));
  }

  /** @param {KeyboardEvent} e */
  key(e) {
    if (e.defaultPrevented || e.isComposing || $('app').hidden) return;
    const plain = !e.ctrlKey && !e.metaKey && !e.altKey;
    if (e.key.toLowerCase() === 'k' && (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) {
      e.preventDefault();
      this.focus();
    } else if (e.key === '/' && plain && !typing(e.target)) {
      e.preventDefault();
      this.focus();
    } else if (e.key === 'Escape' && this.isOpen() && this.within(document.activeElement)) {
      // Also keeps a search box's own Escape from clearing what was typed.
      e.preventDefault();
      this.hide(true);
    }
  }

  /** True while the panel shows. */
  isOpen() {
    return !$('search-panel').hidden;
  }

  /**
   * True when `node` is the box or in the panel.
   * @param {Element | null} node
   */
  within(node) {
    return node !== null && ($('search').contains(node) || $('search-panel').contains(node));
  }

  /** Moves focus to the box (the shortcut), its text selected, and opens the panel. */
  focus() {
    if (!this.within(document.activeElement)) this.returnTo = document.activeElement;
    this.show();
    box().focus();
    box().select();
  }

  /** Opens the panel, with the filters' choices as the page knows them now. */
  show() {
    if (this.isOpen()) return;
    if (!this.within(document.activeElement)) this.returnTo = document.activeElement;
    fillFilters(this.deps.model, this.deps.rooms);
    $('search-panel').hidden = false;
  }

  /**
   * The conversation list changed (a room joined or loaded, a new person): an open panel's
   * filters offer what the page knows now, the choice kept. A panel opened before the room
   * list had loaded would otherwise never offer those rooms.
   */
  listChanged() {
    if (this.isOpen()) fillFilters(this.deps.model, this.deps.rooms);
  }

  /**
   * Closes the panel; `refocus` puts focus back where it was before it opened.
   * @param {boolean} refocus
   */
  hide(refocus) {
    $('search-panel').hidden = true;
    const back = this.returnTo;
    this.returnTo = null;
    if (!refocus) return;
    if (back instanceof HTMLElement && back.isConnected && back !== document.body) back.focus();
    else $('text').focus();
  }

  /**
   * Searches for what the box and the filters say. A filter's change searches again only
   * when something changed (`force`: on Enter, always, unless it is on its way).
   * @param {boolean} force
   */
  run(force) {
    const query = readQuery();
    const same = JSON.stringify(query) === JSON.stringify(this.query);
    if (query.q === '' || (same && (this.busy || !force))) {
      if (query.q === '')
        say('Type what to search for: words, "a phrase", pre*, from:nick, in:#room.');
      return;
    }
    this.show();
    this.generation++;
    this.query = query;
    this.hits = [];
    this.ids.clear();
    this.next = null;
    this.roundStart = 0;
    this.render();
    this.fetch(AUTO_PAGES);
  }

  /** Loads the next page of results ("More results"). */
  more() {
    if (this.busy || this.next === null) return;
    this.roundStart = this.hits.length;
    this.fetch(AUTO_PAGES);
  }

  /**
   * Asks for the next page, and goes on by itself (up to `budget` more requests) while this
   * action found fewer than ENOUGH results and the server says there may be more.
   * @param {number} budget
   */
  async fetch(budget) {
    const query = this.query;
    if (!query) return;
    const generation = this.generation;
    this.busy = true;
    this.state();
    let path = `search?q=${encodeURIComponent(query.q)}&limit=${LIMIT}`;
    if (query.from) path += `&from=${encodeURIComponent(query.from)}`;
    if (query.with) path += `&with=${encodeURIComponent(query.with)}`;
    if (this.next !== null) path += `&before=${encodeURIComponent(this.next)}`;
    let answer;
    try {
      answer = /** @type {{ results?: unknown, next?: unknown } | null} */ (
        await call('GET', path)
      );
    } catch (e) {
      const err = ApiError.from(e);
      if (generation !== this.generation) return;
      this.busy = false;
      if (err.status === 401) return this.deps.loggedOut();
      this.state(
        err.code === 'CHAT_SEARCH_INVALID'
          ? `Cannot search for that: ${err.message}.`
          : err.status === 429
            ? 'Searching too often: wait a moment, then try again.'
            : `Could not search: ${err.message}.`,
      );
      return;
    }
    if (generation !== this.generation) return;
    const results = Array.isArray(answer?.results) ? answer.results.filter(isHit) : [];
    for (const hit of results) {
      if (this.ids.has(hit.message.id)) continue;
      this.ids.add(hit.message.id);
      this.hits.push(hit);
    }
    this.next = typeof answer?.next === 'string' ? answer.next : null;
    this.busy = false;
    this.render();
    if (this.next !== null && budget > 0 && this.hits.length - this.roundStart < ENOUGH) {
      this.fetch(budget - 1);
    }
  }

  /** Renders the results and the line that says how the search went. */
  render() {
    const { model } = this.deps;
    renderResults(
      $('search-results'),
      this.hits,
      (m) => model.convIdOf(m),
      model.me,
      (conv, id) => {
        this.hide(false);
        this.deps.open(conv, true, id);
      },
    );
    this.state();
  }

  /**
   * The line over the results, and "More results".
   * @param {string} [error]
   */
  state(error = '') {
    const { query, hits, next } = this;
    const n = hits.length;
    const found = `${n} result${n === 1 ? '' : 's'}`;
    let text = error;
    if (error || !query) {
      // Said as it is (or nothing to say yet).
    } else if (this.busy) text = n === 0 ? 'Searching…' : `${found}, searching further back…`;
    else if (n > 0) text = next === null ? found : `${found} so far`;
    else {
      text = nothingFound(query, this.deps.model.me);
      if (next !== null) text = `${text.slice(0, -1)} in the newest messages searched so far.`;
    }
    say(text);
    $('search-more').hidden = this.busy || next === null;
  }
}

/**
 * Says `text` in the line over the results (a live region).
 * @param {string} text
 */
function say(text) {
  $('search-state').textContent = text;
}

/**
 * True when a key pressed in `target` is typing (so `/` is a character, not the shortcut).
 * @param {EventTarget | null} target
 */
function typing(target) {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
}

/**
 * True for a result of the documented shape.
 * @param {unknown} x
 * @returns {x is Hit}
 */
function isHit(x) {
  if (!x || typeof x !== 'object') return false;
  const { message, snippet } = /** @type {{ message?: unknown, snippet?: unknown }} */ (x);
  if (typeof snippet !== 'string' || !message || typeof message !== 'object') return false;
  const m = /** @type {Record<string, unknown>} */ (message);
  return (
    Number.isSafeInteger(m.id) &&
    typeof m.from === 'string' &&
    typeof m.to === 'string' &&
    typeof m.ts === 'number'
  );
}
