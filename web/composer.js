// The message box and what becomes of what is written in it: each message goes to the outbox
// (idempotent, retried sends), shows as pending in its conversation, and is replaced by the
// stored message once the server has it.

import { EVERYONE } from './model.js';
import { Outbox } from './outbox.js';
import { $ } from './view.js';

/** The composer of `chat` (app.js). */
export class Composer {
  constructor(chat) {
    this.chat = chat;
    this.outbox = new Outbox({
      onChange: (item) => chat.renderIf(chat.model.conv(item.to)),
      onSent: (item, reply) => this.sent(item, reply),
      onLoggedOut: () => chat.loggedOut(),
    });
    /** What a failed message offers (view.js renderMessages). */
    this.actions = {
      retry: (item) => {
        this.outbox.retry(item);
        // The Retry button goes with the failed state: keep focus somewhere useful.
        $('text').focus();
      },
      discard: (item) => {
        chat.model.conv(item.to).pending.delete(item.clientId);
        chat.renderIf(chat.model.conv(item.to));
        $('text').focus();
      },
    };
  }

  wire() {
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    $('text').addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter is a new line; not while an input method is composing.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    $('text').addEventListener('input', () => this.fitText());
  }

  /** Points the box at conversation `id` (its label and placeholder). */
  show(id, title) {
    $('text-label').textContent = `Message to ${title}`;
    $('text').placeholder = id === EVERYONE ? 'Message everyone' : `Message ${id}`;
  }

  /** Grows the message box with its text, up to its CSS max-height. */
  fitText() {
    const text = $('text');
    text.style.height = 'auto';
    text.style.height = `${text.scrollHeight + 2}px`;
  }

  send() {
    const text = $('text').value;
    if (text.trim() === '') return;
    const conv = this.chat.model.conv(this.chat.active);
    const item = this.outbox.send(conv.id, text);
    conv.pending.set(item.clientId, item);
    $('text').value = '';
    this.fitText();
    this.chat.render(conv, 'bottom');
  }

  sent(item, reply) {
    const { model } = this.chat;
    const conv = model.conv(item.to);
    conv.pending.delete(item.clientId);
    // The stream may have brought it first; the id decides.
    model.addMessage({
      id: reply.id,
      from: model.me,
      to: item.to,
      text: item.text,
      ts: reply.ts,
      clientId: item.clientId,
    });
    this.chat.renderIf(conv, 'bottom');
  }

  /** Messages written here that the server does not have (pending, retrying or failed). */
  unsent() {
    let n = 0;
    for (const conv of this.chat.model.convs.values()) n += conv.pending.size;
    return n;
  }
}
