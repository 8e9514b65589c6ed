// The message box and what becomes of what is written in it: each message goes to the outbox
// (idempotent, retried sends), shows as pending in its conversation, and is replaced by the
// stored message once the server has it. The box also edits one of our messages (Edit,
// message-tools.js): it then holds that message's text, and Enter saves it. Files attached
// (attach-tray.js, from file-sources.js) go with the next message once they are uploaded.
// Its counter and preview are draft.js's.

import { AttachTray } from './attach-tray.js';
import { Draft } from './draft.js';
import { wireFileSources } from './file-sources.js';
import { EVERYONE } from './model.js';
import { Outbox } from './outbox.js';
import { previewOf } from './replies.js';
import { discard } from './uploader.js';
import { $ } from './view.js';

/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./conversation.js').Message} Message */
/** @typedef {import('./outbox.js').OutboxItem} OutboxItem */
/** @typedef {import('./message-list.js').Scroll} Scroll */
/**
 * What the composer needs from the page.
 * @typedef {object} ComposerDeps
 * @property {import('./model.js').Model} model
 * @property {() => string} active the id of the open conversation
 * @property {(id: string) => void} typed the user typed in conversation `id` (typing.js)
 * @property {(conv: Conversation, m: Message, text: string) => Promise<boolean>} edit saves
 *   an edit; true once the server has it (message-tools.js)
 * @property {(conv: Conversation, scroll: Scroll) => void} render renders the open conversation
 * @property {(conv: Conversation, scroll?: Scroll) => void} renderIf renders `conv` if shown
 * @property {(conv: Conversation) => void} live brings `conv` back to its newest messages if
 *   it shows an older window (Jump.toLive)
 * @property {() => void} loggedOut the session is gone
 * @property {(room: string) => string} notMember why we may not send to `room` any more
 *   (Rooms.notMember)
 * @property {(text: string) => void} notify says something in the notice line
 */

/** The message box: sending (through the outbox) and editing one of our messages. */
export class Composer {
  /** @param {ComposerDeps} deps */
  constructor(deps) {
    this.deps = deps;
    const { model, renderIf, loggedOut } = deps;
    this.outbox = new Outbox({
      onChange: (item) => renderIf(model.conv(item.to)),
      onSent: (item, reply) => this.sent(item, reply),
      onLoggedOut: () => loggedOut(),
      // Refused for a room we are no longer in (removed while the page had not heard, or
      // offline): say which room and why, also in the notice line, as its conversation goes
      // once the removal arrives.
      explain: (item, err) => {
        if (err.code !== 'CHAT_NOT_MEMBER' || !item.to.startsWith('#')) return err.message;
        const why = deps.notMember(item.to);
        deps.notify(`Not sent to ${item.to}: ${why}`);
        return why;
      },
    });
    /** What a failed message offers (message-list.js renderMessages). */
    this.actions = {
      /** @param {OutboxItem} item */
      retry: (item) => {
        this.outbox.retry(item);
        // The Retry button goes with the failed state: keep focus somewhere useful.
        $('text').focus();
      },
      /** @param {OutboxItem} item */
      discard: (item) => {
        model.conv(item.to).pending.delete(item.clientId);
        // Its uploads are not wanted either (the server refuses this for one sent after all).
        for (const a of item.attachments) discard(a.id);
        renderIf(model.conv(item.to));
        $('text').focus();
      },
    };
    /**
     * The message being edited, or null; `draft` is what it replaced.
     * @type {{ conv: Conversation, id: number } | null}
     */
    this.editing = null;
    /**
     * The message the next one answers (Reply, message-tools.js), in conversation `conv`.
     * @type {{ conv: string, message: Message } | null}
     */
    this.replying = null;
    this.draft = '';
    this.saving = false;
    this.title = 'Everyone';
    /** The box's counter (the server's text limit) and its preview. */
    this.box = new Draft();
    /** The files for the next message. */
    this.tray = new AttachTray({ changed: () => this.updateSend(), loggedOut });
  }

