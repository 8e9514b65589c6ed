// The chat page: wires the stream, the model and the parts of the page together. The parts
// are sidebar.js (conversation list), history.js (paging), composer.js (message box and
// outbox) and status.js (connection status, title); view.js builds the DOM.

import { call } from './api.js';
import { Composer } from './composer.js';
import { History } from './history.js';
import { rememberMode, showLogin } from './login.js';
import { EVERYONE, KEEP, Model } from './model.js';
import { Sidebar } from './sidebar.js';
import { StatusView, TitleCount } from './status.js';
import { Stream } from './stream.js';
import { $, renderMessages } from './view.js';

/** Delay before a read receipt goes out, so a burst of messages costs one. */
const RECEIPT_DELAY_MS = 250;

// Logins and logouts in one tab reach the others, which follow (one cookie per browser).
const sessions = typeof BroadcastChannel === 'function' ? new BroadcastChannel('ssechat-session') : null;

let chat = null;

/** The signed-in page of user `me`. One per page load: logging out reloads the page. */
class Chat {
  constructor(me, auth) {
    this.me = me;
    this.auth = auth;
    this.model = new Model(me);
    this.active = EVERYONE;
    this.receiptTimer = 0;
    /** True once the page is going away on purpose: unsent messages no longer hold it. */
    this.leaving = false;
    this.title = new TitleCount(me);
    this.status = new StatusView();
    this.sidebar = new Sidebar(this);
    this.history = new History(this);
    this.composer = new Composer(this);
    this.stream = new Stream(me, {
      onEvent: (type, data) => this.onEvent(type, data),
      onStatus: (status, retryAt) => this.status.show(status, retryAt),
      onSync: (state) => this.onSync(state),
      snapshot: () => ({ online: [...this.model.online] }),
      onSignal: (m) => this.onSignal(m),
      onLoggedOut: () => this.loggedOut(),
    });
  }

  start(notice) {
    $('login-view').hidden = true;
    $('app').hidden = false;
    $('me').textContent = this.me;
    $('notice-text').textContent = notice;
    $('notice').hidden = !notice;
    this.title.update();
    this.wire();
    this.open(EVERYONE, false);
    this.status.show('connecting', 0);
    this.stream.start();
    $('text').focus();
  }

