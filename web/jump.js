// Opening a conversation at a message (a search result, search.js): the page around it
// (`GET /messages?around=`), the message scrolled to the middle and highlighted, older pages
// as the user scrolls up (history.js, as ever) and newer ones as they scroll down (`after=`).
//
// Such a window does not reach the live end, so live messages cannot simply be appended to
// it: they would show after a gap, out of order. While it is detached (Conversation.ceiling
// is a number), newer stored messages are held back (Conversation.add) and only remembered
// (`missed`), and the pill offers to jump to the newest. The pages going down raise the
// ceiling; the page that reaches the end (its `after` is null) makes the window live again,
// unless a message held back meanwhile is newer than that page, which one more page brings.
// Leaving the conversation, sending in it, or the pill drop the window for the live end.

import { ApiError, call } from './api.js';
import { LOAD_AT_PX, PAGE } from './history.js';
import { $ } from './view.js';

/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('../src/http/api-types.js').ApiWindowPage} WindowPage */
/**
 * What jumping needs from the page.
 * @typedef {object} JumpDeps
 * @property {import('./model.js').Model} model
 * @property {() => string} active the id of the open conversation
 * @property {import('./history.js').History} history older pages, the newest page
 * @property {(conv: Conversation, scroll?: import('./message-list.js').Scroll) => void}
 *   renderIf renders `conv` if shown
 * @property {(id: number) => boolean} reveal scrolls to message `id` and highlights it
 *   (MessageView.reveal)
 * @property {() => void} markRead the user sees the open conversation
 * @property {(text: string) => void} notify says something in the notice line
 * @property {() => void} loggedOut the session is gone
 */

/** Windows opened at a message, and their way back to the live end. */
export class Jump {
  /** @param {JumpDeps} deps */
  constructor(deps) {
    this.deps = deps;
  }

  wire() {
    $('scroller').addEventListener('scroll', () => {
      const conv = this.current();
      if (conv.detached && nearBottom()) this.loadNewer(conv);
    });
    $('newer').addEventListener('click', () => this.loadNewer(this.current()));
    $('live-pill').addEventListener('click', () => {
      this.toLive(this.current());
      $('scroller').focus();
    });
  }

  /** The open conversation. */
  current() {
    return this.deps.model.conv(this.deps.active());
  }

  /**
   * Shows `conv` (opened already) around message `id`: what it held is dropped, and
   * messages newer than the window are held back from now on.
   * @param {Conversation} conv
   * @param {number} id
   */
  async to(conv, id) {
    const { model, renderIf, reveal, notify, loggedOut } = this.deps;
    conv.clear();
    conv.ceiling = 0;
    conv.dividerAfter = null;
    conv.loading = true;
    renderIf(conv, 'newer');
    const generation = conv.generation;
    let page;
    try {
      page = await this.page(conv, `around=${id}`);
    } catch (e) {
      const err = ApiError.from(e);
      if (generation !== conv.generation) return;
      if (err.status === 401) return loggedOut();
      // The message went (deleted, or out of sight) or the server failed: the newest instead.
      notify(`Could not open that message: ${err.message}.`);
      this.toLive(conv);
      return;
    }
    if (generation !== conv.generation) return;
    conv.before = page.before;
    this.reach(conv, page);
    for (const m of page.messages) model.addMessage(m);
    conv.loaded = true;
    conv.loading = false;
    renderIf(conv, 'newer');
    reveal(id);
    this.settled(conv);
  }

  /**
   * Loads the page after the window's end.
   * @param {Conversation} conv
   */
  async loadNewer(conv) {
    const { model, renderIf, loggedOut } = this.deps;
    if (!conv.detached || !conv.loaded || conv.loadingNewer) return;
    const from = /** @type {number} */ (conv.ceiling);
    const generation = conv.generation;
    conv.loadingNewer = true;
    this.showState(conv);
    let page;
    try {
      page = await this.page(conv, `after=${from}`);
    } catch (e) {
      const err = ApiError.from(e);
      if (generation !== conv.generation) return;
      conv.loadingNewer = false;
      this.showState(conv);
      if (err.status === 401) loggedOut();
      else this.deps.notify(`Could not load newer messages: ${err.message}.`);
      return;
    }
    if (generation !== conv.generation) return;
    conv.loadingNewer = false;
    this.reach(conv, page);
    for (const m of page.messages) model.addMessage(m);
    renderIf(conv, 'newer');
    // A page that moved the end on and still leaves the view at the bottom: load on.
    if ((conv.ceiling ?? Number.POSITIVE_INFINITY) > from) this.settled(conv);
  }

  /**
   * A page landed: when the window is live again the user reads at its end (marks move);
   * while it is not and the view shows its end, the next page comes.
   * @param {Conversation} conv
   */
  settled(conv) {
    if (conv.id !== this.deps.active()) return;
    if (!conv.detached) this.deps.markRead();
    else if (nearBottom()) this.loadNewer(conv);
  }

  /**
   * Moves the window's end to what `page` covers, or makes it live: a page that reached the
   * end holds every message the server had when it answered, so what was held back until
   * then is in it, unless newer (then the next page starts after this one).
   * @param {Conversation} conv
   * @param {WindowPage} page
   */
  reach(conv, page) {
    const newest = Math.max(conv.ceiling ?? 0, page.messages.at(-1)?.id ?? 0);
    if (page.after !== null) conv.ceiling = Math.max(newest, page.after);
    else if (conv.missed > newest) conv.ceiling = newest;
    else {
      conv.ceiling = null;
      conv.missed = 0;
    }
  }

  /**
   * Drops the window of `conv`, if it shows one, for its newest messages.
   * @param {Conversation} conv
   */
  toLive(conv) {
    if (!conv.detached) return;
    conv.clear();
    conv.dividerAfter = null;
    this.deps.renderIf(conv, 'bottom');
    this.deps.history.ensureLoaded(conv);
  }

  /**
   * One page of `conv`'s messages; `where` is `around=<id>` or `after=<id>`.
   * @param {Conversation} conv
   * @param {string} where
   * @returns {Promise<WindowPage>}
   */
  async page(conv, where) {
    const path = `messages?with=${encodeURIComponent(conv.id)}&${where}&limit=${PAGE}`;
    const page = /** @type {Partial<WindowPage> | null} */ (await call('GET', path));
    return {
      messages: Array.isArray(page?.messages) ? page.messages : [],
      before: typeof page?.before === 'number' ? page.before : null,
      after: typeof page?.after === 'number' ? page.after : null,
    };
  }

  /**
   * The button under the messages (newer ones, loading) and the pill to the live end, for
   * the open conversation.
   * @param {Conversation} conv
   */
  showState(conv) {
    if (conv.id !== this.deps.active()) return;
    const newer = $('newer');
    newer.hidden = !conv.detached || !conv.loaded;
    newer.textContent = conv.loadingNewer ? 'Loading newer messages…' : 'Load newer messages';
    const pill = $('live-pill');
    pill.hidden = !conv.detached;
    pill.textContent =
      conv.missed > 0 ? 'New messages: jump to the newest ↓' : 'Jump to the newest ↓';
  }
}

/** True when the view shows the end of the list (the next newer page is due). */
function nearBottom() {
  const scroller = $('scroller');
  return scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - LOAD_AT_PX;
}
