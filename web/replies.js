// Replies: the quoted preview above a message that answers another (its `reply`, built by the
// server for this reader), the preview the message box shows while writing one, and keeping
// the quotes of loaded messages in step with edits and deletes of their originals. Text only:
// a preview is user data, set with textContent, never as HTML.

import { el } from './view.js';

/** @typedef {import('./conversation.js').Message} Message */
/** @typedef {import('../src/domain/replies.js').ReplyPreview} ReplyPreview */

/** Most characters (code points) of a preview, as the server cuts it (REPLY_PREVIEW_CHARS). */
const PREVIEW_CHARS = 200;

/**
 * `text` cut to PREVIEW_CHARS code points (the server cuts on a grapheme; this is only what
 * the page shows before the server's preview arrives).
 * @param {string} text
 */
export function cutPreview(text) {
  const points = Array.from(text);
  return points.length <= PREVIEW_CHARS ? text : points.slice(0, PREVIEW_CHARS).join('');
}

/**
 * The preview of a loaded message `m`, as the page shows it before the server's (our reply,
 * sent from here).
 * @param {Message} m
 * @returns {ReplyPreview}
 */
export function previewOf(m) {
  if (m.deleted) return { id: m.id, unavailable: true };
  return {
    id: m.id,
    from: m.from,
    text: cutPreview(m.text),
    ts: m.ts,
    ...(m.edited !== undefined && { edited: m.edited }),
    ...(m.attachments?.length && { attachments: m.attachments.length }),
  };
}

/**
 * Fills `box` (a message's `.quote`) with its quote of the message it answers: a button that
 * jumps to the original (its `data-reply` holds the id: chat.js listens), or a plain line when
 * the original is unavailable; hidden for a message that answers none.
 * @param {HTMLElement} box
 * @param {{ replyTo?: number, reply?: ReplyPreview }} m
 */
export function renderQuote(box, m) {
  box.replaceChildren();
  box.hidden = m.replyTo === undefined;
  if (m.replyTo === undefined) return;
  const reply = m.reply ?? { id: m.replyTo, unavailable: true };
  if ('unavailable' in reply) {
    box.append(el('span', 'quote-gone', 'Original message unavailable'));
    return;
  }
  const button = el('button', 'quote-link');
  button.type = 'button';
  button.dataset.reply = String(reply.id);
  const said = reply.text || (reply.attachments ? `${reply.attachments} file(s)` : '');
  button.setAttribute('aria-label', `Go to the message from ${reply.from}: ${said}`);
  button.append(el('span', 'quote-from', reply.from), el('span', 'quote-text', said));
  box.append(button);
}

/**
 * The messages of `byId` that quote message `id`, after an edit ({text, edited}) or a delete
 * ({deleted}) of it: their quotes take the new text, or become unavailable. Replaces each
 * changed message object (the view redraws it); true when one changed.
 * @param {Map<number, Message>} byId
 * @param {number} id
 * @param {import('./conversation.js').Patch} patch
 */
export function patchReplies(byId, id, patch) {
  let changed = false;
  for (const m of byId.values()) {
    const reply = m.reply;
    if (m.replyTo !== id || !reply || 'unavailable' in reply) continue;
    if (!patch.deleted && (reply.edited ?? 0) > patch.edited) continue;
    const next = patch.deleted
      ? { id, unavailable: /** @type {const} */ (true) }
      : { ...reply, text: cutPreview(patch.text), edited: patch.edited };
    byId.set(m.id, { ...m, reply: next });
    changed = true;
  }
  return changed;
}