  wire() {
    this.box.wire();
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
      if (!this.editing && text().value.trim() !== '') this.deps.typed(this.deps.active());
    });
    $('text').addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.editing) {
        e.preventDefault();
        this.cancelEdit();
      } else if (e.key === 'Escape' && this.replying) {
        e.preventDefault();
        this.cancelReply();
      } else if (e.key === 'ArrowUp' && text().value === '' && !this.editing) {
        // Up in an empty box edits our newest message here, as in most chat apps.
        const { model, active } = this.deps;
        const conv = model.conv(active());
        const m = conv.messages.findLast((x) => x.from === model.me && !x.deleted);
        if (!m) return;
        e.preventDefault();
        this.beginEdit(conv, m);
      }
    });
    $('edit-cancel').addEventListener('click', () => this.cancelEdit());
    $('reply-cancel').addEventListener('click', () => {
      this.cancelReply();
      $('text').focus();
    });
    wireFileSources((files) => {
      // An edit changes text only: files wait for the box to write a message again.
      if (!this.editing) this.tray.add(files);
    });
  }

  /**
   * Points the box at conversation `id` (its label and placeholder); ends an edit.
   * @param {string} id
   * @param {string} title
   */
  show(id, title) {
    this.cancelEdit();
    if (this.replying?.conv !== id) this.cancelReply();
    this.title = title;
    this.label();
    text().placeholder = id === EVERYONE ? 'Message everyone' : `Message ${id}`;
  }

  /** The box's label and button say whether it writes or edits. */
  label() {
    $('text-label').textContent = this.editing ? 'Edit your message' : `Message to ${this.title}`;
    $('send').textContent = this.editing ? 'Save' : 'Send';
    $('edit-bar').hidden = !this.editing;
    $('composer').classList.toggle('editing', Boolean(this.editing));
    this.updateSend();
  }

  /**
   * Send waits for the files being uploaded (and Save for the edit being saved); a failed
   * file must be retried or removed first.
   */
  updateSend() {
    const waiting = !this.editing && this.tray.busy();
    const send = $('send', HTMLButtonElement);
    send.disabled = this.saving || waiting;
    send.title = waiting ? 'Waiting for the files to upload' : '';
  }

  /**
   * Puts message `m` of `conv` in the box to be edited; what was being written waits.
   * @param {Conversation} conv
   * @param {Message} m
   */
  beginEdit(conv, m) {
    if (!this.editing) this.draft = text().value;
    this.editing = { conv, id: m.id };
    text().value = m.text;
    this.label();
    this.fitText();
    $('text').focus();
  }

  /**
   * The next message sent in `conv` answers `m`: the bar above the box says so (text only).
   * @param {Conversation} conv
   * @param {Message} m
   */
  beginReply(conv, m) {
    this.cancelEdit();
    this.replying = { conv: conv.id, message: m };
    const preview = previewOf(m);
    const said = 'text' in preview ? preview.text || `${preview.attachments ?? 0} file(s)` : '';
    $('reply-what').textContent = `Replying to ${m.from}: ${said}`;
    $('reply-bar').hidden = false;
    $('text').focus();
  }

  /** The next message answers nothing. */
  cancelReply() {
    this.replying = null;
    $('reply-bar').hidden = true;
  }

  /** Leaves edit mode without saving; the text written before comes back. */
  cancelEdit() {
    if (!this.editing) return;
    this.editing = null;
    text().value = this.draft ?? '';
    this.draft = '';
    this.label();
    this.fitText();
  }

  /**
   * Message `id` was deleted: it can no longer be edited.
   * @param {number} id
   */
  messageGone(id) {
    if (this.editing?.id === id) this.cancelEdit();
    if (this.replying?.message.id === id) this.cancelReply();
  }

  /** Saves the edit in the box, unless it changes nothing (then it just ends). */
  async saveEdit() {
    if (!this.editing) return;
    const { conv, id } = this.editing;
    const m = conv.byId.get(id);
    const value = text().value;
    if (!m || m.deleted) return this.cancelEdit();
    if (value === m.text) return this.cancelEdit();
    if (value.trim() === '' || this.saving) return;
    this.saving = true;
    this.updateSend();
    const saved = await this.deps.edit(conv, m, value);
    this.saving = false;
    this.updateSend();
    // Still editing that message (not cancelled or moved on meanwhile)? Then it is done.
    if (saved && this.editing?.id === id) this.cancelEdit();
  }

  /**
   * Grows the message box with its text, up to its CSS max-height; its counter and preview
   * follow the text.
   */
  fitText() {
    this.box.update();
    const box = text();
    box.style.height = 'auto';
    box.style.height = `${box.scrollHeight + 2}px`;
  }

  /** Sends what the box holds (or saves the edit). */
  send() {
    // Too long: the text stays in the box, where it can be shortened (the counter says so).
    if (this.box.refuse()) return;
    if (this.editing) {
      this.saveEdit();
      return;
    }
    const value = text().value;
    const { tray } = this;
    if (tray.busy()) return tray.say('Wait for the files to finish uploading.');
    if (tray.failed() > 0) return tray.say('Retry or remove the files that failed first.');
    const blank = value.trim() === '';
    if (blank && tray.size === 0) return;
    const conv = this.deps.model.conv(this.deps.active());
    // What is sent shows at the live end: an older window (jump.js) would hold it back.
    this.deps.live(conv);
    const answers = this.replying?.conv === conv.id ? this.replying.message : undefined;
    this.cancelReply();
    const item = this.outbox.send(conv.id, blank ? '' : value, tray.take(), answers);
    conv.pending.set(item.clientId, item);
    text().value = '';
    this.fitText();
    this.deps.render(conv, 'bottom');
  }

  /**
   * The server stored `item`: the stored message takes the pending one's place.
   * @param {OutboxItem} item
   * @param {import('../src/http/api-types.js').ApiSent} reply
   */
  sent(item, reply) {
    const { model, renderIf } = this.deps;
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
      ...(item.attachments.length > 0 && { attachments: item.attachments }),
      ...(item.replyTo !== undefined && { replyTo: item.replyTo, reply: item.reply }),
    });
    renderIf(conv, 'bottom');
  }

  /**
   * Messages written here that the server does not have (pending, retrying or failed), and
   * files in the box: closing the page would lose them.
   */
  unsent() {
    let n = this.tray.size;
    for (const conv of this.deps.model.convs.values()) n += conv.pending.size;
    return n;
  }
}

/** The message box. */
function text() {
  return $('text', HTMLTextAreaElement);
}
