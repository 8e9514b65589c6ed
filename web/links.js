// Links in message text: http(s) URLs become <a> elements we build, whose text shows their
// real target. Everything else of the text goes in as text nodes, never as HTML.

import { el } from './view.js';

// http(s) URLs up to whitespace or a character that cannot end one in running text.
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+/gi;
// Bidi marks, embeddings, overrides and isolates (U+200E, U+200F, U+202A to U+202E, U+2066 to
// U+2069). Text may wrap a URL in them, rightly (an isolate around a URL in Arabic text) or to
// make it look like another address, so they end a URL as punctuation does.
const BIDI = '\u200E\u200F\u202A-\u202E\u2066-\u2069';
// Punctuation (or bidi controls) that usually end the sentence, not the URL.
const TRAILING = new RegExp(`[.,;:!?)\\]}${BIDI}]+$`);
// Characters a link's text shows percent-encoded, as its target holds them: invisible ones
// (controls, format characters such as bidi overrides, default ignorables, blanks) and
// separators, which could make the text read as another address than the target.
const UNSHOWN = /[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800]/u;

/**
 * Appends `text` to `parent` as text nodes, with http(s) URLs as links that open in a new
 * tab without giving it a handle on this page (noopener) or telling it where it came from,
 * and tell search engines that we do not vouch for them (nofollow).
 * The text between links goes through `plain` (mentions.js marks mentions in it), so that
 * nothing inside a URL is taken for anything else.
 * @param {HTMLElement} parent
 * @param {string} text
 * @param {(parent: HTMLElement, text: string) => void} [plain]
 */
export function appendText(parent, text, plain = appendPlain) {
  let last = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    const raw = match[0].replace(TRAILING, '');
    const link = safeLink(raw);
    if (!link) continue;
    plain(parent, text.slice(last, match.index));
    parent.append(link);
    last = (match.index ?? 0) + raw.length;
  }
  plain(parent, text.slice(last));
}

/** An http(s) URL where the search starts (sticky), up to what cannot be in one (URL_IN_TEXT). */
const URL_HERE = /https?:\/\/[^\s<>"'`]+/iy;

/**
 * The http(s) URL that starts at `index` of `text`, taken as appendText takes one (without
 * the punctuation that ends the sentence); '' when none starts there. Formatting (markdown.js)
 * keeps such a URL whole, so that no `*` or `_` inside it is taken for emphasis. It reads only
 * the URL, never the rest of the text.
 * @param {string} text
 * @param {number} index
 */
export function urlAt(text, index) {
  URL_HERE.lastIndex = index;
  const match = URL_HERE.exec(text);
  return match ? match[0].replace(TRAILING, '') : '';
}

/**
 * Appends `text` as one text node.
 * @param {HTMLElement} parent
 * @param {string} text
 */
function appendPlain(parent, text) {
  parent.append(document.createTextNode(text));
}

/**
 * An <a> for `raw`, or null unless it parses as an http: or https: URL. Its text is its real
 * target (linkText), and it is a left-to-right isolate (dir, style.css), so that neither bidi
 * controls inside it (shown encoded) nor those of the text around it can reorder what it shows.
 * @param {string} raw
 */
export function safeLink(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const a = el('a', '', linkText(url.href));
  a.dir = 'ltr';
  a.rel = 'noopener noreferrer nofollow';
  a.target = '_blank';
  a.href = url.href;
  return a;
}

/**
 * `href` (a parsed URL, so ASCII, with the host in punycode) made readable: each
 * percent-encoded UTF-8 character outside ASCII is shown as itself unless it is one that
 * UNSHOWN keeps encoded. Parsing the result gives `href` back, since the URL parser encodes
 * every such character the same way; ASCII escapes (%2F, %25, ...) are left as they are,
 * because decoding them would change the address.
 * @param {string} href
 * @returns {string}
 */
export function linkText(href) {
  return href.replace(/(?:%[89a-f][0-9a-f])+/gi, (run) => {
    let decoded;
    try {
      decoded = decodeURIComponent(run);
    } catch {
      return run;
    }
    let out = '';
    for (const ch of decoded) out += UNSHOWN.test(ch) ? encodeURIComponent(ch) : ch;
    return out;
  });
}
