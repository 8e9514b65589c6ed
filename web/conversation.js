// One conversation's messages: stored ones by id (so that history pages, live events,
// replays and forwarded events merge without duplicates), unsent ones, edits and deletes
// waiting for their message, and the read marks. No DOM here.

import { mentionsMe } from './mentions.js';
import { patchReplies } from './replies.js';

/** @typedef {import('../src/http/api-types.js').ApiMessage} Message a stored message */
/** @typedef {import('./outbox.js').OutboxItem} OutboxItem */
/**
 * An edit (its text, time and, from the server, mentions) or a delete of a message.
 * @typedef {{ text: string, edited: number, mentions?: readonly string[], deleted?: undefined }
 *   | { deleted: true }} Patch
 */
/**
 * The server's unread counts (GET /api/v1/unread): messages above our read marker up to
 * `asOf`, the newest event id the page had when the answer came; newer ones it counts itself.
 * @typedef {{ unread: number, mentions: number, asOf: number }} Counted
 */

/** The recipient that means everyone, and the id of the shared conversation. */
export const EVERYONE = 'all';
/**
 * Most stored messages a conversation keeps in memory (and in the DOM) once the user reads at
 * its newest end: six pages of history. Older ones are dropped and load again on scrolling
 * up, so a tab left open for days does not grow without bound. Unread counts saturate here.
 */
export const KEEP = 300;
/**
 * Most edits and deletes a conversation holds for messages it does not have (yet): one that
 * arrives while a history page is on its way is applied when the page lands.
 */
const MAX_PATCHES = 200;

/**
 * True for a room's conversation id ('#name').
 * @param {string} id
 */
export const isRoom = (id) => id.startsWith('#');

/** One conversation: everyone, a room, or the direct messages with one user. */
export class Conversation {
  /** @param {string} id 'all', '#room' or a nick */
  constructor(id) {
    this.id = id;
    /** Stored messages by id. @type {Map<number, Message>} */
    this.byId = new Map();
    /** @type {Message[] | null} */
    this.sorted = null;
    /**
     * Messages not yet stored, by clientId, in the order they were written.
     * @type {Map<string, OutboxItem>}
     */
    this.pending = new Map();
    /** True once the newest page of history is in. */
    this.loaded = false;
    this.loading = false;
    /**
     * Where the next older page starts; null when there is none, undefined before loading.
     * @type {number | null | undefined}
     */
    this.before = undefined;
    /** Bumped when the conversation is cleared, so that a page asked for before is dropped. */
    this.generation = 0;
    /** Newest message id the user has seen here; messages from others above it are unread. */
    this.readUpTo = 0;
    /** DMs: newest message of ours the peer has read (from `read` events). */
    this.peerRead = 0;
    /** DMs: newest message of the peer's we sent (or saw another tab send) a receipt for. */
    this.receiptSent = 0;
    /**
     * Ids that came from the offline mailbox: unread even once history is loaded.
     * @type {Set<number>}
     */
    this.offlineIds = new Set();
    /**
     * Edits and deletes of messages not here, by message id: applied when they come.
     * @type {Map<number, Patch>}
     */
    this.patches = new Map();
    /**
     * Rooms: the event id at which we joined. Messages before it never came on our stream,
     * so the first history page reaches at least that far (history.js).
     */
    this.floor = 0;
    /** Where the first history page ended (its `before`), 0 before one was asked for. */
    this.firstBefore = 0;
    /** The server's unread counts, or null when it listed none here. @type {Counted | null} */
    this.counted = null;
    /**
     * The "New messages" divider goes before the first message from someone else above this
     * id: readUpTo when the conversation was opened (or the tab hidden); null for none,
     * undefined until the first history page says where the user's marker is.
     * @type {number | null | undefined}
     */
    this.dividerAfter = null;
    /**
     * Null while the messages held reach the live end (the usual case). A number while they
     * are a window further back (jump.js, opened at a search result): the newest id the
     * window covers. Stored messages above it (live ones, our own sends) are held back, not
     * added, so that the window never shows a message beyond a gap; the pages going forward
     * bring them, and the window is live again once a page reaches the end.
     * @type {number | null}
     */
    this.ceiling = null;
    /** The newest id held back above the ceiling, 0 for none (jump.js). */
    this.missed = 0;
    /** True while a page after the window's end is on its way (jump.js). */
    this.loadingNewer = false;
  }

  /** True while the messages held are a window that does not reach the live end. */
  get detached() {
    return this.ceiling !== null;
  }

  /** True for a DM (or notes to self): receipts and presence apply. */
  get isDirect() {
    return this.id !== EVERYONE && !isRoom(this.id);
  }

  get isRoom() {
    return isRoom(this.id);
  }

  /**
   * Stored messages, oldest first.
   * @returns {Message[]}
   */
  get messages() {
    this.sorted ??= [...this.byId.values()].sort((a, b) => a.id - b.id);
    return this.sorted;
  }

