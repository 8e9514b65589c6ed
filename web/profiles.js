// Display names and avatars (docs/api.md, Profiles). Renderers mark what shows a user with
// `data-avatar` (the round badge, view.js avatar) or `data-name` (a name): this module fills
// them in from GET /users/<nick>, read once per nick, and again after a `profile` event or a
// reconnect. A display name is shown with the nick beside it, never instead of it, so that a
// name that looks like someone else's cannot pass for them. Open mode has no profiles: the
// page keeps the badges it draws (the initial on a colour from the nick).

import { call, segment } from './api.js';
import { el } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiProfile} ApiProfile */
/** @typedef {import('../src/http/api-types.js').ApiProfileEvent} ApiProfileEvent */

/** Most profiles kept; beyond, the cache starts over (each costs a GET when shown again). */
const MAX_CACHED = 2000;

/** The profiles of the users the page shows, kept up to date. */
export class Profiles {
  /**
   * @param {boolean} enabled accounts mode: users have profiles
   * @param {HTMLElement} root what to watch for marked nodes
   */
  constructor(enabled, root) {
    this.enabled = enabled;
    /** @type {Map<string, ApiProfileEvent | null>} null: asked, not answered yet */
    this.known = new Map();
    this.root = root;
    if (!enabled) return;
    this.observer = new MutationObserver((records) => {
      for (const r of records) {
        for (const node of r.addedNodes) if (node instanceof HTMLElement) this.decorate(node);
      }
    });
    this.observer.observe(root, { childList: true, subtree: true });
    this.decorate(root);
  }

  /** Stops watching (the page is left). */
  stop() {
    this.observer?.disconnect();
  }

  /**
   * The profile of `nick`, if read already.
   * @param {string} nick
   */
  get(nick) {
    return this.known.get(nick) ?? undefined;
  }

  /**
   * A `profile` event, or an answer: shows it wherever the user is shown.
   * @param {ApiProfileEvent} profile
   */
  set(profile) {
    if (this.known.size >= MAX_CACHED) this.known.clear();
    this.known.set(profile.nick, profile);
    for (const node of this.marked(this.root, profile.nick)) this.apply(node, profile);
  }

  /** After a reconnect: the events missed meanwhile are not replayed, so read again. */
  refresh() {
    if (!this.enabled) return;
    const nicks = [...this.known.keys()];
    this.known.clear();
    for (const nick of nicks) this.load(nick);
  }

  /**
   * Fills in every marked node under `node` (itself included).
   * @param {HTMLElement} node
   */
  decorate(node) {
    for (const n of this.marked(node)) {
      const nick = n.dataset.avatar ?? n.dataset.name ?? '';
      const p = this.known.get(nick);
      if (p) this.apply(n, p);
      else if (p === undefined) this.load(nick);
    }
  }

  /**
   * Reads a profile once; a nick without an account stays as drawn.
   * @param {string} nick
   */
  load(nick) {
    if (!this.enabled || nick === '' || this.known.has(nick)) return;
    this.known.set(nick, null);
    call('GET', `users/${segment(nick)}`).then(
      (answer) => {
        const p = /** @type {ApiProfile} */ (answer);
        // Keyed by the nick as the page wrote it (the answer's may differ in letter case).
        this.set({ nick, displayName: p.displayName, avatar: p.avatar });
      },
      () => {},
    );
  }

  /**
   * The marked nodes under `root`, of one nick or all.
   * @param {HTMLElement} root
   * @param {string} [nick]
   * @returns {HTMLElement[]}
   */
  marked(root, nick) {
    const sel = nick === undefined ? '[data-avatar],[data-name]' : null;
    /** @type {HTMLElement[]} */
    const out = [];
    if (root.matches?.('[data-avatar],[data-name]')) out.push(root);
    for (const n of root.querySelectorAll(sel ?? '[data-avatar],[data-name]')) {
      if (n instanceof HTMLElement) out.push(n);
    }
    return nick === undefined
      ? out
      : out.filter((n) => (n.dataset.avatar ?? n.dataset.name) === nick);
  }

  /**
   * Shows `p` in one marked node.
   * @param {HTMLElement} node
   * @param {ApiProfileEvent} p
   */
  apply(node, p) {
    if (node.dataset.avatar !== undefined) {
      node.querySelector('img')?.remove();
      node.classList.toggle('pictured', p.avatar !== null);
      if (p.avatar !== null) {
        const img = el('img');
        img.alt = '';
        img.src = p.avatar;
        img.loading = 'lazy';
        img.decoding = 'async';
        node.append(img);
      }
      return;
    }
    const nick = node.dataset.name ?? '';
    const label = node.dataset.label ?? nick;
    if (p.displayName === null || p.displayName === nick) {
      node.textContent = label;
      return;
    }
    // The name as text (never markup), and the nick beside it.
    node.textContent = '';
    node.append(el('span', 'display-name', p.displayName), el('span', 'nick-aside', label));
  }
}
