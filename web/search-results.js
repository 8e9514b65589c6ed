// The search panel's results (search.js runs the searches): grouped by conversation, each a
// button with its sender, time and snippet, and the sentence that says what was searched.
// A snippet is the server's HTML: the message's text escaped, its matches in <mark>. It is
// parsed in an inert template and shown only if <mark> is all it holds (else as plain text),
// so nothing a message says can become markup here, whatever the server sends.

import { EVERYONE, isRoom } from './model.js';
import { avatar, el, part, reconcile, srOnly } from './view.js';

/** @typedef {import('./conversation.js').Message} Message */
/**
 * One result: a message the reader may see, and its text around the matches (HTML).
 * @typedef {import('../src/http/api-types.js').ApiSearchResult} Hit
 */
/**
 * What was searched: the query as typed and the filters (empty when not set).
 * @typedef {{ q: string, from: string, with: string }} Query
 */

/**
 * How a conversation is named: Everyone, #room, or the other person of a DM.
 * @param {string} id
 * @param {string} me
 */
export function convName(id, me) {
  if (id === EVERYONE) return 'Everyone';
  if (isRoom(id)) return id;
  return id === me ? 'Notes to yourself' : id;
}

/**
 * The sentence for a search that found nothing: `No messages match "foo" from bob in #dev.`
 * @param {Query} query
 * @param {string} me
 */
export function nothingFound(query, me) {
  let said = `No messages match "${query.q}"`;
  if (query.from) said += ` from ${query.from}`;
  if (query.with === EVERYONE || isRoom(query.with)) said += ` in ${convName(query.with, me)}`;
  else if (query.with === me) said += ' in your notes to yourself';
  else if (query.with) said += ` with ${query.with}`;
  return `${said}.`;
}

/**
 * Renders `hits` into `box`, one group per conversation in the order each first appears
 * (the server's: relevance and recency). Nodes already there stay, so focus on a result
 * survives the next page.
 * @param {HTMLElement} box
 * @param {readonly Hit[]} hits
 * @param {(message: Message) => string} convOf the conversation id of a message
 * @param {string} me
 * @param {(conv: string, id: number) => void} open opens a result in its conversation
 */
export function renderResults(box, hits, convOf, me, open) {
  /** @type {Map<string, Hit[]>} */
  const groups = new Map();
  for (const hit of hits) {
    const id = convOf(hit.message);
    const list = groups.get(id);
    if (list) list.push(hit);
    else groups.set(id, [hit]);
  }
  reconcile(
    box,
    [...groups].map(([id, list]) => ({
      key: id,
      create: () => {
        const section = el('section', 'search-group');
        section.dataset.conv = id;
        const title = el('h3');
        title.append(avatar(id), el('span', '', convName(id, me)));
        if (id !== EVERYONE && !isRoom(id) && id !== me) title.append(srOnly(', direct messages'));
        section.append(title, el('ul'));
        return section;
      },
      update: (section) => {
        reconcile(
          part(section, 'ul'),
          list.map((hit) => ({
            key: String(hit.message.id),
            create: () => hitNode(hit, id, me, open),
          })),
        );
      },
    })),
  );
}

/**
 * One result: a button that opens the message in its conversation.
 * @param {Hit} hit
 * @param {string} conv
 * @param {string} me
 * @param {(conv: string, id: number) => void} open
 */
function hitNode({ message, snippet }, conv, me, open) {
  const li = el('li');
  const button = el('button', 'search-hit');
  button.type = 'button';
  button.dataset.id = String(message.id);
  const meta = el('span', 'meta');
  const when = new Date(message.ts);
  const time = el('time', '', when.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }));
  time.dateTime = when.toISOString();
  meta.append(el('span', 'from', message.from === me ? 'You' : message.from), time);
  const text = el('span', 'snippet');
  text.append(snippetNodes(snippet));
  button.append(meta, text);
  button.addEventListener('click', () => open(conv, message.id));
  li.append(button);
  return li;
}

/**
 * The server's snippet as nodes: text and <mark> elements without attributes, and nothing
 * else. Anything more (which the server never sends) shows as the plain text it holds.
 * @param {string} html
 * @returns {DocumentFragment}
 */
export function snippetNodes(html) {
  // A template's content is inert: nothing in it loads or runs while it is checked.
  const template = document.createElement('template');
  template.innerHTML = html;
  /** @param {Node} node */
  const isText = (node) => node.nodeType === Node.TEXT_NODE;
  const safe = [...template.content.childNodes].every(
    (node) =>
      isText(node) ||
      (node.nodeName === 'MARK' &&
        /** @type {Element} */ (node).attributes.length === 0 &&
        [...node.childNodes].every(isText)),
  );
  if (safe) return document.importNode(template.content, true);
  const fragment = document.createDocumentFragment();
  fragment.append(template.content.textContent ?? '');
  return fragment;
}
