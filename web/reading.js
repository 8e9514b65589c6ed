// Reading: what the user has seen. The open conversation of a visible tab, scrolled to its
// newest message, is read: the other tabs are told (their unread counts follow), the server's
// read marker moves (unread.js), and in a DM the peer gets a read receipt. Rooms and Everyone
// get no receipts (the server refuses them for rooms).

import { call } from './api.js';
import { $ } from './view.js';

/** Delay before a read receipt goes out, so a burst of messages costs one. */
const RECEIPT_DELAY_MS = 250;

/**
 * What reading needs from the page.
 * @typedef {object} ReadingDeps
 * @property {import('./model.js').Model} model
 * @property {() => string} active the id of the open conversation
 * @property {(message: import('./stream.js').TabMessage) => void} post tells this user's other
 *   tabs (Stream.post)
 * @property {() => void} listChanged unread counts changed (the sidebar renders)
 * @property {() => boolean} atBottom the view shows the newest messages (not scrolled up)
 * @property {(id: string, upTo: number) => void} marked the user read conversation `id` up to
 *   `upTo` (Unread.read)
 */

/** The read marks: ours, the other tabs', and receipts to DM peers. */
export class Reading {
  /** @param {ReadingDeps} deps */
  constructor(deps) {
    this.deps = deps;
    this.receiptTimer = 0;
  }

  /**
   * The user sees the active conversation when the tab is visible: its messages are read.
   * Other tabs are told (unread counts), and in a DM the peer gets a receipt.
   */
  markRead() {
    const { model, active, post, listChanged } = this.deps;
    if (document.visibilityState !== 'visible' || $('app').hidden || !this.deps.atBottom()) return;
    const conv = model.conv(active());
    // An older window (jump.js) is not what is new here: marks move once it is live again.
    if (conv.detached) return;
    const newest = conv.newest();
    // The newest page is in and shown: the server's counts here are what the user now saw.
    let changed = conv.loaded && conv.counted !== null;
    if (conv.loaded) conv.counted = null;
    if (newest > conv.readUpTo) {
      conv.readUpTo = newest;
      post({ t: 'viewed', conv: conv.id, upTo: newest });
      this.deps.marked(conv.id, newest);
      changed = true;
    }
    if (changed) listChanged();
    if (!conv.isDirect || conv.id === model.me) return;
    clearTimeout(this.receiptTimer);
    this.receiptTimer = setTimeout(() => {
      // Still shown? The tab may have been hidden, or the conversation left, meanwhile.
      if (document.visibilityState !== 'visible' || active() !== conv.id) return;
      const upTo = conv.newestFrom(conv.id);
      if (upTo <= conv.receiptSent) return;
      const previous = conv.receiptSent;
      conv.receiptSent = upTo;
      call('POST', 'read', { upTo }).catch(() => {
        conv.receiptSent = previous;
      });
    }, RECEIPT_DELAY_MS);
  }

  /**
   * Another tab of ours read a conversation up to a message.
   * @param {{ t?: unknown, conv?: unknown, upTo?: unknown }} m what the tab posted
   */
  onSignal(m) {
    const { model, listChanged } = this.deps;
    if (m.t !== 'viewed' || typeof m.conv !== 'string') return;
    // A room we left has no conversation any more: nothing to mark.
    if (m.conv.startsWith('#') && !model.convs.has(m.conv)) return;
    const conv = model.conv(m.conv);
    if (typeof m.upTo === 'number' && m.upTo > conv.readUpTo) {
      conv.readUpTo = m.upTo;
      listChanged();
    }
  }
}
