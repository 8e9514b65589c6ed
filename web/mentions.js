// Mentions in message text: the server resolves `@nick` against who can see the message and
// lists the nicks it found on the message (`mentions`, docs/api.md); the page shows those, and
// only those, as mentions, the user's own as a highlight. Finding them in the text follows the
// server's rule (issue 19 spec, mentionCandidates): an `@` at the start or after a character
// that is not a letter, digit or `_`, then a run of nick characters, with or without its
// trailing punctuation. Matching is ASCII case-insensitive, as nicks are.

import { el } from './view.js';

/** Characters that end a run of nick characters (besides white space and controls). */
const NOT_NICK = /[\s\p{C}\p{Z}/?#%+:,<>"'&`\\@]/u;
/** An `@` may start a mention unless it follows one of these (as in an e-mail address). */
const WORD = /[\p{L}\p{N}_]/u;
/**
 * Punctuation that may end a run without belonging to the nick ("thanks @bob."), and the
 * formatting marks around a mention ("**@bob**", markdown.js).
 */
const TRAILING = /[.!?;)\]}'"…*_~]+$/u;

/**
 * `s` with its ASCII letters lowercased: the server compares nicks this way.
 * @param {string} s
 */
export function foldNick(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * The mentions the server listed on a message or edit (`mentions`), as strings; [] when
 * there are none (or the server is older and sends no such field).
 * @param {object} event
 * @returns {string[]}
 */
export function mentionsOf(event) {
  const list = /** @type {{ mentions?: unknown }} */ (event).mentions;
  return Array.isArray(list) ? list.filter((n) => typeof n === 'string') : [];
}

/**
 * True when `mentions` names `me`.
 * @param {readonly string[]} mentions
 * @param {string} me
 */
export function mentionsMe(mentions, me) {
  const mine = foldNick(me);
  return mentions.some((n) => foldNick(n) === mine);
}

/**
 * Appends `text` to `parent` with each `@nick` the server listed in `mentions` as a mention:
 * a <mark class="mention me"> for the user's own (with its meaning said to screen readers),
 * a <span class="mention"> for anyone else's. The rest goes in as text nodes.
 * @param {HTMLElement} parent
 * @param {string} text
 * @param {readonly string[]} mentions
 * @param {string} me
 */
export function appendMentions(parent, text, mentions, me) {
  if (mentions.length === 0 || !text.includes('@')) {
    parent.append(document.createTextNode(text));
    return;
  }
  const known = new Set(mentions.map(foldNick));
  const mine = foldNick(me);
  let last = 0;
  let i = text.indexOf('@');
  while (i !== -1) {
    const before = [...text.slice(Math.max(0, i - 2), i)].at(-1) ?? '';
    let end = i + 1;
    while (end < text.length) {
      const ch = String.fromCodePoint(text.codePointAt(end) ?? 0);
      if (NOT_NICK.test(ch)) break;
      end += ch.length;
    }
    const run = text.slice(i + 1, end);
    const nick = before && WORD.test(before) ? '' : pick(run, known);
    if (nick) {
      parent.append(document.createTextNode(text.slice(last, i)));
      const own = foldNick(nick) === mine;
      const node = el(own ? 'mark' : 'span', own ? 'mention me' : 'mention', `@${nick}`);
      if (own) node.title = 'Mentions you';
      parent.append(node);
      last = i + 1 + nick.length;
    }
    i = text.indexOf('@', Math.max(end, i + 1));
  }
  parent.append(document.createTextNode(text.slice(last)));
}

/**
 * The `@` and run of nick characters that start at `index` of `text`, as appendMentions reads
 * one ('' when no `@` is there). Formatting (markdown.js) keeps such a run whole, so that a
 * nick such as `_bob` is not taken for emphasis; it leaves out the formatting marks that end
 * the run, which may close what opened before the `@` (`**@bob**`). It reads only the run.
 * @param {string} text
 * @param {number} index
 */
export function nickRunAt(text, index) {
  if (text.charAt(index) !== '@') return '';
  let end = index + 1;
  while (end < text.length) {
    const ch = String.fromCodePoint(text.codePointAt(end) ?? 0);
    if (NOT_NICK.test(ch)) break;
    end += ch.length;
  }
  return text.slice(index, end).replace(/[*_~]+$/, '');
}

/**
 * The part of `run` that is a listed mention: the whole run, or the run without its
 * trailing punctuation (the longer first, as the server prefers); '' when neither is.
 * @param {string} run
 * @param {Set<string>} known folded nicks
 */
function pick(run, known) {
  if (run === '') return '';
  if (known.has(foldNick(run))) return run;
  const bare = run.replace(TRAILING, '');
  return bare !== run && bare !== '' && known.has(foldNick(bare)) ? bare : '';
}
