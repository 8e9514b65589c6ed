// The search panel's query: the box in the header, and the filters: who sent the message
// ("From": a nick, the people the page knows offered to choose from) and where ("In":
// everywhere, Everyone, a room we are in, or the direct messages with someone).

import { EVERYONE, isRoom } from './model.js';
import { convName } from './search-results.js';
import { $, el } from './view.js';

/** @typedef {import('./search-results.js').Query} Query */

/** The search box. */
export function box() {
  return $('search-q', HTMLInputElement);
}

/**
 * What the box and the filters say now.
 * @returns {Query}
 */
export function readQuery() {
  return {
    q: box().value.trim(),
    from: $('search-from', HTMLInputElement).value.trim(),
    with: $('search-with', HTMLSelectElement).value,
  };
}

/**
 * Offers the people the page knows (for "From") and the conversations we are in (for "In");
 * what is chosen stays chosen.
 * @param {import('./model.js').Model} model
 * @param {{ joined(): string[] }} rooms
 */
export function fillFilters(model, rooms) {
  const people = [...new Set([model.me, ...model.directList()])];
  $('search-people').replaceChildren(...people.map((nick) => option(nick, nick)));
  const select = $('search-with', HTMLSelectElement);
  const chosen = select.value;
  const ids = [EVERYONE, ...rooms.joined(), ...people];
  if (chosen && !ids.includes(chosen)) ids.push(chosen);
  /** @param {string} id */
  const label = (id) =>
    id === EVERYONE || isRoom(id) || id === model.me
      ? convName(id, model.me)
      : `${id} (direct messages)`;
  select.replaceChildren(
    option('', 'All conversations'),
    ...ids.map((id) => option(id, label(id))),
  );
  select.value = chosen;
}

/**
 * @param {string} value
 * @param {string} label
 */
function option(value, label) {
  const node = el('option', '', label);
  node.value = value;
  return node;
}
