// The signed-in page: wires the stream, the model and the parts of the page together. The
// parts are sidebar.js (conversation list), rooms.js and room-offers.js (rooms, rooms to
// join, new room), members.js (the open room's members), header.js, history.js (paging),
// message-view.js (scrolling, the new-messages pill), composer.js (message box and outbox)
// with nick-complete.js and its files (attach-tray.js, file-sources.js, uploader.js),
// lightbox.js (a message's image, full size), message-tools.js (edit, delete), typing.js,
// search.js (the search box and its results) with jump.js (a conversation at a message),
// reading.js (read marks and receipts), alerts.js (unread counts, notification levels,
// notifications, push) and status.js (connection status, title); view.js and message-list.js
// build the DOM; address.js keeps the open conversation in the address. Each part gets what
// it uses, and nothing else, from here: this file is the page's composition root.

import { Account } from './account.js';
import { AccountData } from './account-data.js';
import { linkedConv, showConv } from './address.js';
import { Alerts } from './alerts.js';
import { ApiError, call } from './api.js';
import { loadBlocks, onBlocksChange } from './blocks.js';
import { Composer } from './composer.js';
import { eventApplier } from './events.js';
import { Header } from './header.js';
import { History } from './history.js';
import { Jump } from './jump.js';
import { Lightbox } from './lightbox.js';
import { Members } from './members.js';
import { MessageTools } from './message-tools.js';
import { MessageView } from './message-view.js';
import { ModQueue } from './mod-queue.js';
import { EVERYONE, KEEP, Model } from './model.js';
import { MuteBanner } from './mute.js';
import { NickComplete } from './nick-complete.js';
import { People } from './people.js';
import { Profiles } from './profiles.js';
import { Reactions } from './reactions.js';
import { Reading } from './reading.js';
import { ReportOutcomes } from './report-outcomes.js';
import { RoomOffers } from './room-offers.js';
import { Rooms } from './rooms.js';
import { Search } from './search.js';
import { Sidebar } from './sidebar.js';
import { StatusView, TitleCount } from './status.js';
import { Stream } from './stream.js';
import { Typing } from './typing.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiAuthMode} ApiAuthMode */
/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./message-list.js').Scroll} Scroll */
/** @typedef {import('./stream.js').Snapshot} Snapshot */

