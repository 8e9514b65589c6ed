// History: the newest page of a conversation when it is first shown, older pages as the user
// scrolls up (or after the model dropped them, model.js KEEP), and the line above the
// messages that says what is going on.

import { call } from './api.js';
import { $ } from './view.js';

/** Messages per history page. */
const PAGE = 50;
/** Scrolling this close to the top of the list loads the next older page. */
const LOAD_OLDER_AT_PX = 120;

/** The history loader of `chat` (app.js). */
export class History {
  constructor(chat) {
    this.chat = chat;
  }

  wire() {
    $('scroller').addEventListener('scroll', () => {
      if ($('scroller').scrollTop < LOAD_OLDER_AT_PX) {
        this.loadOlder(this.chat.model.conv(this.chat.active));
      }
    });
  }

  /** Loads the newest page of `conv` unless it is in, or the stream is not live yet. */
  ensureLoaded(conv) {
    if (conv.loaded || conv.loading || !this.chat.stream.ready) return;
    this.loadPage(conv, true);
  }

  loadOlder(conv) {
    if (conv.loaded && !conv.loading && conv.before !== null && conv.before !== undefined) {
      this.loadPage(conv, false);
    }
  }

  /**
   * Loads a page of history. The first page ends at the stream's resume point (or, in a room,
   * at our join if that is newer): everything after it arrives on the stream, and messages in
   * both merge by id.
   */
  async loadPage(conv, first) {
    const { chat } = this;
    const before = first ? Math.max(chat.stream.lastId ?? 0, conv.floor) + 1 : conv.before;
    if (first) conv.firstBefore = before;
    const generation = conv.generation;
    conv.loading = true;
    this.showState(conv);
    let page;
    try {
      page = await call(
        'GET',
        `messages?with=${encodeURIComponent(conv.id)}&before=${before}&limit=${PAGE}`,
      );
    } catch (err) {
      if (generation !== conv.generation) return;
      conv.loading = false;
      this.showState(conv, `Could not load messages: ${err.message}.`);
      if (err.status === 401) chat.loggedOut();
      return;
    }
    if (generation !== conv.generation) return;
    let newestSeen = 0;
    for (const m of page.messages) {
      chat.model.addMessage(m);
      if (!conv.offlineIds.has(m.id)) newestSeen = Math.max(newestSeen, m.id);
    }
    // History was there before this visit: seen, except what waited in the mailbox.
    if (first) conv.readUpTo = Math.max(conv.readUpTo, newestSeen);
    conv.loaded = true;
    conv.loading = false;
    conv.before = page.before;
    chat.renderIf(conv, first ? 'bottom' : 'older');
    chat.markRead();
    // A first page that does not fill the view leaves nothing to scroll: load on.
    const scroller = $('scroller');
    if (conv.id === chat.active && scroller.scrollHeight <= scroller.clientHeight) {
      this.loadOlder(conv);
    }
  }

  /**
   * We joined room `conv` at event `id`. What was said there before it never came on our
   * stream (it may be newer than our resume point, in a room that shows its whole history):
   * the first page must reach that far, and one that ended before it is read again.
   */
  joinedAt(conv, id) {
    if (!Number.isSafeInteger(id) || id <= conv.floor) return;
    conv.floor = id;
    if ((conv.loaded || conv.loading) && conv.firstBefore <= id) {
      conv.clear();
      this.chat.renderIf(conv);
      if (conv.id === this.chat.active) this.ensureLoaded(conv);
    }
  }

  /** The line above the messages (loading, an error, the beginning) and the Older button. */
  showState(conv, error = '') {
    if (conv.id !== this.chat.active) return;
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