  wire() {
    this.sidebar.wire();
    this.history.wire();
    this.composer.wire();
    $('logout').addEventListener('click', () => this.logout());
    $('retry-now').addEventListener('click', () => this.stream.retryNow());
    $('notice-close').addEventListener('click', () => {
      $('notice').hidden = true;
      $('text').focus();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') {
        this.title.clear();
        this.markRead();
      }
    });
    // Unsent messages live in this page only: closing it would lose them without a word.
    window.addEventListener('beforeunload', (e) => {
      if (this.leaving || this.composer.unsent() === 0) return;
      e.preventDefault();
      e.returnValue = '';
    });
    // A page restored from the back/forward cache missed what its tabs said meanwhile.
    window.addEventListener('pageshow', (e) => {
      if (e.persisted) location.reload();
    });
  }

  // ---- events from the stream (our own, or forwarded by the leader tab)

  onEvent(type, data) {
    switch (type) {
      case 'hello':
        this.model.setOnline(data.online);
        this.sidebar.render();
        this.history.ensureLoaded(this.model.conv(this.active));
        return;
      case 'message':
        this.onMessage(data);
        return;
      case 'read': {
        const conv = this.model.addReceipt(data);
        if (conv) this.renderIf(conv);
        return;
      }
      case 'join':
        this.model.join(data.user);
        this.sidebar.render();
        this.renderHeader();
        return;
      case 'leave':
        this.model.leave(data.user);
        this.sidebar.render();
        this.renderHeader();
        return;
      case 'reset':
        // Our view cannot be brought up to date exactly: drop it; the hello that follows
        // loads history again.
        this.model.reset(data.reason);
        this.renderIf(this.model.conv(this.active));
        return;
    }
  }

  onSync(state) {
    this.model.setOnline(state.online);
    this.sidebar.render();
    this.history.ensureLoaded(this.model.conv(this.active));
  }

  onMessage(m) {
    const conv = this.model.addMessage(m);
    if (!conv) return;
    if (m.offline) conv.offlineIds.add(m.id);
    if (m.from !== this.me && document.visibilityState === 'hidden') this.title.bump();
    this.renderIf(conv, m.from === this.me ? 'bottom' : 'auto');
    this.markRead();
  }

  onSignal(m) {
    if (m.t === 'viewed') {
      const conv = this.model.conv(m.conv);
      if (m.upTo > conv.readUpTo) {
        conv.readUpTo = m.upTo;
        this.sidebar.render();
      }
    }
  }

  // ---- conversations and history

  /** Shows conversation `id`; `byUser` moves focus to the message box. */
  open(id, byUser) {
    // The conversation left behind keeps only its newest messages (model.js KEEP).
    this.model.conv(this.active).trim(KEEP);
    this.active = id;
    const conv = this.model.conv(id);
    const title = id === EVERYONE ? 'Everyone' : id;
    $('conv-title').textContent = title;
    this.composer.show(id, title);
    $('messages').replaceChildren();
    $('app').dataset.conv = id;
    this.renderHeader();
    this.render(conv, 'bottom');
    this.sidebar.render();
    this.history.ensureLoaded(conv);
    this.markRead();
    if (byUser) {
      this.sidebar.toggle(false);
      $('text').focus();
    }
  }

  renderHeader() {
    const id = this.active;
    $('conv-sub').textContent =
      id === EVERYONE
        ? `${this.model.online.size} online`
        : id === this.me
          ? 'Notes to yourself'
          : this.model.online.has(id)
            ? 'Online'
            : 'Offline: they get your messages when they are back';
  }

  // ---- rendering

  /** Renders `conv` if it is shown, and the list; a conversation not shown is trimmed. */
  renderIf(conv, scroll = 'auto') {
    if (conv.id === this.active) this.render(conv, scroll);
    else conv.trim(KEEP);
    this.sidebar.render();
  }

  /**
   * Renders the active conversation. `scroll`: 'bottom' scrolls to the newest message;
   * 'older' keeps what the user looks at in place while a page is added above; 'auto'
   * follows new messages only when the view was already at the bottom. Reading at the bottom,
   * the oldest messages beyond KEEP are dropped; scrolled up, nothing is taken away.
   */
  render(conv, scroll) {
    const scroller = $('scroller');
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 40;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    const follow = scroll === 'bottom' || (scroll === 'auto' && atBottom);
    if (follow) conv.trim(KEEP);
    renderMessages($('messages'), conv, this.me, this.composer.actions);
    this.history.showState(conv);
    if (follow) {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (scroll === 'older') {
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
    }
  }

  // ---- reading

  /**
   * The user sees the active conversation when the tab is visible: its messages are read.
   * Other tabs are told (unread counts), and in a DM the peer gets a receipt.
   */
  markRead() {
    if (document.visibilityState !== 'visible' || $('app').hidden) return;
    const conv = this.model.conv(this.active);
    const newest = conv.newest();
    if (newest > conv.readUpTo) {
      conv.readUpTo = newest;
      this.stream.post({ t: 'viewed', conv: conv.id, upTo: newest });
      this.sidebar.render();
    }
    if (!conv.isDirect || conv.id === this.me) return;
    clearTimeout(this.receiptTimer);
    this.receiptTimer = setTimeout(() => {
      // Still shown? The tab may have been hidden, or the conversation left, meanwhile.
      if (document.visibilityState !== 'visible' || this.active !== conv.id) return;
      const upTo = conv.newestFrom(conv.id);
      if (upTo <= conv.receiptSent) return;
      const previous = conv.receiptSent;
      conv.receiptSent = upTo;
      call('POST', 'read', { upTo }).catch(() => {
        conv.receiptSent = previous;
      });
    }, RECEIPT_DELAY_MS);
  }

  async logout() {
    $('logout').disabled = true;
    try {
      await call('DELETE', 'session');
    } catch (err) {
      if (err.status !== 401) {
        $('logout').disabled = false;
        $('notice-text').textContent = `Could not log out: ${err.message}.`;
        $('notice').hidden = false;
        return;
      }
    }
    this.model.forget();
    this.loggedOut();
  }

  /** The session is gone (here or in another tab): back to the login form. */
  loggedOut() {
    sessions?.postMessage({ t: 'logout' });
    this.leave();
  }

  /** Leaves the page for a fresh one (the session changed). */
  leave() {
    this.leaving = true;
    this.stream.stop();
    location.replace('/');
  }
}

function enter(user, auth, notice = '') {
  rememberMode(auth);
  sessions?.postMessage({ t: 'login', user });
  chat = new Chat(user, auth);
  chat.start(notice);
}

if (sessions) {
  sessions.onmessage = (e) => {
    const m = e.data;
    // Another tab logged in or out: this browser's cookie changed, follow it.
    if (m?.t === 'logout' && chat) {
      chat.leave();
    } else if (m?.t === 'login' && (!chat || chat.me !== m.user)) {
      if (chat) chat.leave();
      else location.replace('/');
    }
  };
}

async function boot() {
  let session;
  try {
    session = await call('GET', 'session');
  } catch (err) {
    showLogin(enter, err.status === 401 ? '' : `Cannot reach the server: ${err.message}.`);
    return;
  }
  chat = new Chat(session.user, session.auth);
  rememberMode(session.auth);
  chat.start('');
}

// The module is deferred: the DOM is ready.
boot();