/** The signed-in page of user `me`. One per page load: logging out reloads the page. */
export class Chat {
  /**
   * @param {string} me
   * @param {ApiAuthMode} auth
   * @param {(message: { t: 'logout' }) => void} tellTabs tells this browser's other tabs
   *   (app.js), which follow a logout
   */
  constructor(me, auth, tellTabs) {
    this.me = me;
    this.auth = auth;
    this.tellTabs = tellTabs;
    const model = new Model(me);
    this.model = model;
    this.active = EVERYONE;
    /** True once the page is going away on purpose: unsent messages no longer hold it. */
    this.leaving = false;
    // What the parts share: the open conversation (read when they need it) and the page's
    // own reactions, which call parts built further down, so they are looked up when called.
    const active = () => this.active;
    /** @type {(id: string, byUser: boolean, at?: number) => void} */
    const open = (id, byUser, at) => this.open(id, byUser, at);
    /** @type {(text: string) => void} */
    const notify = (text) => this.status.say(text);
    const loggedOut = () => this.loggedOut();
    const renderList = () => {
      this.sidebar.render();
      // Our rooms or roles may have changed: the Reports button follows (mod-queue.js).
      this.modQueue?.roomsChanged();
      // And an open search's "In" filter (search.js).
      this.search?.listChanged();
    };
    const renderHeader = () => this.header.render();
    /** @type {(conv: Conversation, scroll?: Scroll) => void} */
    const renderIf = (conv, scroll) => this.renderIf(conv, scroll);
    const markRead = () => this.reading.markRead();
    this.title = new TitleCount(me);
    this.status = new StatusView();
    this.stream = new Stream(me, {
      onEvent: (type, data) => this.onEvent(type, data),
      onStatus: (status, retryAt) => this.status.show(status, retryAt),
      onSync: (state) => this.onSync(state),
      snapshot: () => ({ online: [...model.online], onlineCount: model.onlineCount }),
      onSignal: (m) => {
        this.reading.onSignal(m);
        this.alerts.onSignal(m);
      },
      onLoggedOut: loggedOut,
    });
    const stream = this.stream;
    this.alerts = new Alerts({ model, auth, stream, active, open, notify, changed: renderList });
    const alerts = this.alerts;
    this.typing = new Typing(me, active);
    this.history = new History({
      model,
      stream,
      active,
      renderIf,
      markRead,
      loggedOut,
      counts: () => alerts.unread.settled(),
    });
    this.rooms = new Rooms({
      model,
      stream,
      active,
      open,
      notify,
      loggedOut,
      joinedAt: (conv, id) => this.history.joinedAt(conv, id),
      renderList,
      renderHeader,
    });
    const rooms = this.rooms;
    this.offers = new RoomOffers({
      rooms,
      model,
      open,
      notify,
      joinedAt: (conv, id) => this.history.joinedAt(conv, id),
      renderList,
    });
    this.members = new Members({ model, rooms, active, notify });
    this.accountData = new AccountData({
      me,
      auth,
      confirm: (question) => window.confirm(question),
      deleted: () => {
        this.model.forget();
        this.loggedOut();
      },
    });
    this.header = new Header({ model, rooms, active });
    this.sidebar = new Sidebar({
      model,
      rooms,
      offers: this.offers,
      active,
      open,
      title: this.title,
    });
    this.reactions = new Reactions({ me, renderIf, notify, loggedOut });
    this.tools = new MessageTools({
      me,
      role: (room) => rooms.role(room),
      renderIf,
      notify,
      loggedOut,
      beginEdit: (conv, m) => this.composer.beginEdit(conv, m),
      beginReply: (conv, m) => this.composer.beginReply(conv, m),
      messageGone: (id) => this.composer.messageGone(id),
      reactions: this.reactions,
      reports: auth === 'accounts',
      accounts: auth === 'accounts',
    });
    const tools = this.tools;
    this.composer = new Composer({
      model,
      active,
      typed: (id) => this.typing.typed(id),
      edit: (conv, m, text) => tools.edit(conv, m, text),
      render: (conv, scroll) => this.view.render(conv, scroll),
      renderIf,
      live: (conv) => this.jump.toLive(conv),
      loggedOut,
      notMember: (room) => rooms.notMember(room),
      notify,
    });
    this.view = new MessageView({
      me,
      current: () => model.conv(this.active),
      actions: () => this.composer.actions,
      tools,
      showState: (conv) => {
        this.history.showState(conv);
        this.jump.showState(conv);
      },
      markRead,
    });
    this.jump = new Jump({
      model,
      active,
      history: this.history,
      renderIf,
      reveal: (id) => this.view.reveal(id),
      markRead,
      notify,
      loggedOut,
    });
    this.search = new Search({ model, rooms, open, loggedOut });
    this.nicks = new NickComplete({ model, active });
    this.lightbox = new Lightbox();
    this.reading = new Reading({
      model,
      active,
      post: (message) => stream.post(message),
      listChanged: renderList,
      atBottom: () => this.view.atBottom(),
      marked: (id, upTo) => alerts.unread.read(id, upTo),
    });
    this.profiles = new Profiles(auth === 'accounts', $('app'));
    const profiles = this.profiles;
    this.account = new Account({
      me,
      auth,
      changed: (p) => profiles.set(p),
      loggedOut,
    });
    this.people =
      auth === 'accounts' ? new People({ me, open, seen: (p) => profiles.set(p) }) : null;
    this.mute = new MuteBanner();
    /** @type {ModQueue | undefined} set last: renderList may run before */
    this.modQueue =
      auth === 'accounts' ? new ModQueue({ rooms, open, notify, loggedOut }) : undefined;
    this.onEvent = eventApplier({
      mute: this.mute,
      modQueue: this.modQueue,
      outcomes: auth === 'accounts' ? new ReportOutcomes(me, notify) : undefined,
      profiles,
      model,
      active,
      history: this.history,
      rooms,
      members: this.members,
      typing: this.typing,
      composer: this.composer,
      reactions: this.reactions,
      alerts,
      renderList,
      renderHeader,
      renderIf,
      markRead,
      notify,
    });
  }

  /**
   * Shows the page and opens the stream; `notice` is said in the notice line.
   * @param {string} notice
   */
  start(notice) {
    $('login-view').hidden = true;
    $('app').hidden = false;
    $('me').textContent = this.me;
    $('notice-text').textContent = notice;
    $('notice').hidden = !notice;
    this.title.show(0);
    this.wire();
    this.open(linkedConv() ?? EVERYONE, false);
    this.status.show('connecting', 0);
    this.stream.start();
    if (this.auth === 'accounts') {
      // Blocks change what the open conversation shows (message-list.js folds their lines).
      onBlocksChange(() => {
        const conv = this.model.conv(this.active);
        if (conv) this.renderIf(conv);
      });
      loadBlocks().catch(() => {});
    }
    $('text').focus();
  }

