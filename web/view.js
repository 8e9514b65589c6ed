// DOM building. Every piece of text from a user goes in with textContent or a text node,
// never as HTML. Links are elements we build, and only for http: and https: URLs (links.js).
// The message list is message-list.js, the conversation list sidebar.js.

import { EVERYONE, isRoom } from './model.js';

/** Number of avatar colours in style.css (.c0 to .c7). */
const COLOURS = 8;

/**
 * The element with id `id` (the page's fixed elements, index.html), checked to be a `type`
 * (HTMLElement unless given), so that a page without it fails here and not at some later use.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{ new (): T, readonly name: string }} [type]
 * @returns {T}
 */
export function $(id, type) {
  const node = document.getElementById(id);
  const want = type ?? HTMLElement;
  if (!(node instanceof want)) throw new Error(`#${id} is not an element of type ${want.name}`);
  return /** @type {T} */ (node);
}

/**
 * The descendant of `node` that `selector` finds: one that the code that built `node` put
 * there, so its absence is a bug.
 * @param {ParentNode} node
 * @param {string} selector
 * @returns {HTMLElement}
 */
export function part(node, selector) {
  const found = node.querySelector(selector);
  if (!(found instanceof HTMLElement)) throw new Error(`no ${selector} in the node`);
  return found;
}

/**
 * A new element with a class and, optionally, text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Text visible to screen readers only.
 * @param {string} text
 */
export function srOnly(text) {
  return el('span', 'sr-only', text);
}

/**
 * One child that reconcile keeps: made by `create` when its key is new, brought up to date
 * by `update` on every render.
 * @typedef {object} Keyed
 * @property {string} key
 * @property {() => HTMLElement} create
 * @property {(node: HTMLElement) => void} [update]
 */

/**
 * Makes `parent`'s children the nodes of `items`, in order, reusing the node of each key
 * that is already there. A node that is already in place is not moved, so focus and
 * selection inside it survive.
 * @param {HTMLElement} parent
 * @param {Keyed[]} items
 */
export function reconcile(parent, items) {
  /** @type {Map<string | undefined, HTMLElement>} */
  const existing = new Map();
  for (const node of parent.children) {
    if (node instanceof HTMLElement) existing.set(node.dataset.key, node);
  }
  let cursor = parent.firstElementChild;
  for (const item of items) {
    let node = existing.get(item.key);
    if (node) existing.delete(item.key);
    else {
      node = item.create();
      node.dataset.key = item.key;
    }
    item.update?.(node);
    if (node === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
  for (const node of existing.values()) node.remove();
}

/**
 * A stable colour class for a nick's avatar.
 * @param {string} nick
 */
function colour(nick) {
  let h = 0;
  for (const ch of nick) h = (h * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return `c${h % COLOURS}`;
}

/**
 * The round badge before a name: its first letter in its colour, '#' for rooms and everyone.
 * @param {string} nick a nick, a room ('#name') or EVERYONE
 */
export function avatar(nick) {
  const room = isRoom(nick);
  const node = el(
    'span',
    `avatar ${nick === EVERYONE ? 'everyone' : colour(nick)}${room ? ' room' : ''}`,
  );
  node.setAttribute('aria-hidden', 'true');
  node.textContent = nick === EVERYONE || room ? '#' : ([...nick][0]?.toUpperCase() ?? '');
  // A user's picture, if they have one, goes over the initial (profiles.js).
  if (nick !== EVERYONE && !room) node.dataset.avatar = nick;
  return node;
}
