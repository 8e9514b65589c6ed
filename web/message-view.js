// The open conversation's messages on screen: where the view scrolls when it renders (the
// divider when a conversation opens, the newest message while the user reads at the bottom,
// nowhere while they read further up), and the "New messages ↓" pill that says something
// arrived below while they are scrolled up.

import { renderMessages } from './message-list.js';
import { KEEP } from './model.js';
import { $ } from './view.js';

/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./message-list.js').Scroll} Scroll */
/**
 * What the view needs from the page.
 * @typedef {object} MessageViewDeps
 * @property {string} me
 * @property {() => Conversation} current the open conversation
 * @property {() => import('./message-list.js').FailedActions} actions retry and discard
 *   (Composer.actions)
 * @property {import('./message-list.js').Tools} tools Edit and Delete (MessageTools)
 * @property {(conv: Conversation) => void} showState the line above the messages (History)
 * @property {() => void} markRead the user sees the newest messages (Reading.markRead)
 */

/** Within this many pixels of the end, the view counts as at the bottom. */
const BOTTOM_PX = 40;
/** Space left above the divider when a conversation opens at it. */
const DIVIDER_MARGIN_PX = 8;
/** How long a message opened from a search stays highlighted (its fade is in search.css). */
const FOUND_MS = 4_000;

/** The message list's scrolling and its "New messages ↓" pill. */
export class MessageView {
  /** @param {MessageViewDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** The newest message id shown, to tell new messages from a re-render. */
    this.newest = 0;
  }

  wire() {
    $('scroller').addEventListener('scroll', () => {
      if (!this.atBottom()) return;
      $('new-pill').hidden = true;
      this.deps.markRead();
    });
    $('new-pill').addEventListener('click', () => {
      this.toBottom();
      $('new-pill').hidden = true;
      this.deps.markRead();
    });
    // Messages that arrive while the tab is hidden get the divider above them when it is
    // back, unless it already marks unread ones.
    document.addEventListener('visibilitychange', () => {
      const conv = this.deps.current();
      if (document.visibilityState === 'hidden' && conv.unread(this.deps.me) === 0) {
        conv.dividerAfter = conv.readUpTo;
      }
    });
  }

  /** True when the view shows the newest messages (within BOTTOM_PX of the end). */
  atBottom() {
    const scroller = $('scroller');
    return scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - BOTTOM_PX;
  }

  toBottom() {
    const scroller = $('scroller');
    scroller.scrollTop = scroller.scrollHeight;
  }

  /**
   * Another conversation opens: the divider goes before what the user has not read (once
   * history says where that is, if it is not in), and the pill goes.
   * @param {Conversation} conv
   */
  opened(conv) {
    conv.dividerAfter = conv.loaded ? conv.readUpTo : undefined;
    this.newest = conv.newest();
    $('new-pill').hidden = true;
  }

  /**
   * Renders the open conversation, and leaves the view where `scroll` says (message-list.js
   * Scroll). Reading at the bottom, the oldest messages beyond KEEP are dropped; scrolled up,
   * nothing is taken away, and new messages from others show the pill instead of moving the
   * view.
   * @param {Conversation} conv
   * @param {Scroll} scroll
   */
  render(conv, scroll) {
    const { me, actions, tools, showState } = this.deps;
    const scroller = $('scroller');
    const atBottom = this.atBottom();
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    const follow = scroll === 'bottom' || scroll === 'open' || (scroll === 'auto' && atBottom);
    if (follow) conv.trim(KEEP);
    renderMessages($('messages'), conv, me, actions(), tools);
    showState(conv);
    const newest = conv.newest();
    const arrived = conv.messages.some((m) => m.id > this.newest && m.from !== me);
    this.newest = Math.max(this.newest, newest);
    const divider = $('messages').querySelector('.divider');
    if (scroll === 'open' && divider instanceof HTMLElement) {
      const top = divider.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
      scroller.scrollTop += top - DIVIDER_MARGIN_PX;
    } else if (follow) {
      this.toBottom();
    } else if (scroll === 'older') {
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
    } else if (arrived && scroll === 'auto') {
      $('new-pill').hidden = false;
    }
    if (this.atBottom()) $('new-pill').hidden = true;
  }

  /**
   * Scrolls message `id` to the middle of the view and highlights it for a while (a message
   * opened from a search, jump.js); false when it is not shown.
   * @param {number} id
   */
  reveal(id) {
    const li = $('messages').querySelector(`li[data-key="m:${id}"]`);
    if (!(li instanceof HTMLElement)) return false;
    const scroller = $('scroller');
    const box = li.getBoundingClientRect();
    const view = scroller.getBoundingClientRect();
    scroller.scrollTop += box.top - view.top - Math.max(0, (view.height - box.height) / 2);
    li.classList.add('found');
    setTimeout(() => li.classList.remove('found'), FOUND_MS);
    return true;
  }
}
