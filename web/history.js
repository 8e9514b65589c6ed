// History: the newest page of a conversation when it is first shown, older pages as the user
// scrolls up (or after the model dropped them, model.js KEEP), and the line above the
// messages that says what is going on.

import { ApiError, call } from './api.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiHistoryPage} ApiHistoryPage */
/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./message-list.js').Scroll} Scroll */
/**
 * What the history loader needs from the page.
 * @typedef {object} HistoryDeps
 * @property {import('./model.js').Model} model
 * @property {{ readonly ready: boolean, readonly lastId: number | null }} stream whether the
 *   stream is live, and its resume point (Stream)
 * @property {() => string} active the id of the open conversation
 * @property {(conv: Conversation, scroll?: Scroll) => void} renderIf renders `conv` if shown
 * @property {() => void} markRead the user sees the open conversation
 * @property {() => void} loggedOut the session is gone
 * @property {() => Promise<number | null>} counts the server's unread counts are in: the
 *   event id they cover, or null when the server gave none (Unread.settled)
 */

/** Messages per history page (and per page around a message, jump.js). */
export const PAGE = 50;
/** Scrolling this close to an end of the list loads the next page that way (jump.js: newer). */
export const LOAD_AT_PX = 120;

/** The history loader: pages of messages, and the line that says how loading goes. */
export class History {
  /** @param {HistoryDeps} deps */
  constructor(deps) {
    this.deps = deps;
  }

  wire() {
    $('scroller').addEventListener('scroll', () => {
      if ($('scroller').scrollTop < LOAD_AT_PX) {
        this.loadOlder(this.deps.model.conv(this.deps.active()));
      }
    });
  }

  /**
   * Loads the newest page of `conv` unless it is in, or the stream is not live yet.
   * @param {Conversation} conv
   */
  ensureLoaded(conv) {
    if (conv.loaded || conv.loading || !this.deps.stream.ready) return;
    this.loadPage(conv, true);
  }

  /**
   * Loads the page before the oldest message of `conv`, if there is one.
   * @param {Conversation} conv
   */
  loadOlder(conv) {
    if (conv.loaded && !conv.loading && conv.before !== null && conv.before !== undefined) {
      this.loadPage(conv, false);
    }
  }

  /**
   * Loads a page of history. The first page ends at the stream's resume point (or, in a room,
   * at our join if that is newer): everything after it arrives on the stream, and messages in
   * both merge by id.
   * @param {Conversation} conv
   * @param {boolean} first
   */
  async loadPage(conv, first) {
    const { model, stream, active, renderIf, markRead, loggedOut } = this.deps;
    const firstBefore = Math.max(stream.lastId ?? 0, conv.floor) + 1;
    const before = first ? firstBefore : conv.before;
    if (first) conv.firstBefore = firstBefore;
    const generation = conv.generation;
    conv.loading = true;
    this.showState(conv);
    let page;
    try {
      const path = `messages?with=${encodeURIComponent(conv.id)}&before=${before}&limit=${PAGE}`;
      page = /** @type {ApiHistoryPage} */ (await call('GET', path));
    } catch (e) {
      const err = ApiError.from(e);
      if (generation !== conv.generation) return;
      conv.loading = false;
      this.showState(conv, `Could not load messages: ${err.message}.`);
      if (err.status === 401) loggedOut();
      return;
    }
    if (generation !== conv.generation) return;
    // Where the user's read marker is decides what of the first page is unread.
    const asOf = first ? await this.deps.counts() : null;
    if (generation !== conv.generation) return;
    let newestSeen = 0;
    for (const m of page.messages) {
      model.addMessage(m);
      if (!conv.offlineIds.has(m.id)) newestSeen = Math.max(newestSeen, m.id);
    }
    if (first) {
      // The server's marker counts (Model.setCounts put it in readUpTo): a conversation it
      // did not list has nothing unread up to what its counts cover. Without counts, history
      // was there before this visit: seen, except what waited in the mailbox.
      if (asOf === null) conv.readUpTo = Math.max(conv.readUpTo, newestSeen);
      else if (!conv.counted) conv.readUpTo = Math.max(conv.readUpTo, Math.min(newestSeen, asOf));
      if (conv.dividerAfter === undefined) conv.dividerAfter = conv.readUpTo;
    }
    conv.loaded = true;
    conv.loading = false;
    conv.before = page.before;
    renderIf(conv, first ? 'open' : 'older');
    markRead();
    // A first page that does not fill the view leaves nothing to scroll: load on.
    const scroller = $('scroller');
    if (conv.id === active() && scroller.scrollHeight <= scroller.clientHeight) {
      this.loadOlder(conv);
    }
  }

  /**
   * We joined room `conv` at event `id`. What was said there before it never came on our
   * stream (it may be newer than our resume point, in a room that shows its whole history):
   * the first page must reach that far, and one that ended before it is read again.
   * @param {Conversation} conv
   * @param {number} id
   */
  joinedAt(conv, id) {
    if (!Number.isSafeInteger(id) || id <= conv.floor) return;
    conv.floor = id;
    if ((conv.loaded || conv.loading) && conv.firstBefore <= id) {
      conv.clear();
      this.deps.renderIf(conv);
      if (conv.id === this.deps.active()) this.ensureLoaded(conv);
    }
  }

  /**
   * The line above the messages (loading, an error, the beginning) and the Older button.
   * @param {Conversation} conv
   * @param {string} [error]
   */
  showState(conv, error = '') {
    if (conv.id !== this.deps.active()) return;
    const more = conv.loaded && conv.before !== null && conv.before !== undefined;
    const older = $('older');
    older.hidden = !(more || error) || conv.loading;
    older.textContent = error ? 'Try again' : 'Load older messages';
    $('history-state').textContent = conv.loading
      ? 'Loading messages…'
      : error ||
        (conv.loaded && conv.before === null
          ? conv.byId.size === 0 && conv.pending.size === 0
            ? 'No messages yet.'
            : 'This is the beginning of the conversation.'
          : '');
    older.onclick = () => (conv.loaded ? this.loadOlder(conv) : this.ensureLoaded(conv));
  }
}
