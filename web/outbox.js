// Sending. Each message gets a clientId once, when it is written; every retry reuses it, so
// the server stores and delivers it at most once however often the network drops the answer
// (docs/api.md, "Idempotent sends"). Messages go out one at a time, in the order written.

import { ApiError, call, newClientId } from './api.js';
import { previewOf } from './replies.js';

/** @typedef {import('../src/http/api-types.js').ApiSent} ApiSent */
/** @typedef {import('../src/domain/events.js').Attachment} Attachment */
/**
 * A message written here and not (yet) stored by the server.
 * @typedef {object} OutboxItem
 * @property {string} clientId its id for idempotent sends, the same on every attempt
 * @property {string} to
 * @property {string} text
 * @property {readonly Attachment[]} attachments the uploads it carries (the same ids on every
 *   attempt, as the clientId), in order; empty for none
 * @property {number} [replyTo] the message it answers, if any
 * @property {import('../src/domain/replies.js').ReplyPreview} [reply] that message's preview
 *   as the page had it (shown until the server's arrives)
 * @property {number} created when it was written (ms since the epoch)
 * @property {'pending' | 'retrying' | 'failed' | 'sent'} state
 * @property {string} error why it failed, or ''
 * @property {number} attempts
 */
/**
 * What the outbox tells its owner.
 * @typedef {object} OutboxHandlers
 * @property {(item: OutboxItem) => void} onChange an item's state changed
 * @property {(item: OutboxItem, reply: ApiSent) => void} onSent the server stored it
 * @property {() => void} onLoggedOut the server answered 401
 * @property {(item: OutboxItem, err: ApiError) => string} [explain] what to say of a refusal
 *   (the item's `error`); absent: the server's message
 */

/** Automatic attempts before a message is shown as failed (the user can still retry). */
const MAX_ATTEMPTS = 8;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;

/**
 * The queue of unsent messages. Handlers: onChange(item) when an item's state changes;
 * onSent(item, {id, ts}) when the server stored it; onLoggedOut() on a 401.
 */
export class Outbox {
  /** @param {OutboxHandlers} handlers */
  constructor(handlers) {
    this.h = handlers;
    /** @type {OutboxItem[]} */
    this.queue = [];
    this.busy = false;
    this.timer = 0;
    window.addEventListener('online', () => this.next());
  }

  /**
   * Queues `text` for `to`, carrying `attachments` (finished uploads, at most 10); returns the
   * item (state 'pending').
   * @param {string} to
   * @param {string} text may be empty when there are attachments
   * @param {readonly Attachment[]} [attachments]
   * @param {import('./conversation.js').Message} [answers] the message it replies to
   */
  send(to, text, attachments = [], answers = undefined) {
    /** @type {OutboxItem} */
    const item = {
      clientId: newClientId(),
      to,
      text,
      attachments,
      ...(answers && { replyTo: answers.id, reply: previewOf(answers) }),
      created: Date.now(),
      state: 'pending',
      error: '',
      attempts: 0,
    };
    this.queue.push(item);
    this.next();
    return item;
  }

  /**
   * Tries a failed message again, with its first clientId.
   * @param {OutboxItem} item
   */
  retry(item) {
    if (item.state !== 'failed') return;
    item.state = 'pending';
    item.error = '';
    item.attempts = 0;
    this.queue.push(item);
    this.h.onChange(item);
    this.next();
  }

  async pump() {
    clearTimeout(this.timer);
    const item = this.queue[0];
    if (!item) return;
    if (navigator.onLine === false) return; // the online event pumps again
    this.busy = true;
    item.attempts++;
    let reply;
    try {
      reply = /** @type {ApiSent} */ (await call('POST', 'messages', body(item)));
    } catch (e) {
      const err = ApiError.from(e);
      this.busy = false;
      if (err.transient && item.attempts < MAX_ATTEMPTS) {
        // No answer, or a server error: the message may or may not be stored. Same clientId.
        item.state = 'retrying';
        this.h.onChange(item);
        const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (item.attempts - 1));
        this.timer = setTimeout(() => this.pump(), base / 2 + Math.random() * base);
        return;
      }
      this.queue.shift();
      item.state = 'failed';
      item.error = this.h.explain?.(item, err) ?? err.message;
      this.h.onChange(item);
      if (err.status === 401) this.h.onLoggedOut();
      else this.next();
      return;
    }
    // Only the request is guarded above: a failure in a handler must not touch the queue.
    this.queue.shift();
    this.busy = false;
    item.state = 'sent';
    try {
      this.h.onSent(item, reply);
    } finally {
      this.next();
    }
  }

  /** Sends the next message, if any. */
  next() {
    if (!this.busy && this.queue.length > 0) this.pump();
  }
}

/**
 * The body of `item`'s POST /messages: the same on every attempt, so that a retry after a lost
 * answer is recognised by its clientId (the server then neither stores it again nor finds its
 * uploads already used).
 * @param {OutboxItem} item
 */
function body(item) {
  const { to, text, clientId, replyTo } = item;
  return {
    to,
    text,
    clientId,
    ...(item.attachments.length > 0 && { attachments: item.attachments.map((a) => a.id) }),
    ...(replyTo !== undefined && { replyTo }),
  };
}
