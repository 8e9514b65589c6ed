// The chat page: wires the stream, the model, the outbox and the view together.

import { call } from './api.js';
import { nickProblem, rememberMode, showLogin } from './login.js';
import { EVERYONE, Model } from './model.js';
import { Outbox } from './outbox.js';
import { Stream } from './stream.js';
import { renderConversations, renderMessages } from './view.js';

/** Messages per history page. */
const PAGE = 50;
/** Scrolling this close to the top of the list loads the next older page. */
const LOAD_OLDER_AT_PX = 120;
/** Delay before a read receipt goes out, so a burst of messages costs one. */
const RECEIPT_DELAY_MS = 250;

const $ = (id) => document.getElementById(id);
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
    this.hiddenCount = 0;
    this.receiptTimer = 0;
    this.bannerTimer = 0;
    this.stream = new Stream(me, {
      onEvent: (type, data) => this.onEvent(type, data),
      onStatus: (status, retryAt) => this.showStatus(status, retryAt),
      onSync: (state) => this.onSync(state),
      snapshot: () => ({ online: [...this.model.online] }),
      onSignal: (m) => this.onSignal(m),
      onLoggedOut: () => this.loggedOut(),
    });
    this.outbox = new Outbox({
      onChange: (item) => this.renderIf(this.model.conv(item.to)),
      onSent: (item, reply) => this.sent(item, reply),
      onLoggedOut: () => this.loggedOut(),
    });
    this.actions = {
      retry: (item) => this.outbox.retry(item),
      discard: (item) => {
        this.model.conv(item.to).pending.delete(item.clientId);
        this.renderIf(this.model.conv(item.to));
        $('text').focus();
      },
    };
  }

  start(notice) {
    $('login-view').hidden = true;
    $('app').hidden = false;
    $('me').textContent = this.me;
    $('notice-text').textContent = notice;
    $('notice').hidden = !notice;
    this.updateTitle();
    this.wire();
    this.open(EVERYONE, false);
    this.showStatus('connecting', 0);
    this.stream.start();
    $('text').focus();
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
    $('logout').addEventListener('click', () => this.logout());
    $('menu').addEventListener('click', () => this.toggleMenu());
    $('retry-now').addEventListener('click', () => this.stream.retryNow());
    $('notice-close').addEventListener('click', () => {
      $('notice').hidden = true;
      $('text').focus();
    });
    $('scroller').addEventListener('scroll', () => {
      if ($('scroller').scrollTop < LOAD_OLDER_AT_PX) this.loadOlder(this.model.conv(this.active));
    });
    $('new-dm').addEventListener('submit', (e) => {
      e.preventDefault();
      const nick = $('dm-nick').value.trim().normalize('NFC');
      const problem = nick === this.me ? 'That is you.' : nickProblem(nick);
      $('dm-error').textContent = problem;
      if (problem) return;
      $('dm-nick').value = '';
      this.model.addPeer(nick);
      this.open(nick, true);
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') {
        this.hiddenCount = 0;
        this.updateTitle();
        this.markRead();
      }
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && $('app').classList.contains('menu-open')) {
        this.toggleMenu(false);
        $('menu').focus();
      }
    });
  }

  // ---- events from the stream (our own, or forwarded by the leader tab)

  onEvent(type, data) {
    switch (type) {
      case 'hello':
        this.model.setOnline(data.online);
        this.renderList();
        this.ensureLoaded(this.model.conv(this.active));
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
        this.renderList();
        this.renderHeader();
        return;
      case 'leave':
        this.model.leave(data.user);
        this.renderList();
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
    this.renderList();
    this.ensureLoaded(this.model.conv(this.active));
  }

  onMessage(m) {
    const conv = this.model.addMessage(m);
    if (!conv) return;
    if (m.offline) conv.offlineIds.add(m.id);
    if (m.from !== this.me && document.visibilityState === 'hidden') {
      this.hiddenCount++;
      this.updateTitle();
    }
    this.renderIf(conv, m.from === this.me ? 'bottom' : 'auto');
    this.markRead();
  }

  onSignal(m) {
    if (m.t === 'viewed') {
      const conv = this.model.conv(m.conv);
      if (m.upTo > conv.readUpTo) {
        conv.readUpTo = m.upTo;
        this.renderList();
      }
    }
  }

  // ---- conversations and history

  /** Shows conversation `id`; `byUser` moves focus to the message box. */
  open(id, byUser) {
    this.active = id;
    const conv = this.model.conv(id);
    const title = id === EVERYONE ? 'Everyone' : id;
    $('conv-title').textContent = title;
    $('text-label').textContent = `Message to ${title}`;
    $('text').placeholder = id === EVERYONE ? 'Message everyone' : `Message ${id}`;
    $('messages').replaceChildren();
    $('app').dataset.conv = id;
    this.renderHeader();
    this.render(conv, 'bottom');
    this.renderList();
    this.ensureLoaded(conv);
    this.markRead();
    if (byUser) {
      this.toggleMenu(false);
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

  ensureLoaded(conv) {
    if (conv.loaded || conv.loading || !this.stream.ready) return;
    this.loadPage(conv, true);
  }

  loadOlder(conv) {
    if (conv.loaded && !conv.loading && conv.before !== null && conv.before !== undefined) {
      this.loadPage(conv, false);
    }
  }

  /**
   * Loads a page of history. The first page ends at the stream's resume point: everything
   * after it arrives on the stream, and messages in both merge by id.
   */
  async loadPage(conv, first) {
    const before = first ? (this.stream.lastId ?? 0) + 1 : conv.before;
    const generation = conv.generation;
    conv.loading = true;
    this.showHistoryState(conv);
    let page;
    try {
      page = await call(
        'GET',
        `messages?with=${encodeURIComponent(conv.id)}&before=${before}&limit=${PAGE}`,
      );
    } catch (err) {
      if (generation !== conv.generation) return;
      conv.loading = false;
      this.showHistoryState(conv, `Could not load messages: ${err.message}.`);
      if (err.status === 401) this.loggedOut();
      return;
    }
    if (generation !== conv.generation) return;
    let newestSeen = 0;
    for (const m of page.messages) {
      this.model.addMessage(m);
      if (!conv.offlineIds.has(m.id)) newestSeen = Math.max(newestSeen, m.id);
    }
    // History was there before this visit: seen, except what waited in the mailbox.
    if (first) conv.readUpTo = Math.max(conv.readUpTo, newestSeen);
    conv.loaded = true;
    conv.loading = false;
    conv.before = page.before;
    this.renderIf(conv, first ? 'bottom' : 'older');
    this.markRead();
    // A first page that does not fill the view leaves nothing to scroll: load on.
    const scroller = $('scroller');
    if (conv.id === this.active && scroller.scrollHeight <= scroller.clientHeight) {
      this.loadOlder(conv);
    }
  }

  showHistoryState(conv, error = '') {
    if (conv.id !== this.active) return;
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

  // ---- rendering

  renderIf(conv, scroll = 'auto') {
    if (conv.id === this.active) this.render(conv, scroll);
    this.renderList();
  }

  /**
   * Renders the active conversation. `scroll`: 'bottom' scrolls to the newest message;
   * 'older' keeps what the user looks at in place while a page is added above; 'auto'
   * follows new messages only when the view was already at the bottom.
   */
  render(conv, scroll) {
    const scroller = $('scroller');
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 40;
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    renderMessages($('messages'), conv, this.me, this.actions);
    this.showHistoryState(conv);
    if (scroll === 'bottom' || (scroll === 'auto' && atBottom)) {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (scroll === 'older') {
      scroller.scrollTop = scroller.scrollHeight - fromBottom;
    }
  }

  renderList() {
    renderConversations($('convs'), this.model, this.active, (id, byUser) => this.open(id, byUser));
    const total = this.model.totalUnread();
    const badge = $('menu-badge');
    badge.textContent = total > 0 ? String(total) : '';
    badge.hidden = total === 0;
    $('people-count').textContent = `${this.model.online.size} online`;
  }

  showStatus(status, retryAt) {
    const labels = {
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnecting: 'Reconnecting…',
      offline: 'Offline',
    };
    const pill = $('status');
    pill.dataset.state = status;
    pill.textContent = labels[status] ?? status;
    $('app').dataset.status = status;
    clearInterval(this.bannerTimer);
    const banner = $('banner');
    banner.hidden = status !== 'offline';
    if (status !== 'offline') return;
    const update = () => {
      const left = Math.ceil((retryAt - Date.now()) / 1000);
      $('banner-text').textContent =
        navigator.onLine === false
          ? 'You are offline. Messages you write are sent when the connection is back.'
          : left > 0
            ? `Cannot reach the server. Trying again in ${left} s.`
            : 'Cannot reach the server. Trying again…';
    };
    update();
    if (retryAt > 0) this.bannerTimer = setInterval(update, 1000);
  }

  updateTitle() {
    // As the seed's page: "nick (n)" while messages arrive in a hidden tab.
    document.title = this.hiddenCount > 0 ? `${this.me} (${this.hiddenCount})` : this.me;
  }

  toggleMenu(open = !$('app').classList.contains('menu-open')) {
    $('app').classList.toggle('menu-open', open);
    $('menu').setAttribute('aria-expanded', String(open));
    if (open) $('sidebar').querySelector('[aria-current]')?.focus();
  }

  // ---- sending and reading

  /** Grows the message box with its text, up to its CSS max-height. */
  fitText() {
    const text = $('text');
    text.style.height = 'auto';
    text.style.height = `${text.scrollHeight + 2}px`;
  }

  send() {
    const text = $('text').value;
    if (text.trim() === '') return;
    const conv = this.model.conv(this.active);
    const item = this.outbox.send(conv.id, text);
    conv.pending.set(item.clientId, item);
    $('text').value = '';
    this.fitText();
    this.render(conv, 'bottom');
  }

  sent(item, reply) {
    const conv = this.model.conv(item.to);
    conv.pending.delete(item.clientId);
    // The stream may have brought it first; the id decides.
    this.model.addMessage({
      id: reply.id,
      from: this.me,
      to: item.to,
      text: item.text,
      ts: reply.ts,
      clientId: item.clientId,
    });
    this.renderIf(conv, 'bottom');
  }

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
      this.renderList();
    }
    if (!conv.isDirect || conv.id === this.me) return;
    clearTimeout(this.receiptTimer);
    this.receiptTimer = setTimeout(() => {
      const upTo = conv.newestFrom(conv.id);
      if (upTo <= conv.receiptSent || this.active !== conv.id) return;
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
    sessions?.postMessage({ t: 'logout' });
    this.stream.stop();
    location.replace('/');
  }

  loggedOut() {
    sessions?.postMessage({ t: 'logout' });
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
      chat.stream.stop();
      location.replace('/');
    } else if (m?.t === 'login' && (!chat || chat.me !== m.user)) {
      chat?.stream.stop();
      location.replace('/');
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
