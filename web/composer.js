// The message box and what becomes of what is written in it: each message goes to the outbox
// (idempotent, retried sends), shows as pending in its conversation, and is replaced by the
// stored message once the server has it. The box also edits one of our messages (Edit,
// message-tools.js): it then holds that message's text, and Enter saves it.

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
    /** The message being edited ({conv, id}), or null; `draft` is what it replaced. */
    this.editing = null;
    this.draft = '';
    this.saving = false;
    this.title = 'Everyone';
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
    $('text').addEventListener('input', () => {
      this.fitText();
      if (!this.editing && $('text').value.trim() !== '') this.chat.typing.typed(this.chat.active);
    });
    $('text').addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.editing) {
        e.preventDefault();
        this.cancelEdit();
      } else if (e.key === 'ArrowUp' && $('text').value === '' && !this.editing) {
        // Up in an empty box edits our newest message here, as in most chat apps.
        const conv = this.chat.model.conv(this.chat.active);
        const m = conv.messages.findLast((x) => x.from === this.chat.me && !x.deleted);
        if (!m) return;
        e.preventDefault();
        this.beginEdit(conv, m);
      }
    });
    $('edit-cancel').addEventListener('click', () => this.cancelEdit());
  }

  /** Points the box at conversation `id` (its label and placeholder); ends an edit. */
  show(id, title) {
    this.cancelEdit();
    this.title = title;
    this.label();
    $('text').placeholder = id === EVERYONE ? 'Message everyone' : `Message ${id}`;
  }

  label() {
    $('text-label').textContent = this.editing ? 'Edit your message' : `Message to ${this.title}`;
    $('send').textContent = this.editing ? 'Save' : 'Send';
    $('edit-bar').hidden = !this.editing;
  }

  /** Puts message `m` of `conv` in the box to be edited; what was being written waits. */
  beginEdit(conv, m) {
    if (!this.editing) this.draft = $('text').value;
    this.editing = { conv, id: m.id };
    $('text').value = m.text;
    this.label();
    this.fitText();
    $('text').focus();
  }

  /** Leaves edit mode without saving; the text written before comes back. */
  cancelEdit() {
    if (!this.editing) return;
    this.editing = null;
    $('text').value = this.draft ?? '';
    this.draft = '';
    this.label();
    this.fitText();
  }

  /** Message `id` was deleted: it can no longer be edited. */
  messageGone(id) {
    if (this.editing?.id === id) this.cancelEdit();
  }

  async saveEdit() {
    const { conv, id } = this.editing;
    const m = conv.byId.get(id);
    const text = $('text').value;
    if (!m || m.deleted) return this.cancelEdit();
    if (text === m.text) return this.cancelEdit();
    if (text.trim() === '' || this.saving) return;
    this.saving = true;
    $('send').disabled = true;
    const saved = await this.chat.tools.edit(conv, m, text);
    this.saving = false;
    $('send').disabled = false;
    // Still editing that message (not cancelled or moved on meanwhile)? Then it is done.
    if (saved && this.editing?.id === id) this.cancelEdit();
  }

  /** Grows the message box with its text, up to its CSS max-height. */
  fitText() {
    const text = $('text');
    text.style.height = 'auto';
    text.style.height = `${text.scrollHeight + 2}px`;
  }

  send() {
    if (this.editing) {
      this.saveEdit();
      return;
    }
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
