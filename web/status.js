// What the page says about itself around the conversation: the connection status pill, the
// offline banner with its countdown, and the tab title.

import { $ } from './view.js';

/** @type {Record<string, string>} */
const LABELS = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** The status pill and the offline banner. */
export class StatusView {
  constructor() {
    /** The banner's countdown; runs only while it has seconds left to show. */
    this.timer = 0;
  }

  /**
   * Shows `status` (Stream's onStatus); `retryAt` is when the next attempt starts, or 0.
   * @param {string} status
   * @param {number} retryAt
   */
  show(status, retryAt) {
    const pill = $('status');
    pill.dataset.state = status;
    pill.textContent = LABELS[status] ?? status;
    $('app').dataset.status = status;
    clearInterval(this.timer);
    const banner = $('banner');
    banner.hidden = status !== 'offline';
    if (status !== 'offline') return;
    const update = () => {
      const left = Math.ceil((retryAt - Date.now()) / 1000);
      if (left <= 0) clearInterval(this.timer);
      $('banner-text').textContent =
        navigator.onLine === false
          ? 'You are offline. Messages you write are sent when the connection is back.'
          : left > 0
            ? `Cannot reach the server. Trying again in ${left} s.`
            : 'Cannot reach the server. Trying again…';
    };
    if (retryAt > 0) this.timer = setInterval(update, 1000);
    update();
  }

  /**
   * Says `text` in the notice line under the top bar (a failed edit, a removal…).
   * @param {string} text
   */
  say(text) {
    $('notice-text').textContent = text;
    $('notice').hidden = false;
  }
}

/**
 * The tab title: the user's nick, as the seed's page has it, and "(n)" after it while n
 * messages are unread (Model.totalUnread, the server's counts included).
 */
export class TitleCount {
  /** @param {string} me */
  constructor(me) {
    this.me = me;
  }

  /**
   * Shows `unread` messages as unread.
   * @param {number} unread
   */
  show(unread) {
    const title = unread > 0 ? `${this.me} (${unread})` : this.me;
    if (document.title !== title) document.title = title;
  }
}
