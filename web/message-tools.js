// React, Edit, Delete and Report on a message: the buttons under it (React on any message; Edit
// and Delete on our own; any message in a room we own or moderate may be deleted; Report on
// others' messages, with accounts), the "Delete this message?" question, the reason of a
// report, and the requests. React opens the picker of reactions.js.
// Editing happens in the message box (composer.js); the `edit` and `delete` events that the
// server sends to everyone who sees the message apply them everywhere (model.js addPatch).

import { ApiError, call } from './api.js';
import { attachmentsOf } from './attachments.js';
import { isBlocked, isRevealed, setBlocked } from './blocks.js';
import { moderates } from './rooms.js';
import { el, part } from './view.js';

/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./conversation.js').Message} Message */
/**
 * What the message tools need from the page.
 * @typedef {object} MessageToolsDeps
 * @property {string} me the signed-in user
 * @property {(room: string) => string | null} role our role in a room (Rooms.role)
 * @property {(conv: Conversation) => void} renderIf renders `conv` if it is shown
 * @property {(text: string) => void} notify says something in the notice line
 * @property {() => void} loggedOut the session is gone
 * @property {(conv: Conversation, m: Message) => void} beginEdit puts `m` in the message box
 * @property {(conv: Conversation, m: Message) => void} beginReply the next message answers `m`
 * @property {(id: number) => void} messageGone message `id` was deleted (the box lets go of it)
 * @property {import('./reactions.js').Reactions} reactions the chips and picker of reactions
 * @property {boolean} reports whether messages may be reported (accounts mode)
 * @property {boolean} accounts whether users can block others (accounts mode, blocks.js)
 */

/** Longest reason of a report (the server's MAX_REASON_CHARS). */
const MAX_REASON_CHARS = 500;

/** Characters of a message quoted in a button's accessible name. */
const QUOTE_CHARS = 40;

/** The message each node's tools were made for (update). */
const toolsFor = new WeakMap();

