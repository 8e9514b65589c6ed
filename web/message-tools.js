// Edit and Delete on a message: the buttons under it (our own messages; any message in a room
// we own or moderate may be deleted), the "Delete this message?" question, and the requests.
// Editing happens in the message box (composer.js); the `edit` and `delete` events that the
// server sends to everyone who sees the message apply them everywhere (model.js addPatch).

import { call } from './api.js';
import { moderates } from './rooms.js';
import { el } from './view.js';

/** Characters of a message quoted in a button's accessible name. */
const QUOTE_CHARS = 40;

/** The message tools of `chat` (app.js), used by view.js renderMessages. */
export class MessageTools {
  constructor(chat) {
    this.chat = chat;
    /** The message whose delete waits for a yes, or 0. */
    this.confirming = 0;
  }

  /** What the user may do to stored message `m` of `conv`. */
  allowed(conv, m) {
    if (m.deleted) return { edit: false, del: false };
    const mine = m.from === this.chat.me;
    return {
      edit: mine,
      del: mine || (conv.isRoom && moderates(this.chat.rooms.role(conv.id))),
    };
  }

  /** Brings the tools of message node `li` up to date (view.js calls it on every render). */
  update(li, conv, m) {
    const can = this.allowed(conv, m);
    const confirming = this.confirming === m.id && can.del;
    const signature = `${can.edit}|${can.del}|${confirming}`;
    // An edit replaces the message object: the buttons' names quote the new text.
    if (li.dataset.tools === signature && li.toolsFor === m) return;
    li.dataset.tools = signature;
    li.toolsFor = m;
    const box = li.querySelector('.tools');
    box.replaceChildren();
    box.classList.toggle('asking', confirming);
    const quote = m.text.length > QUOTE_CHARS ? `${m.text.slice(0, QUOTE_CHARS)}…` : m.text;
    if (confirming) {
      const yes = this.button('danger', 'Delete', `Yes, delete “${quote}”`, () =>
        this.remove(conv, m),
      );
      const no = this.button('', 'Cancel', 'Keep the message', () => this.ask(conv, 0));
      box.append(el('span', '', 'Delete this message? '), yes, ' ', no);
      return;
    }
    if (can.edit) {
      box.append(
        this.button('', 'Edit', `Edit “${quote}”`, () => this.chat.composer.beginEdit(conv, m)),
      );
    }
    if (can.del) {
      if (can.edit) box.append(' ');
      box.append(this.button('', 'Delete', `Delete “${quote}”`, () => this.ask(conv, m.id)));
    }
  }

  button(className, text, label, onClick) {
    const button = el('button', `link ${className}`.trim(), text);
    button.type = 'button';
    button.setAttribute('aria-label', label);
    button.addEventListener('click', onClick);
    return button;
  }

  /** Asks about deleting message `id` (0: the question goes away); focus follows. */
  ask(conv, id) {
    const previous = this.confirming;
    this.confirming = id;
    this.chat.renderIf(conv);
    const key = `m:${id || previous}`;
    const li = [...document.querySelectorAll('#messages li.msg')].find(
      (n) => n.dataset.key === key,
    );
    li?.querySelector(id ? '.tools button.danger' : '.tools button')?.focus();
  }

  async remove(conv, m) {
    this.confirming = 0;
    try {
      await call('DELETE', `messages/${m.id}`);
    } catch (err) {
      this.chat.renderIf(conv);
      if (err.code !== 'CHAT_MESSAGE_NOT_FOUND') {
        this.chat.notify(`Could not delete the message: ${err.message}.`);
        return;
      }
    }
    // The `delete` event does the same, on every tab; whichever comes first.
    if (conv.patch(m.id, { deleted: true })) this.chat.renderIf(conv);
    this.chat.composer.messageGone(m.id);
  }

  /** Saves `text` as the new text of message `m` of `conv`; true once the server has it. */
  async edit(conv, m, text) {
    try {
      await call('PATCH', `messages/${m.id}`, { text });
    } catch (err) {
      if (err.status === 401) this.chat.loggedOut();
      this.chat.notify(`Could not edit the message: ${err.message}.`);
      return false;
    }
    // Shown at once; the `edit` event brings the server's time of it. The message's own
    // time marks it edited without claiming to be newer than that event.
    const shown = conv.byId.get(m.id) ?? m;
    if (conv.patch(m.id, { text, edited: Math.max(shown.edited ?? 0, shown.ts) })) {
      this.chat.renderIf(conv);
    }
    return true;
  }
}
