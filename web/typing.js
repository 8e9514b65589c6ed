// "Someone is typing": telling the other side while the user writes (POST /typing, at most
// once per SEND_EVERY_MS per conversation, even right after a send: the server would drop a
// notice that came sooner), and showing who is typing in the open conversation from `typing`
// events, each for SHOW_MS unless their message comes first.

import { call } from './api.js';
import { EVERYONE, isRoom } from './model.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiTyping} ApiTyping */

/**
 * The server passes on one typing notice per conversation every 2 s and drops the rest
 * (docs/api.md); a little more, so that network jitter does not land one inside the 2 s.
 */
const SEND_EVERY_MS = 2_100;
/** How long a notice shows (docs/api.md: "about 4 s"). */
const SHOW_MS = 4_000;
/** Most typers remembered per conversation; more are not named one by one anyway. */
const MAX_TYPERS = 50;

/** Typing notices: ours to the server, and others' in the line under the messages. */
export class Typing {
  /**
   * @param {string} me the signed-in user
   * @param {() => string} active the id of the open conversation
   */
  constructor(me, active) {
    this.me = me;
    this.active = active;
    /** When we last told each conversation that we type. @type {Map<string, number>} */
    this.sentAt = new Map();
    /**
     * Who types where: conversation id → Map(nick → until when).
     * @type {Map<string, Map<string, number>>}
     */
    this.typers = new Map();
    this.timer = 0;
  }

  /**
   * The user typed in the message box of conversation `id`.
   * @param {string} id
   */
  typed(id) {
    if (id === EVERYONE || id === this.me) return;
    const now = Date.now();
    if (now - (this.sentAt.get(id) ?? 0) < SEND_EVERY_MS) return;
    this.sentAt.set(id, now);
    // A notice that does not arrive costs nothing: no retry, no error shown.
    call('POST', 'typing', { to: id }).catch(() => {});
  }

  /**
   * A `typing` event: `from` types to us, or in room `to`.
   * @param {ApiTyping} event
   */
  onEvent({ from, to }) {
    if (typeof from !== 'string' || typeof to !== 'string' || from === this.me) return;
    const id = isRoom(to) ? to : from;
    let typers = this.typers.get(id);
    if (!typers) {
      typers = new Map();
      this.typers.set(id, typers);
    }
    typers.delete(from);
    typers.set(from, Date.now() + SHOW_MS);
    const oldest = typers.keys().next();
    if (typers.size > MAX_TYPERS && !oldest.done) typers.delete(oldest.value);
    this.update();
  }

  /**
   * `nick`'s message to conversation `id` arrived: they are done typing it.
   * @param {string} id
   * @param {string} nick
   */
  stop(id, nick) {
    if (this.typers.get(id)?.delete(nick)) this.update();
  }

  /** Drops expired notices, shows the open conversation's, and waits for the next expiry. */
  update() {
    clearTimeout(this.timer);
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [id, typers] of this.typers) {
      for (const [nick, until] of typers) {
        if (until <= now) typers.delete(nick);
        else next = Math.min(next, until);
      }
      if (typers.size === 0) this.typers.delete(id);
    }
    this.render();
    if (next !== Number.POSITIVE_INFINITY) this.timer = setTimeout(() => this.update(), next - now);
  }

  /** The line under the messages: "ann is typing…", "ann and bo are typing…". */
  render() {
    const names = [...(this.typers.get(this.active())?.keys() ?? [])];
    $('typing').textContent = describe(names);
  }
}

/**
 * The sentence for `names` typing, or '' when nobody is.
 * @param {string[]} names
 */
export function describe(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing…`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} others are typing…`;
}
