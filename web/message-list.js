// The list of the open conversation's messages: stored ones, then unsent ones, grouped by
// day and by sender, each with its text (formatting, links, mentions), "(edited)", its tools
// (message-tools.js) and, for our own, its delivery state; and the "New messages" divider
// before the first one the user had not read when they opened the conversation. The files a
// message carries show below its text (attachments.js).

import { attachmentsOf, renderAttachments } from './attachments.js';
import { isBlocked, isRevealed, reveal } from './blocks.js';
import { appendFormatted } from './markdown.js';
import { appendMentions, mentionsMe } from './mentions.js';
import { renderQuote } from './replies.js';
import { avatar, el, part, reconcile, srOnly } from './view.js';

/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./conversation.js').Message} Message */
/** @typedef {import('./outbox.js').OutboxItem} OutboxItem */
/**
 * Where a render leaves the view: 'bottom' scrolls to the newest message; 'open' to the
 * "New messages" divider if there is one, else to the bottom; 'older' keeps what the user
 * looks at in place while a page is added above; 'newer' leaves the view as it is while a
 * page is added below (jump.js); 'auto' follows new messages only when the view was already
 * at the bottom.
 * @typedef {'bottom' | 'open' | 'older' | 'newer' | 'auto'} Scroll
 */
/**
 * What a failed message offers: trying again, or giving it up.
 * @typedef {object} FailedActions
 * @property {(item: OutboxItem) => void} retry
 * @property {(item: OutboxItem) => void} discard
 */
/**
 * What keeps the React, Edit and Delete buttons and the reactions of a stored message up to
 * date (message-tools.js, reactions.js).
 * @typedef {{ update(li: HTMLElement, conv: Conversation, m: Message): void }} Tools
 */
/**
 * One line of the list: a stored message or an unsent one.
 * @typedef {{ key: string, from: string, ts: number }
 *   & ({ message: Message, item?: undefined } | { item: OutboxItem, message?: undefined })} Row
 */

/** Messages from one sender within this time of each other are grouped under one name. */
const GROUP_MS = 5 * 60_000;

/** The message each node shows (updateBody), so that an unchanged one costs nothing. */
const shown = new WeakMap();
/** Nodes shown folded (a blocked user's message, blocks.js). */
const foldedNodes = new WeakSet();

/** @param {number} ts */
function dayKey(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** @param {number} ts */
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
 * @param {HTMLElement} ol
 * @param {Conversation} conv
 * @param {string} me
 * @param {FailedActions} actions
 * @param {Tools} [tools]
 */
export function renderMessages(ol, conv, me, actions, tools) {
  /** @type {Row[]} */
  const rows = [
    ...conv.messages.map((m) => ({ message: m, key: `m:${m.id}`, from: m.from, ts: m.ts })),
    ...[...conv.pending.values()].map((p) => ({
      item: p,
      key: `p:${p.clientId}`,
      from: me,
      ts: p.created,
    })),
  ];
  /** @type {import('./view.js').Keyed[]} */
  const items = [];
  /** @type {Row | null} */
  let prev = null;
  const divider = conv.divider;
  // Only where the list reaches back to the marker (or to the beginning): else the first
  // unread message is in history not loaded yet, and the divider waits for that page.
  const oldest = conv.messages[0]?.id;
  const reaches = oldest !== undefined && (oldest <= (divider ?? 0) || conv.before === null);
  let dividerPlaced = divider === null || !reaches;
  for (const row of rows) {
    if (
      !dividerPlaced &&
      divider !== null &&
      row.message &&
      row.message.id > divider &&
      row.from !== me
    ) {
      dividerPlaced = true;
      items.push({ key: 'new', create: () => dividerNode() });
    }
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
      create: () => messageNode(row.from, row.ts, row.item, row.from === me),
      update: (li) => {
        li.classList.toggle('grouped', grouped);
        if (row.message) {
          // In a room, a blocked user's message folds into one line until it is clicked.
          const m = row.message;
          const folded = conv.isRoom && isBlocked(m.from) && !isRevealed(m.id);
          updateBody(li, m, me, folded);
          tools?.update(li, conv, row.message);
        }
        if (row.from === me) updateOwnState(li, conv, row, actions);
      },
    });
    prev = row;
  }
  reconcile(ol, items);
}

/**
 * A message's node; the text and files of a stored message are filled in by updateBody, an
 * unsent one's (`item`) here.
 * @param {string} from
 * @param {number} ts
 * @param {OutboxItem | undefined} item
 * @param {boolean} mine
 */
