// What the page knows: conversations, their messages (by id, so that history pages, live
// events, replays and forwarded events merge without duplicates), unsent messages, read
// receipts and who is online. No DOM here.

/** The recipient that means everyone, and the id of the shared conversation. */
export const EVERYONE = 'all';
/** Most DM peers remembered in localStorage between visits. */
const MAX_REMEMBERED = 200;
/**
 * Most stored messages a conversation keeps in memory (and in the DOM) once the user reads at
 * its newest end: six pages of history. Older ones are dropped and load again on scrolling
 * up, so a tab left open for days does not grow without bound. Unread counts saturate here.
 */
export const KEEP = 300;

/** One conversation: everyone, or the direct messages with one user. */
export class Conversation {
  constructor(id) {
    this.id = id;
    /** Stored messages by id. */
    this.byId = new Map();
    this.sorted = null;
    /** Messages not yet stored, by clientId, in the order they were written. */
    this.pending = new Map();
    /** True once the newest page of history is in. */
    this.loaded = false;
    this.loading = false;
    /** Where the next older page starts; null when there is none, undefined before loading. */
    this.before = undefined;
    /** Bumped when the conversation is cleared, so that a page asked for before is dropped. */
    this.generation = 0;
    /** Newest message id the user has seen here; messages from others above it are unread. */
    this.readUpTo = 0;
    /** DMs: newest message of ours the peer has read (from `read` events). */
    this.peerRead = 0;
    /** DMs: newest message of the peer's we sent (or saw another tab send) a receipt for. */
    this.receiptSent = 0;
    /** Ids that came from the offline mailbox: unread even once history is loaded. */
    this.offlineIds = new Set();
  }

  get isDirect() {
    return this.id !== EVERYONE;
  }

  /** Stored messages, oldest first. */
  get messages() {
    this.sorted ??= [...this.byId.values()].sort((a, b) => a.id - b.id);
    return this.sorted;
  }

  /** Adds a stored message; false when it was already there. */
  add(message) {
    if (this.byId.has(message.id)) return false;
    this.byId.set(message.id, message);
    this.sorted = null;
    return true;
  }

  /** The newest message id, or 0. */
  newest() {
    const list = this.messages;
    return list.length === 0 ? 0 : list[list.length - 1].id;
  }

  /** The newest id of a message sent by `nick`, or 0. */
  newestFrom(nick) {
    const list = this.messages;
    for (let i = list.length - 1; i >= 0; i--) if (list[i].from === nick) return list[i].id;
    return 0;
  }

  /** Messages from others that the user has not seen. */
  unread(me) {
    let n = 0;
    for (const m of this.byId.values()) if (m.from !== me && m.id > this.readUpTo) n++;
    return n;
  }

  /**
   * Drops the oldest stored messages beyond `max`; the next older page then starts at the
   * oldest one kept (before any history is in, the first page sets that). Not while a page
   * is loading: it would land beyond a gap.
   */
  trim(max) {
    if (this.loading || this.byId.size <= max) return;
    const list = this.messages;
    const drop = list.length - max;
    for (let i = 0; i < drop; i++) {
      this.byId.delete(list[i].id);
      this.offlineIds.delete(list[i].id);
    }
    if (this.loaded) this.before = list[drop].id;
    this.sorted = list.slice(drop);
  }

  /** Forgets the stored messages (after a reset); unsent ones stay. */
  clear() {
    this.byId.clear();
    this.sorted = null;
    this.loaded = false;
    this.loading = false;
    this.before = undefined;
    this.offlineIds.clear();
    this.generation++;
  }
}

/** Everything the page shows for the signed-in user `me`. */
export class Model {
  constructor(me) {
    this.me = me;
    this.convs = new Map();
    this.online = new Set([me]);
    /** Users we have a DM conversation with (remembered between visits). */
    this.peers = new Set();
    /** Users seen online during this visit: listed (as offline once gone) until a reload. */
    this.seen = new Set();
    this.storageKey = `ssechat:${me}`;
    this.conv(EVERYONE);
    this.restore();
  }

  /** The conversation `id` ('all' or a nick), created when new. */
  conv(id) {
    let conv = this.convs.get(id);
    if (!conv) {
      conv = new Conversation(id);
      this.convs.set(id, conv);
    }
    return conv;
  }

  /** The conversation a message belongs to. */
  convOf(message) {
    if (message.to === EVERYONE) return this.conv(EVERYONE);
    return this.conv(message.from === this.me ? message.to : message.from);
  }

  /** Adds a message from any source; returns its conversation, or null when known already. */
  addMessage(message) {
    const conv = this.convOf(message);
    // Ours, sent from this tab: the stored message takes the pending one's place.
    if (message.from === this.me && message.clientId) conv.pending.delete(message.clientId);
    if (!conv.add(message)) return null;
    if (conv.isDirect) this.addPeer(conv.id);
    return conv;
  }

  /**
   * Applies a read receipt; returns the conversation it changed, or null. Ours (another tab
   * or device of ours read the peer's messages) marks them seen; the peer's marks ours read.
   * Receipts only move marks forward, so a replayed one changes nothing (no ids to keep).
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

  setOnline(list) {
    this.online = new Set(list);
    this.online.add(this.me);
    for (const nick of list) if (nick !== this.me) this.seen.add(nick);
  }

  join(nick) {
    this.online.add(nick);
    if (nick !== this.me) this.seen.add(nick);
  }

  leave(nick) {
    if (nick !== this.me) this.online.delete(nick);
  }

  addPeer(nick) {
    if (nick === this.me || nick === EVERYONE || this.peers.has(nick)) return;
    this.peers.add(nick);
    this.conv(nick);
    this.save();
  }

  /** The DM conversations to list: every known peer and everyone seen online, online first. */
  directList() {
    const names = new Set([...this.peers, ...this.seen]);
    const byName = (a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' });
    const list = [...names].sort(byName);
    return [
      ...list.filter((n) => this.online.has(n)),
      ...list.filter((n) => !this.online.has(n)),
    ];
  }

  /**
   * Drops every stored message (event: reset); history is loaded again. After `unknown` the
   * server's ids may have started again (a new database): marks kept by id mean nothing.
   */
  reset(reason) {
    for (const conv of this.convs.values()) {
      conv.clear();
      if (reason === 'unknown') {
        conv.readUpTo = 0;
        conv.peerRead = 0;
        conv.receiptSent = 0;
      }
    }
    if (reason === 'unknown') this.save();
  }

  /** Total unread messages, for the menu button on small screens. */
  totalUnread() {
    let n = 0;
    for (const conv of this.convs.values()) n += conv.unread(this.me);
    return n;
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
