// DOM building. Every piece of text from a user goes in with textContent or a text node,
// never as HTML. Links are elements we build, and only for http: and https: URLs.

import { EVERYONE, isRoom } from './model.js';

/** Messages from one sender within this time of each other are grouped under one name. */
const GROUP_MS = 5 * 60_000;
/** Number of avatar colours in style.css (.c0 to .c7). */
const COLOURS = 8;

/** The element with id `id` (the page's fixed elements, index.html). */
export const $ = (id) => document.getElementById(id);

/** A new element with a class and, optionally, text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Text visible to screen readers only. */
function srOnly(text) {
  return el('span', 'sr-only', text);
}

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
 * tab without giving it a handle on this page (noopener) or telling it where it came from.
 */
export function appendText(parent, text) {
  let last = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    const raw = match[0].replace(TRAILING, '');
    const link = safeLink(raw);
    if (!link) continue;
    parent.append(document.createTextNode(text.slice(last, match.index)));
    parent.append(link);
    last = match.index + raw.length;
  }
  parent.append(document.createTextNode(text.slice(last)));
}

/**
 * An <a> for `raw`, or null unless it parses as an http: or https: URL. Its text is its real
 * target (linkText), and it is a left-to-right isolate (dir, style.css), so that neither bidi
 * controls inside it (shown encoded) nor those of the text around it can reorder what it shows.
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
  a.rel = 'noopener noreferrer';
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

/**
 * Makes `parent`'s children the nodes of `items` ({key, create(), update(node)}), in order,
 * reusing the node of each key that is already there. A node that is already in place is not
 * moved, so focus and selection inside it survive.
 */
