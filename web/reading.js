// Reading: what the user has seen. The open conversation of a visible tab is read; the other
// tabs are told (their unread counts follow), and in a DM the peer gets a read receipt. Rooms
// and Everyone get no receipts (the server refuses them for rooms).

import { call } from './api.js';
import { $ } from './view.js';

/** Delay before a read receipt goes out, so a burst of messages costs one. */
const RECEIPT_DELAY_MS = 250;

/** The read marks of `chat` (app.js). */
export class Reading {
  constructor(chat) {
    this.chat = chat;
    this.receiptTimer = 0;
  }

  /**
   * The user sees the active conversation when the tab is visible: its messages are read.
   * Other tabs are told (unread counts), and in a DM the peer gets a receipt.
   */
  markRead() {
    const { chat } = this;
    if (document.visibilityState !== 'visible' || $('app').hidden) return;
    const conv = chat.model.conv(chat.active);
    const newest = conv.newest();
    if (newest > conv.readUpTo) {
      conv.readUpTo = newest;
      chat.stream.post({ t: 'viewed', conv: conv.id, upTo: newest });
      chat.sidebar.render();
    }
    if (!conv.isDirect || conv.id === chat.me) return;
    clearTimeout(this.receiptTimer);
    this.receiptTimer = setTimeout(() => {
      // Still shown? The tab may have been hidden, or the conversation left, meanwhile.
      if (document.visibilityState !== 'visible' || chat.active !== conv.id) return;
      const upTo = conv.newestFrom(conv.id);
      if (upTo <= conv.receiptSent) return;
      const previous = conv.receiptSent;
      conv.receiptSent = upTo;
      call('POST', 'read', { upTo }).catch(() => {
        conv.receiptSent = previous;
      });
    }, RECEIPT_DELAY_MS);
  }

  /** Another tab of ours read a conversation up to a message. */
  onSignal(m) {
    if (m.t !== 'viewed' || typeof m.conv !== 'string') return;
    // A room we left has no conversation any more: nothing to mark.
    if (m.conv.startsWith('#') && !this.chat.model.convs.has(m.conv)) return;
    const conv = this.chat.model.conv(m.conv);
    if (m.upTo > conv.readUpTo) {
      conv.readUpTo = m.upTo;
      this.chat.sidebar.render();
    }
  }
}