  /**
   * Adds a stored message; false when it was already there. Above the ceiling of a detached
   * window it is held back instead (remembered in `missed`): true the first time; live
   * messages come in id order, so one at or below `missed` is a repeat (a replay).
   * @param {Message} message
   */
  add(message) {
    if (this.ceiling !== null && message.id > this.ceiling) {
      if (message.id <= this.missed) return false;
      this.missed = message.id;
      return true;
    }
    const known = this.byId.get(message.id);
    if (known) {
      // Our own message, added from the send's answer, learns its mentions from the event.
      if (known.mentions || !message.mentions || known.text !== message.text) return false;
      this.byId.set(message.id, { ...known, mentions: message.mentions });
      this.sorted = null;
      return true;
    }
    const patch = this.patches.get(message.id);
    if (patch) {
      this.patches.delete(message.id);
      message = applyPatch(message, patch);
    }
    this.byId.set(message.id, message);
    this.sorted = null;
    return true;
  }

  /**
   * Applies an edit ({text, edited}) or a delete ({deleted: true}) to message `id`, or keeps
   * it for when the message comes. The message object is replaced, so that the view sees a
   * new one. A patch never brings back a deleted message's text.
   * @param {number} id
   * @param {Patch} patch
   */
  patch(id, patch) {
    // Replies quote the original: their quotes follow it, loaded or not.
    const quoted = patchReplies(this.byId, id, patch);
    if (quoted) this.sorted = null;
    const message = this.byId.get(id);
    if (!message) {
      const kept = this.patches.get(id);
      if (kept?.deleted) return false;
      this.patches.delete(id);
      this.patches.set(id, patch);
      const oldest = this.patches.keys().next();
      if (this.patches.size > MAX_PATCHES && !oldest.done) this.patches.delete(oldest.value);
      return quoted;
    }
    // Deleted is final; an edit older than the text we show (a history page that was read
    // after it, then the event) changes nothing.
    if (message.deleted || (!patch.deleted && (message.edited ?? 0) > patch.edited)) {
      return quoted;
    }
    this.byId.set(id, applyPatch(message, patch));
    this.sorted = null;
    return true;
  }

  /** The newest message id, or 0. */
  newest() {
    const list = this.messages;
    return list.at(-1)?.id ?? 0;
  }

  /**
   * The newest id of a message sent by `nick`, or 0.
   * @param {string} nick
   */
  newestFrom(nick) {
    return this.messages.findLast((m) => m.from === nick)?.id ?? 0;
  }

  /**
   * Messages from others that the user has not seen: the server's count (while our marker is
   * below what it covers), and those the page has above it.
   * @param {string} me
   */
  unread(me) {
    return this.count(me, false);
  }

  /**
   * Unread messages that mention the user, counted as unread() counts.
   * @param {string} me
   */
  unreadMentions(me) {
    return this.count(me, true);
  }

  /**
   * @param {string} me
   * @param {boolean} mentions count only messages that mention `me`
   */
  count(me, mentions) {
    const counted = this.counted;
    const fromServer = counted && this.readUpTo < counted.asOf;
    let n = fromServer ? (mentions ? counted.mentions : counted.unread) : 0;
    const above = Math.max(this.readUpTo, counted?.asOf ?? 0);
    for (const m of this.byId.values()) {
      if (m.from === me || m.id <= above || m.deleted) continue;
      if (!mentions || mentionsMe(m.mentions ?? [], me)) n++;
    }
    return n;
  }

  /** The id the divider goes after, once its place is known (else null). */
  get divider() {
    return typeof this.dividerAfter === 'number' ? this.dividerAfter : null;
  }

  /**
   * Drops the oldest stored messages beyond `max`; the next older page then starts at the
   * oldest one kept (before any history is in, the first page sets that). Not while a page
   * is loading: it would land beyond a gap.
   * @param {number} max
   */
  trim(max) {
    if (this.loading || this.byId.size <= max) return;
    const list = this.messages;
    const drop = list.length - max;
    const kept = list.slice(drop);
    for (const m of list.slice(0, drop)) {
      this.byId.delete(m.id);
      this.offlineIds.delete(m.id);
    }
    if (this.loaded) this.before = kept[0]?.id;
    this.sorted = kept;
  }

  /** Forgets the stored messages (after a reset, or leaving a window); unsent ones stay. */
  clear() {
    this.byId.clear();
    this.sorted = null;
    this.loaded = false;
    this.loading = false;
    this.before = undefined;
    this.offlineIds.clear();
    this.patches.clear();
    this.ceiling = null;
    this.missed = 0;
    this.loadingNewer = false;
    this.generation++;
  }
}

/**
 * A copy of a message with an edit or delete applied (Conversation.patch).
 * @param {Message} message
 * @param {Patch} patch
 * @returns {Message}
 */
function applyPatch(message, patch) {
  if (!patch.deleted) {
    // Our own edit, shown before its event, keeps the mentions until the event brings them.
    if (!patch.mentions) return { ...message, text: patch.text, edited: patch.edited };
    const { mentions: _old, ...kept } = message;
    const edited = { ...kept, text: patch.text, edited: patch.edited };
    return patch.mentions.length > 0 ? { ...edited, mentions: patch.mentions } : edited;
  }
  // A deleted message keeps no files, as the server sends it.
  const { edited: _dropped, mentions: _gone, attachments: _files, ...rest } = message;
  return { ...rest, text: '', deleted: true };
}