/** Edit and Delete under messages, used by message-list.js renderMessages. */
export class MessageTools {
  /** @param {MessageToolsDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** The message whose delete waits for a yes, or 0. */
    this.confirming = 0;
    /** The message whose report waits for its reason, or 0. */
    this.reporting = 0;
  }

  /**
   * What the user may do to stored message `m` of `conv`.
   * @param {Conversation} conv
   * @param {Message} m
   */
  allowed(conv, m) {
    if (m.deleted) return { edit: false, del: false };
    const mine = m.from === this.deps.me;
    return {
      edit: mine,
      del: mine || (conv.isRoom && moderates(this.deps.role(conv.id))),
    };
  }

  /**
   * Brings the tools of message node `li` up to date (renderMessages calls it on every render).
   * @param {HTMLElement} li
   * @param {Conversation} conv
   * @param {Message} m
   */
  update(li, conv, m) {
    const { reactions } = this.deps;
    reactions.update(li, conv, m);
    const can = this.allowed(conv, m);
    const confirming = this.confirming === m.id && can.del;
    const picking = reactions.picking === m.id;
    const reporting = this.reporting === m.id && !m.deleted;
    const blockable = this.deps.accounts && m.from !== this.deps.me;
    const blocked = blockable && isBlocked(m.from);
    // A folded message (message-list.js) offers Unblock alone: the other buttons' names
    // quote its text.
    const folded = blocked && conv.isRoom && !isRevealed(m.id);
    const signature = `${can.edit}|${can.del}|${confirming}|${picking}|${reporting}|${Boolean(m.deleted)}|${blockable}|${blocked}|${folded}`;
    // An edit replaces the message object: the buttons' names quote the new text.
    if (li.dataset.tools === signature && toolsFor.get(li) === m) return;
    li.dataset.tools = signature;
    toolsFor.set(li, m);
    const box = part(li, '.tools');
    box.replaceChildren();
    box.classList.toggle('asking', confirming || reporting);
    if (folded) {
      box.append(
        this.button('', 'Unblock', `Unblock ${m.from}`, () => void this.block(conv, m.from, false)),
      );
      return;
    }
    // A message of files alone is named by its first file.
    const said = m.text || attachmentsOf(m)[0]?.name || '';
    const quote = said.length > QUOTE_CHARS ? `${said.slice(0, QUOTE_CHARS)}…` : said;
    if (confirming) {
      const yes = this.button('danger', 'Delete', `Yes, delete “${quote}”`, () =>
        this.remove(conv, m),
      );
      const no = this.button('', 'Cancel', 'Keep the message', () => this.ask(conv, 0));
      box.append(el('span', '', 'Delete this message? '), yes, ' ', no);
      return;
    }
    if (reporting) {
      this.reportForm(box, conv, m, quote);
      return;
    }
    if (!m.deleted) {
      const react = this.button('', 'React', `React to “${quote}”`, () => reactions.pick(conv, m));
      react.setAttribute('aria-expanded', String(picking));
      box.append(
        this.button('', 'Reply', `Reply to “${quote}”`, () => this.deps.beginReply(conv, m)),
        ' ',
        react,
      );
    }
    if (can.edit) {
      box.append(' ');
      box.append(this.button('', 'Edit', `Edit “${quote}”`, () => this.deps.beginEdit(conv, m)));
    }
    if (can.del) {
      box.append(' ');
      box.append(this.button('', 'Delete', `Delete “${quote}”`, () => this.ask(conv, m.id)));
    }
    if (this.deps.reports && !m.deleted && m.from !== this.deps.me) {
      box.append(' ');
      box.append(this.button('', 'Report', `Report “${quote}”`, () => this.askReport(conv, m.id)));
    }
    if (blockable) {
      // They are not told (docs/api.md, Blocks); Unblock is also in the Account dialog.
      const text = blocked ? 'Unblock' : 'Block';
      box.append(' ');
      box.append(
        this.button('', text, `${text} ${m.from}`, () => void this.block(conv, m.from, !blocked)),
      );
    }
  }

  /**
   * The question of a report: why, then Report or Cancel.
   * @param {HTMLElement} box
   * @param {Conversation} conv
   * @param {Message} m
   * @param {string} quote
   */
  reportForm(box, conv, m, quote) {
    const form = el('form', 'report-form');
    const reason = el('input');
    reason.type = 'text';
    reason.required = true;
    reason.maxLength = MAX_REASON_CHARS;
    reason.placeholder = 'What is wrong with it?';
    reason.setAttribute('aria-label', `Why report “${quote}”`);
    const send = el('button', 'link danger', 'Report');
    send.type = 'submit';
    send.setAttribute('aria-label', `Report “${quote}” to the moderators`);
    const no = this.button('', 'Cancel', 'Do not report it', () => this.askReport(conv, 0));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const why = reason.value.trim();
      if (why !== '') this.report(conv, m, why);
    });
    form.append(el('span', '', 'Report to the moderators: '), reason, ' ', send, ' ', no);
    box.append(form);
    queueMicrotask(() => reason.focus());
  }

  /**
   * Opens the report question for message `id` (0: closes it).
   * @param {Conversation} conv
   * @param {number} id
   */
  askReport(conv, id) {
    this.reporting = id;
    this.confirming = 0;
    this.deps.renderIf(conv);
  }

  /**
   * Reports message `m` of `conv` with `reason`.
   * @param {Conversation} conv
   * @param {Message} m
   * @param {string} reason
   */
  async report(conv, m, reason) {
    this.askReport(conv, 0);
    try {
      await call('POST', `messages/${m.id}/report`, { reason });
    } catch (e) {
      const err = ApiError.from(e);
      if (err.status === 401) this.deps.loggedOut();
      this.deps.notify(`Could not report the message: ${err.message}.`);
      return;
    }
    this.deps.notify('Reported. The moderators will look at it; you will hear what they decide.');
  }

  /**
   * Blocks (`on`) or unblocks `nick`, then shows `conv` again.
   * @param {Conversation} conv
   * @param {string} nick
   * @param {boolean} on
   */
  async block(conv, nick, on) {
    const error = await setBlocked(nick, on);
    if (error) this.deps.notify(`Could not ${on ? 'block' : 'unblock'} ${nick}: ${error}.`);
    else
      this.deps.notify(on ? `You blocked ${nick}. They are not told.` : `You unblocked ${nick}.`);
    this.deps.renderIf(conv);
  }

  /**
   * A link-styled button with an accessible name.
   * @param {string} className
   * @param {string} text
   * @param {string} label
   * @param {() => void} onClick
   */
  button(className, text, label, onClick) {
    const button = el('button', `link ${className}`.trim(), text);
    button.type = 'button';
    button.setAttribute('aria-label', label);
    button.addEventListener('click', onClick);
    return button;
  }

  /**
   * Asks about deleting message `id` (0: the question goes away); focus follows.
   * @param {Conversation} conv
   * @param {number} id
   */
  ask(conv, id) {
    const previous = this.confirming;
    this.confirming = id;
    this.deps.renderIf(conv);
    const key = `m:${id || previous}`;
    const li = [...document.querySelectorAll('#messages li.msg')].find(
      (n) => n instanceof HTMLElement && n.dataset.key === key,
    );
    // Back from the question: to Delete, which asked it (Reply comes first in the tools).
    const button = li?.querySelector(
      id ? '.tools button.danger' : '.tools button[aria-label^="Delete"]',
    );
    if (button instanceof HTMLElement) button.focus();
  }

  /**
   * Deletes message `m` of `conv`.
   * @param {Conversation} conv
   * @param {Message} m
   */
  async remove(conv, m) {
    this.confirming = 0;
    try {
      await call('DELETE', `messages/${m.id}`);
    } catch (e) {
      const err = ApiError.from(e);
      this.deps.renderIf(conv);
      if (err.code !== 'CHAT_MESSAGE_NOT_FOUND') {
        this.deps.notify(`Could not delete the message: ${err.message}.`);
        return;
      }
    }
    // The `delete` event does the same, on every tab; whichever comes first.
    if (conv.patch(m.id, { deleted: true })) this.deps.renderIf(conv);
    this.deps.messageGone(m.id);
  }

  /**
   * Saves `text` as the new text of message `m` of `conv`; true once the server has it.
   * @param {Conversation} conv
   * @param {Message} m
   * @param {string} text
   */
  async edit(conv, m, text) {
    try {
      await call('PATCH', `messages/${m.id}`, { text });
    } catch (e) {
      const err = ApiError.from(e);
      if (err.status === 401) this.deps.loggedOut();
      this.deps.notify(`Could not edit the message: ${err.message}.`);
      return false;
    }
    // Shown at once; the `edit` event brings the server's time of it. The message's own
    // time marks it edited without claiming to be newer than that event.
    const shown = conv.byId.get(m.id) ?? m;
    if (conv.patch(m.id, { text, edited: Math.max(shown.edited ?? 0, shown.ts) })) {
      this.deps.renderIf(conv);
    }
    return true;
  }
}