function messageNode(from, ts, item, mine) {
  const li = el('li', mine ? 'msg mine' : 'msg');
  const head = el('div', 'meta');
  head.append(avatar(from));
  const name = el('span', 'from', mine ? 'You' : from);
  // Another's display name goes beside their nick (profiles.js).
  if (!mine) name.dataset.name = from;
  head.append(name);
  const time = el(
    'time',
    '',
    new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
  );
  time.dateTime = new Date(ts).toISOString();
  time.title = new Date(ts).toLocaleString();
  head.append(time);
  const quote = el('div', 'quote');
  renderQuote(quote, item ?? {});
  const body = el('div', 'text');
  if (item) appendFormatted(body, item.text);
  const files = el('div', 'files');
  renderAttachments(files, item?.attachments ?? []);
  const note = srOnly(', mentions you');
  note.classList.add('mention-note');
  note.hidden = true;
  head.append(note);
  const edited = el('span', 'edited', '(edited)');
  edited.hidden = true;
  li.append(head, quote, body, files, edited, el('div', 'reactions'), el('div', 'tools'));
  if (mine) li.append(el('div', 'state'));
  return li;
}

/** The line before the first message the user had not read. */
function dividerNode() {
  const li = el('li', 'divider');
  li.append(el('span', '', 'New messages'));
  return li;
}

/**
 * Shows stored message `m`'s text with its mentions, "(edited)", or that it was deleted. An
 * edit or delete replaces the message object (conversation.js patch), so an unchanged one
 * costs nothing.
 * @param {HTMLElement} li
 * @param {Message} m
 * @param {string} me
 * @param {boolean} folded a blocked user's message, shown as one line (blocks.js)
 */
function updateBody(li, m, me, folded) {
  if (shown.get(li) === m && foldedNodes.has(li) === folded) return;
  shown.set(li, m);
  if (folded) foldedNodes.add(li);
  else foldedNodes.delete(li);
  const body = part(li, '.text');
  body.replaceChildren();
  li.classList.toggle('blocked', folded);
  if (folded) {
    li.classList.remove('mentioned');
    part(li, '.mention-note').hidden = true;
    renderQuote(part(li, '.quote'), {});
    renderAttachments(part(li, '.files'), []);
    part(li, '.edited').hidden = true;
    const show = el('button', 'link', 'Message from a blocked user');
    show.type = 'button';
    show.title = 'Show it';
    show.addEventListener('click', () => reveal(m.id));
    body.append(show);
    return;
  }
  li.classList.toggle('deleted', Boolean(m.deleted));
  const mentions = m.mentions ?? [];
  const mentioned = !m.deleted && m.from !== me && mentionsMe(mentions, me);
  li.classList.toggle('mentioned', mentioned);
  part(li, '.mention-note').hidden = !mentioned;
  renderQuote(part(li, '.quote'), m.deleted ? {} : m);
  if (m.deleted) body.textContent = 'message deleted';
  else appendFormatted(body, m.text, (parent, text) => appendMentions(parent, text, mentions, me));
  // A deleted message shows no files (the server sends it without them).
  renderAttachments(part(li, '.files'), m.deleted ? [] : attachmentsOf(m));
  const edited = part(li, '.edited');
  edited.hidden = !m.edited || Boolean(m.deleted);
  edited.title = m.edited ? `Edited ${new Date(m.edited).toLocaleString()}` : '';
}

/**
 * The delivery state of one of our messages: sending, retrying, failed, sent or read.
 * @param {HTMLElement} li
 * @param {Conversation} conv
 * @param {Row} row
 * @param {FailedActions} actions
 */
function updateOwnState(li, conv, row, actions) {
  let state;
  let label;
  const { item } = row;
  if (item) {
    state = item.state;
    label =
      state === 'failed'
        ? `Not sent: ${item.error}`
        : state === 'retrying'
          ? 'Sending… (retrying)'
          : 'Sending…';
  } else if (row.message.deleted) {
    // Nothing was left to read: a deleted message says neither Sent nor Read.
    state = 'deleted';
    label = '';
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
  const box = part(li, '.state');
  box.replaceChildren(document.createTextNode(label));
  if (item && state === 'failed') {
    const retry = el('button', 'link', 'Retry');
    retry.type = 'button';
    retry.addEventListener('click', () => actions.retry(item));
    const discard = el('button', 'link', 'Discard');
    discard.type = 'button';
    discard.addEventListener('click', () => actions.discard(item));
    box.append(' ', retry, ' ', discard);
  }
}
