// What the page knows: conversations, their messages (by id, so that history pages, live
// events, replays and forwarded events merge without duplicates), their edits and deletes,
// unsent messages, read receipts and who is online. No DOM here. Rooms (rooms.js) are
// conversations too, with the id '#name'.

import { Conversation, EVERYONE, isRoom } from './conversation.js';
import { mentionsOf } from './mentions.js';

/** @typedef {import('../src/http/api-types.js').ApiMessage} ApiMessage */
/** @typedef {import('../src/http/api-types.js').ApiEdit} ApiEdit */
/** @typedef {import('../src/http/api-types.js').ApiDelete} ApiDelete */
/** @typedef {import('../src/http/api-types.js').ApiReceipt} ApiReceipt */
/** @typedef {import('../src/http/api-types.js').ApiReset['reason']} ResetReason */

export { EVERYONE, isRoom, KEEP } from './conversation.js';

/** Most DM peers remembered in localStorage between visits. */
const MAX_REMEMBERED = 200;

/** Everything the page shows for the signed-in user `me`. */
export class Model {
  /** @param {string} me */
  constructor(me) {
    this.me = me;
    /** @type {Map<string, Conversation>} */
    this.convs = new Map();
    this.online = new Set([me]);
    /**
     * How many users are online when the server only counts them (a crowd); else null.
     * @type {number | null}
     */
    this.onlineCount = null;
    /** Users we have a DM conversation with (remembered between visits). @type {Set<string>} */
    this.peers = new Set();
    /**
     * Users seen online during this visit: listed (as offline once gone) until a reload.
     * @type {Set<string>}
     */
    this.seen = new Set();
    this.storageKey = `ssechat:${me}`;
    this.conv(EVERYONE);
    this.restore();
  }

  /**
   * The conversation `id` ('all', '#room' or a nick), created when new.
   * @param {string} id
   */
  conv(id) {
    let conv = this.convs.get(id);
    if (!conv) {
      conv = new Conversation(id);
      this.convs.set(id, conv);
    }
    return conv;
  }

  /**
   * The conversation a message belongs to.
   * @param {ApiMessage} message
   */
  convOf(message) {
    return this.conv(this.convIdOf(message));
  }

  /**
   * The id of the conversation of an event with `from` and `to` (a message, an edit…).
   * @param {{ from: string, to: string }} event
   */
  convIdOf({ from, to }) {
    if (to === EVERYONE || isRoom(to)) return to;
    return from === this.me ? to : from;
  }

  /**
   * Adds a message from any source; returns its conversation, or null when known already.
   * A conversation showing an older window holds a newer message back (Conversation.add),
   * which still counts as new: it is announced, and the window's pages bring it later.
   * @param {ApiMessage} message
   */
  addMessage(message) {
    const conv = this.convOf(message);
    // Ours, sent from this tab: the stored message takes the pending one's place.
    if (message.from === this.me && message.clientId) conv.pending.delete(message.clientId);
    if (!conv.add(message)) return null;
    if (conv.isDirect) this.addPeer(conv.id);
    return conv;
  }

  /**
   * Applies an `edit` or `delete` event; returns the conversation it changed, or null. Only a
   * conversation the page has is touched: one loaded later reads the latest text from history.
   * In a room, a moderator's delete has `from` the moderator: the room is the conversation.
   * @param {ApiEdit | ApiDelete} event
   */
  addPatch(event) {
    const conv = this.convs.get(this.convIdOf(event));
    if (!conv) return null;
    /** @type {import('./conversation.js').Patch} */
    const patch =
      'text' in event
        ? { text: event.text, edited: event.ts, mentions: mentionsOf(event) }
        : { deleted: true };
    return conv.patch(event.message, patch) ? conv : null;
  }

  /**
   * Forgets a room's conversation (we left it or were removed): a rejoin loads it again.
   * @param {string} id
   */
  dropConv(id) {
    if (id !== EVERYONE) this.convs.delete(id);
  }

  /**
   * Applies a read receipt; returns the conversation it changed, or null. Ours (another tab
   * or device of ours read the peer's messages) marks them seen; the peer's marks ours read.
   * Receipts only move marks forward, so a replayed one changes nothing (no ids to keep).
   * @param {ApiReceipt} receipt
   */
  addReceipt(receipt) {
    if (receipt.from === this.me) {
      const conv = this.conv(receipt.to);
      if (receipt.upTo <= conv.readUpTo && receipt.upTo <= conv.receiptSent) return null;
      conv.readUpTo = Math.max(conv.readUpTo, receipt.upTo);
      conv.receiptSent = Math.max(conv.receiptSent, receipt.upTo);
      return conv;
    }
    if (receipt.to === this.me) {
      const conv = this.conv(receipt.from);
      if (receipt.upTo <= conv.peerRead) return null;
      conv.peerRead = receipt.upTo;
      this.addPeer(conv.id);
      this.save();
      return conv;
    }
    return null;
  }

