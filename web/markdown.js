// Formatting of message text: a Markdown subset (emphasis, strong, strikethrough, inline code,
// fenced code blocks, quotes, lists and line breaks), shown on the page only. The stored text
// stays as typed: search, notifications, push and the classic protocol show it plain.
//
// How it stays safe: markdown-it parses with raw HTML off and with no rule that makes a link,
// an image, a heading or a table, so its output is only the tags above around escaped text;
// DOMPurify then keeps only those tags (and an ordered list's `start`), whatever markdown-it
// might emit. Links come after, from links.js on the text alone (an http(s) URL, shown as its
// real target), and mentions from mentions.js: neither ever sees HTML. A remote image is never
// loaded inline (it would tell its server who reads the message): `![a](url)` stays text.

import { appendText, urlAt } from './links.js';
import MarkdownIt from './markdown-it.js';
import { nickRunAt } from './mentions.js';
import DOMPurify from './purify.js';

/**
 * How deep quotes and lists may nest: markdown-it stops nesting there and shows the rest as
 * text, which bounds the work and the elements a message makes.
 */
const MAX_NESTING = 20;

const md = new MarkdownIt('zero', {
  html: false,
  linkify: false,
  breaks: true,
  typographer: false,
  maxNesting: MAX_NESTING,
});
// 'zero' has only paragraphs and text; `link`, `image`, `autolink`, `linkify`, `html_*`,
// `heading`, `lheading`, `table`, `hr`, `reference`, indented `code` (text pasted with an
// indent is not code in a chat) and `entity` (what was typed shows: "&amp;" stays) stay off.
md.enable(['fence', 'blockquote', 'list']);
md.enable(['newline', 'escape', 'backticks', 'strikethrough', 'emphasis']);
// No rule above makes a link; should one ever, it gets no target but http(s).
md.validateLink = (/** @type {string} */ url) => /^https?:/i.test(url.trim());
// The text keeps its own white space (style.css pre-wrap), so a break is the <br> alone: the
// newline markdown-it writes after it would show as a second line break.
md.renderer.rules.softbreak = () => '<br>';
md.renderer.rules.hardbreak = () => '<br>';
// URLs and @mentions are kept whole, as text: links.js and mentions.js find them in it after.
md.inline.ruler.after('text', 'whole_url', keepUrl);
md.inline.ruler.after('whole_url', 'whole_mention', keepMention);

/** What DOMPurify keeps of markdown-it's output: exactly the elements the rules above make. */
const ALLOWED = {
  ALLOWED_TAGS: [
    'p',
    'br',
    'em',
    'strong',
    's',
    'del',
    'code',
    'pre',
    'blockquote',
    'ul',
    'ol',
    'li',
  ],
  ALLOWED_ATTR: ['start'],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  RETURN_DOM_FRAGMENT: /** @type {const} */ (true),
};

/**
 * Longer texts (in UTF-16 units) show plain. markdown-it's time is linear in the text but not
 * small (tens of milliseconds for 10,000 characters of `*a*a…`, seconds for the 100,000 that
 * --max-message-length allows), and a message is rendered in every reader's page: the
 * default limit, 2,000, is well within this.
 */
const FORMAT_MAX = 20_000;

/** Text that holds none of these is plain: it shows as before, with no parse. */
const MARKUP = /[*_`~>\\]|^[ \t]*(?:[-+]|\d{1,9}[.)])[ \t]/m;

/** Elements whose text is shown as it is: no links, no mentions inside code. */
const VERBATIM = new Set(['CODE', 'PRE']);

/**
 * Appends message `text` to `parent`, formatted, with its http(s) URLs as links (links.js)
 * and the rest of its text through `plain` (mentions.js marks mentions in it).
 * @param {HTMLElement} parent
 * @param {string} text
 * @param {(parent: HTMLElement, text: string) => void} [plain]
 */
export function appendFormatted(parent, text, plain) {
  if (text.length > FORMAT_MAX || !MARKUP.test(text) || !DOMPurify.isSupported) {
    appendText(parent, text, plain);
    return;
  }
  const html = md.render(text);
  const tree = DOMPurify.sanitize(html, ALLOWED);
  dropLayoutSpace(tree);
  // A message that is one paragraph shows as the plain ones do, with no block around it.
  const only = tree.childNodes.length === 1 ? tree.firstChild : null;
  if (only instanceof HTMLParagraphElement) tree.replaceChildren(...only.childNodes);
  for (const node of textNodes(tree)) {
    const box = document.createElement('span');
    appendText(box, node.data, plain);
    node.replaceWith(...box.childNodes);
  }
  parent.append(tree);
}

/**
 * @typedef {{ src: string, pos: number, posMax: number, pending: string }} InlineState
 *   what an inline rule reads of markdown-it's StateInline
 */

/**
 * An inline rule, at the `:` of an http(s) URL (the text rule stopped there, with the scheme
 * already in the pending text): the rest of the URL, as links.js takes it, becomes text, so
 * that no `*`, `_` or `~` in it is read as formatting and the link keeps its whole target.
 * @param {InlineState} state
 * @param {boolean} silent
 */
function keepUrl(state, silent) {
  const { src, pos, pending } = state;
  if (src.charCodeAt(pos) !== 0x3a) return false;
  // The end of the pending text only: it can be long, and this runs at every `:`.
  const scheme = /(?:^|[^\w])(https?)$/i.exec(pending.slice(-6))?.[1];
  if (!scheme) return false;
  const url = urlAt(src, pos - scheme.length);
  if (url.length <= scheme.length + 3 || pos - scheme.length + url.length > state.posMax) {
    return false;
  }
  if (!silent) state.pending += url.slice(scheme.length);
  state.pos += url.length - scheme.length;
  return true;
}

/**
 * An inline rule, at an `@`: the run of nick characters after it becomes text, so that a nick
 * such as `_bob_` stays a mention rather than emphasis.
 * @param {InlineState} state
 * @param {boolean} silent
 */
function keepMention(state, silent) {
  const run = nickRunAt(state.src, state.pos);
  if (run.length < 2 || state.pos + run.length > state.posMax) return false;
  if (!silent) state.pending += run;
  state.pos += run.length;
  return true;
}

/**
 * Removes the newlines markdown-it writes between block elements (the text is shown with its
 * white space kept), except inside code blocks, where every character is the code's. Such a
 * newline is a text node of its own: with breaks as <br>, no text of the message's makes one.
 * @param {Node} root
 */
function dropLayoutSpace(root) {
  for (const node of [...root.childNodes]) {
    if (node instanceof Text && /^\n+$/.test(node.data)) node.remove();
    else if (node instanceof Element && !VERBATIM.has(node.tagName)) dropLayoutSpace(node);
  }
}

/**
 * The text nodes of `root` outside code, in order, collected before any is replaced.
 * @param {Node} root
 * @returns {Text[]}
 */
function textNodes(root) {
  /** @type {Text[]} */
  const found = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
    acceptNode: (n) =>
      n instanceof Element && VERBATIM.has(n.tagName)
        ? NodeFilter.FILTER_REJECT
        : NodeFilter.FILTER_ACCEPT,
  });
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n instanceof Text) found.push(n);
  }
  return found;
}