  wire() {
    this.sidebar.wire();
    this.rooms.wire();
    this.offers.wire();
    this.members.wire();
    this.history.wire();
    this.jump.wire();
    this.search.wire();
    this.view.wire();
    this.nicks.wire();
    this.composer.wire();
    this.mute.wire();
    this.lightbox.wire();
    this.alerts.wire();
    this.account.wire();
    this.people?.wire();
    this.modQueue?.wire();
    this.accountData.wire();
    // A reply's quote (replies.js) goes to the original: where it is shown already, else
    // the page around it (jump.js).
    $('messages').addEventListener('click', (e) => {
      const quote = e.target instanceof Element ? e.target.closest('[data-reply]') : null;
      if (!(quote instanceof HTMLElement)) return;
      const id = Number(quote.dataset.reply);
      if (!(id > 0) || this.view.reveal(id)) return;
      this.open(this.active, false, id);
    });
    // A link to a conversation (a notification's, a bookmark's) opens it.
    window.addEventListener('hashchange', () => {
      const id = linkedConv();
      if (id !== null && id !== this.active) this.open(id, true);
    });
    $('logout').addEventListener('click', () => this.logout());
    $('retry-now').addEventListener('click', () => this.stream.retryNow());
    $('notice-close').addEventListener('click', () => {
      $('notice').hidden = true;
      $('text').focus();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.markRead();
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

  /**
   * A follower tab learned the leader's state: who is online, and that the stream is live.
   * @param {Snapshot} state
   */
  onSync(state) {
    this.model.setOnline(state.online, state.onlineCount);
    this.sidebar.render();
    this.history.ensureLoaded(this.model.conv(this.active));
    this.rooms.load();
    this.alerts.live();
  }

  // ---- conversations and history

  /**
   * Shows conversation `id`, at message `at` if given (jump.js); `byUser` moves focus to the
   * message box.
   * @param {string} id
   * @param {boolean} byUser
   * @param {number} [at]
   */
  open(id, byUser, at = 0) {
    // The conversation left behind keeps only its newest messages (model.js KEEP), or, if it
    // showed an older window, none: it opens at the live end next time.
    const left = this.model.conv(this.active);
    if (left.detached) left.clear();
    else left.trim(KEEP);
    this.active = id;
    const conv = this.model.conv(id);
    if (conv.isDirect) this.model.addPeer(id);
    showConv(id);
    this.composer.show(id, id === EVERYONE ? 'Everyone' : id);
    this.nicks.close();
    this.tools.confirming = 0;
    $('messages').replaceChildren();
    $('app').dataset.conv = id;
    this.members.show(id);
    this.typing.render();
    this.header.show();
    this.alerts.levels.render();
    this.view.opened(conv);
    this.view.render(conv, 'open');
    this.sidebar.render();
    if (at > 0) this.jump.to(conv, at);
    else this.history.ensureLoaded(conv);
    this.markRead();
    if (byUser) {
      this.sidebar.toggle(false);
      $('text').focus();
    }
  }

  // ---- rendering

  /**
   * Renders `conv` if it is shown, and the list; a conversation not shown is trimmed.
   * @param {Conversation} conv
   * @param {Scroll} [scroll]
   */
  renderIf(conv, scroll = 'auto') {
    if (conv.id === this.active) this.view.render(conv, scroll);
    else conv.trim(KEEP);
    this.sidebar.render();
  }

  /** The user sees the active conversation (if the tab is visible): reading.js. */
  markRead() {
    this.reading.markRead();
  }

  /** Logs out, here and in this browser's other tabs. */
  async logout() {
    $('logout', HTMLButtonElement).disabled = true;
    // The next user of this browser did not ask for this one's notifications.
    await this.alerts.push.unsubscribe().catch(() => {});
    try {
      await call('DELETE', 'session');
    } catch (e) {
      const err = ApiError.from(e);
      if (err.status !== 401) {
        $('logout', HTMLButtonElement).disabled = false;
        this.status.say(`Could not log out: ${err.message}.`);
        return;
      }
    }
    this.model.forget();
    this.loggedOut();
  }

  /** The session is gone (here or in another tab): back to the login form. */
  loggedOut() {
    this.tellTabs({ t: 'logout' });
    this.leave();
  }

  /** Leaves the page for a fresh one (the session changed). */
  leave() {
    this.leaving = true;
    this.stream.stop();
    location.replace('/');
  }
}
