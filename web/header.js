// The open conversation's header: its title and the line under it (a room's kind and size,
// how many are online, or whether a DM peer is).

import { EVERYONE, isRoom } from './model.js';
import { $ } from './view.js';

/**
 * What the header reads.
 * @typedef {object} HeaderDeps
 * @property {import('./model.js').Model} model who is online, and who we are
 * @property {{ byName: Map<string, { members: number, visibility: string }> }} rooms the
 *   rooms we know (Rooms)
 * @property {() => string} active the id of the open conversation
 */

/** The conversation header. */
export class Header {
  /** @param {HeaderDeps} deps */
  constructor(deps) {
    this.deps = deps;
  }

  /** Shows the open conversation's title, and renders the line under it. */
  show() {
    const id = this.deps.active();
    $('conv-title').textContent = id === EVERYONE ? 'Everyone' : id;
    this.render();
  }

  /** Renders the line under the title (and a room's member count on the Members button). */
  render() {
    const { model, rooms, active } = this.deps;
    const id = active();
    if (isRoom(id)) {
      const room = rooms.byName.get(id);
      const n = room?.members ?? 0;
      const kind = room?.visibility === 'private' ? 'Private room' : 'Room';
      $('conv-sub').textContent = room ? `${kind}, ${n} member${n === 1 ? '' : 's'}` : 'Room';
      $('members-count').textContent = room ? String(n) : '';
      return;
    }
    $('conv-sub').textContent =
      id === EVERYONE
        ? `${model.onlineCount ?? model.online.size} online`
        : id === model.me
          ? 'Notes to yourself'
          : model.online.has(id)
            ? 'Online'
            : 'Offline: they get your messages when they are back';
  }
}