export function reconcile(parent, items) {
  const existing = new Map();
  for (const node of parent.children) existing.set(node.dataset.key, node);
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

/** A stable colour class for a nick's avatar. */
function colour(nick) {
  let h = 0;
  for (const ch of nick) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return `c${h % COLOURS}`;
}

function avatar(nick) {
  const room = isRoom(nick);
  const node = el(
    'span',
    `avatar ${nick === EVERYONE ? 'everyone' : colour(nick)}${room ? ' room' : ''}`,
  );
  node.setAttribute('aria-hidden', 'true');
  node.textContent = nick === EVERYONE || room ? '#' : [...nick][0].toUpperCase();
  return node;
}

function dayKey(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

function dayLabel(ts) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  const key = dayKey(ts);
  if (key === dayKey(today.getTime())) return 'Today';
  if (key === dayKey(yesterday.getTime())) return 'Yesterday';
  return new Date(ts).toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/**
 * Renders the messages of `conv` (stored, then unsent) into the list `ol`. `actions` has
 * retry(item) and discard(item) for unsent messages that failed; `tools` (message-tools.js)
 * keeps the Edit and Delete buttons of stored messages up to date.
 */
export function renderMessages(ol, conv, me, actions, tools) {
  const rows = [
    ...conv.messages.map((m) => ({ message: m, key: `m:${m.id}`, from: m.from, ts: m.ts })),
    ...[...conv.pending.values()].map((p) => ({
      item: p,
      key: `p:${p.clientId}`,
      from: me,
      ts: p.created,
    })),
  ];
  const items = [];
  let prev = null;
  for (const row of rows) {
    const day = dayKey(row.ts);
    if (!prev || dayKey(prev.ts) !== day) {
      items.push({
        key: `d:${day}`,
        create: () => {
          const li = el('li', 'day');
          li.append(el('span', '', dayLabel(row.ts)));
          return li;
        },
      });
    }
    const grouped =
      prev !== null &&
      prev.from === row.from &&
      row.ts - prev.ts < GROUP_MS &&
      dayKey(prev.ts) === day;
    items.push({
      key: row.key,
      create: () => messageNode(row.from, row.ts, row.item?.text, row.from === me),
      update: (li) => {
        li.classList.toggle('grouped', grouped);
        if (row.message) {
          updateBody(li, row.message);
          tools?.update(li, conv, row.message);
        }
        if (row.from === me) updateOwnState(li, conv, row, actions);
      },
    });
    prev = row;
  }
  reconcile(ol, items);
}

/** A message's node; the text of a stored message is filled in by updateBody. */
function messageNode(from, ts, text, mine) {
  const li = el('li', mine ? 'msg mine' : 'msg');
  const head = el('div', 'meta');
  head.append(avatar(from));
  head.append(el('span', 'from', mine ? 'You' : from));
  const time = el(
    'time',
    '',
    new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
  );
  time.dateTime = new Date(ts).toISOString();
  time.title = new Date(ts).toLocaleString();
  head.append(time);
  const body = el('div', 'text');
  if (text !== undefined) appendText(body, text);
  const edited = el('span', 'edited', '(edited)');
  edited.hidden = true;
  li.append(head, body, edited, el('div', 'tools'));
  if (mine) li.append(el('div', 'state'));
  return li;
}

/**
 * Shows stored message `m`'s text, "(edited)", or that it was deleted. An edit or delete
 * replaces the message object (conversation.js patch), so an unchanged one costs nothing.
 */
function updateBody(li, m) {
  if (li.shown === m) return;
  li.shown = m;
  const body = li.querySelector('.text');
  body.replaceChildren();
  li.classList.toggle('deleted', Boolean(m.deleted));
  if (m.deleted) body.textContent = 'message deleted';
  else appendText(body, m.text);
  const edited = li.querySelector('.edited');
  edited.hidden = !m.edited || Boolean(m.deleted);
  edited.title = m.edited ? `Edited ${new Date(m.edited).toLocaleString()}` : '';
}

/** The delivery state of one of our messages: sending, retrying, failed, sent or read. */
function updateOwnState(li, conv, row, actions) {
  let state;
  let label;
  if (row.item) {
    state = row.item.state;
    label =
      state === 'failed'
        ? `Not sent: ${row.item.error}`
        : state === 'retrying'
          ? 'Sending… (retrying)'
          : 'Sending…';
  } else if (conv.isDirect && row.message.id <= conv.peerRead) {
    state = 'read';
    label = 'Read';
  } else {
    state = 'sent';
    label = conv.isDirect ? 'Sent' : '';
  }
  if (li.dataset.state === state && li.dataset.label === label) return;
  li.dataset.state = state;
  li.dataset.label = label;
  const box = li.querySelector('.state');
  box.replaceChildren(document.createTextNode(label));
  if (state === 'failed') {
    const retry = el('button', 'link', 'Retry');
    retry.type = 'button';
    retry.addEventListener('click', () => actions.retry(row.item));
    const discard = el('button', 'link', 'Discard');
    discard.type = 'button';
    discard.addEventListener('click', () => actions.discard(row.item));
    box.append(' ', retry, ' ', discard);
  }
}

/**
 * Renders the conversation list: Everyone, the rooms we are in (`rooms`, '#name' ids), then
 * one entry per DM peer.
 */
export function renderConversations(ul, model, rooms, active, open) {
  const entries = [EVERYONE, ...rooms, ...model.directList()];
  reconcile(
    ul,
    entries.map((id) => ({
      key: id,
      create: () => {
        const li = el('li');
        const button = el('button', 'conv');
        button.type = 'button';
        button.dataset.conv = id;
        button.addEventListener('click', () => open(id, true));
        const who = el('span', 'who');
        who.append(avatar(id));
        if (id !== EVERYONE && !isRoom(id)) who.append(el('span', 'presence'));
        button.append(who, el('span', 'name', id === EVERYONE ? 'Everyone' : id));
        const badge = el('span', 'badge');
        badge.setAttribute('aria-hidden', 'true');
        button.append(srOnly(''), badge);
        li.append(button);
        return li;
      },
      update: (li) => {
        const button = li.firstElementChild;
        const conv = model.conv(id);
        const unread = conv.unread(model.me);
        const direct = id !== EVERYONE && !isRoom(id);
        const online = direct && model.online.has(id);
        if (active === id) button.setAttribute('aria-current', 'true');
        else button.removeAttribute('aria-current');
        button.classList.toggle('online', online);
        button.classList.toggle('unread', unread > 0);
        const presence = isRoom(id) ? ', room' : !direct ? '' : online ? ', online' : ', offline';
        button.querySelector('.sr-only').textContent =
          presence + (unread > 0 ? `, ${unread} unread` : '');
        const badge = button.querySelector('.badge');
        badge.textContent = unread > 0 ? String(unread) : '';
        badge.hidden = unread === 0;
      },
    })),
  );
}