  /**
   * Who is online. In a crowd the server lists only the first users and says how many there
   * are (`count`, before our own stream); `onlineCount` is then that number, else null.
   * @param {readonly string[]} list
   * @param {number | null} [count]
   */
  setOnline(list, count) {
    this.online = new Set(list);
    this.onlineCount =
      typeof count === 'number' && count > list.length
        ? count + (list.includes(this.me) ? 0 : 1)
        : null;
    this.online.add(this.me);
    for (const nick of list) if (nick !== this.me) this.seen.add(nick);
  }

  /**
   * `nick` came online.
   * @param {string} nick
   */
  join(nick) {
    this.online.add(nick);
    if (nick !== this.me) this.seen.add(nick);
  }

  /**
   * `nick` went offline.
   * @param {string} nick
   */
  leave(nick) {
    if (nick !== this.me) this.online.delete(nick);
  }

  /**
   * Lists a DM conversation with `nick`, remembered between visits.
   * @param {string} nick
   */
  addPeer(nick) {
    if (nick === this.me || nick === EVERYONE || this.peers.has(nick)) return;
    this.peers.add(nick);
    this.conv(nick);
    this.save();
  }

  /** The DM conversations to list: every known peer and everyone seen online, online first. */
  directList() {
    const names = new Set([...this.peers, ...this.seen]);
    /** @type {(a: string, b: string) => number} */
    const byName = (a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' });
    const list = [...names].sort(byName);
    return [...list.filter((n) => this.online.has(n)), ...list.filter((n) => !this.online.has(n))];
  }

  /**
   * Drops every stored message (event: reset); history is loaded again. After `unknown` the
   * server's ids may have started again (a new database): marks kept by id mean nothing.
   * @param {ResetReason} reason
   */
  reset(reason) {
    for (const conv of this.convs.values()) {
      conv.clear();
      if (reason === 'unknown') {
        conv.readUpTo = 0;
        conv.peerRead = 0;
        conv.receiptSent = 0;
        conv.floor = 0;
      }
    }
    if (reason === 'unknown') this.save();
  }

  /** Total unread messages, for the menu button on small screens and the title. */
  totalUnread() {
    let n = 0;
    for (const conv of this.convs.values()) n += conv.unread(this.me);
    return n;
  }

  /**
   * Applies the server's unread counts (GET /api/v1/unread), which cover the events up to
   * `asOf`: each listed conversation's marker and counts; every other conversation has
   * nothing unread up to there.
   * @param {ReadonlyArray<import('../src/http/api-types.js').ApiUnread>} list
   * @param {number} asOf
   */
  setCounts(list, asOf) {
    for (const conv of this.convs.values()) conv.counted = null;
    for (const entry of list) {
      const conv = this.conv(entry.with);
      conv.readUpTo = Math.max(conv.readUpTo, entry.marker);
      conv.counted = { unread: entry.unread, mentions: entry.mentions, asOf };
      if (conv.isDirect) this.addPeer(conv.id);
    }
  }

  // The API has no list of a user's conversations, nor of receipts: remember DM peers and the
  // read marks on our messages in this browser, so a reload shows the same list.
  restore() {
    try {
      const saved = JSON.parse(localStorage.getItem(this.storageKey) ?? 'null');
      if (!saved || !Array.isArray(saved.peers)) return;
      for (const nick of saved.peers.slice(0, MAX_REMEMBERED)) {
        if (typeof nick === 'string' && nick !== this.me && nick !== EVERYONE) {
          this.peers.add(nick);
          const conv = this.conv(nick);
          const upTo = saved.read?.[nick];
          if (Number.isSafeInteger(upTo)) conv.peerRead = upTo;
        }
      }
    } catch {
      // Storage disabled or corrupt: start empty.
    }
  }

  save() {
    const peers = [...this.peers].slice(-MAX_REMEMBERED);
    /** @type {Record<string, number>} */
    const read = {};
    for (const nick of peers) {
      const upTo = this.convs.get(nick)?.peerRead ?? 0;
      if (upTo > 0) read[nick] = upTo;
    }
    try {
      localStorage.setItem(this.storageKey, JSON.stringify({ peers, read }));
    } catch {
      // Storage full or disabled: not remembered, no harm.
    }
  }

  /** Forgets what this browser remembered for the user (logging out). */
  forget() {
    try {
      localStorage.removeItem(this.storageKey);
    } catch {
      // Nothing to forget.
    }
  }
}
