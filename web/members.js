// The members panel of the open room: who is in it, their role and whether they are online,
// an invite box and Remove buttons for owners and moderators, role choices for owners, and
// the Leave button. It reads GET /rooms/<name> when it opens and again after a `member`
// event about the room, so what it shows is the server's list, not a sum of events.

import { ApiError, call, segment } from './api.js';
import { isRoom } from './model.js';
import { moderates, roomPath } from './rooms.js';
import { $, avatar, el, reconcile } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiRoomView} ApiRoomView */
/** @typedef {import('../src/http/api-types.js').ApiMember} ApiMember */
/** @typedef {import('../src/http/api-types.js').ApiLogged} ApiLogged */
/** @typedef {ApiRoomView['members'][number]} Member */
/**
 * What the members panel needs from the page.
 * @typedef {object} MembersDeps
 * @property {import('./model.js').Model} model who is online, and who we are
 * @property {import('./rooms.js').Rooms} rooms our role in rooms, their counts, leaving
 * @property {() => string} active the id of the open conversation
 * @property {(text: string) => void} notify says something in the notice line
 */

/** Member events that arrive together cost one reload of the list. */
const RELOAD_DELAY_MS = 200;
/** @type {Record<string, number>} */
const ROLE_ORDER = { owner: 0, moderator: 1, member: 2 };
/** The layout in which the panel is a drawer over the conversation (rooms.css). */
const NARROW = window.matchMedia('(max-width: 720px)');

/** The members panel of the open room. */
export class Members {
  /** @param {MembersDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /**
     * The room shown ('#x'), or null when the open conversation is not a room.
     * @type {string | null}
     */
    this.room = null;
    /** Members as GET /rooms/<name> lists them. @type {readonly Member[]} */
    this.members = [];
    /** Whether the user wants the panel (it stays open from room to room). */
    this.wanted = false;
    this.generation = 0;
    this.timer = 0;
    /** The member whose Remove was pressed: their line asks first. @type {string | null} */
    this.asking = null;
  }

  wire() {
    $('members-toggle').addEventListener('click', () => this.toggle());
    $('members-close').addEventListener('click', () => {
      this.toggle(false);
      $('members-toggle').focus();
    });
    $('leave-room').addEventListener('click', () => {
      if (this.room) this.deps.rooms.leave(this.room);
    });
    $('invite').addEventListener('submit', (e) => {
      e.preventDefault();
      this.invite();
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.isOpen() && $('members').contains(document.activeElement)) {
        this.toggle(false);
        $('members-toggle').focus();
      }
    });
  }

  /** True while the panel shows. */
  isOpen() {
    return !$('members').hidden;
  }

  /**
   * Follows the open conversation `id`: the panel belongs to rooms only.
   * @param {string} id
   */
  show(id) {
    const room = isRoom(id) ? id : null;
    if (room !== this.room) {
      // On a small screen the panel covers the conversation: another room opens without it.
      if (NARROW.matches) this.wanted = false;
      this.room = room;
      this.members = [];
      this.asking = null;
      this.generation++;
      $('member-list').replaceChildren();
      $('invite-error').textContent = '';
    }
    $('members-toggle').hidden = room === null;
    $('members').hidden = !(room && this.wanted);
    $('members-toggle').setAttribute('aria-expanded', String(this.isOpen()));
    if (this.isOpen()) this.load();
  }

  /**
   * Opens or closes the panel; opening loads the list.
   * @param {boolean} [open]
   */
  toggle(open = !this.isOpen()) {
    this.wanted = open;
    this.show(this.deps.active());
    if (open) $('members-title').focus();
  }

  /** Reads the shown room's members from the server. */
  async load() {
    const room = this.room;
    if (room === null) return;
    const generation = ++this.generation;
    $('members-state').textContent = this.members.length === 0 ? 'Loading members…' : '';
    let answer;
    try {
      answer = /** @type {ApiRoomView | null} */ (await call('GET', roomPath(room)));
    } catch (e) {
      const err = ApiError.from(e);
      if (generation !== this.generation) return;
      $('members-state').textContent = `Could not load the members: ${err.message}.`;
      return;
    }
    if (generation !== this.generation) return;
    this.members = Array.isArray(answer?.members) ? answer.members : [];
    $('members-state').textContent = '';
    // The answer is newer than our list entry (role, count).
    const kept = this.deps.rooms.byName.get(room);
    if (kept && answer?.room) kept.members = answer.room.members ?? kept.members;
    this.render();
  }

  /**
   * A `member` event: the open room's list is read again.
   * @param {ApiMember} e
   */
  onMember(e) {
    if (e.room !== this.room || !this.isOpen()) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.isOpen()) this.load();
    }, RELOAD_DELAY_MS);
  }

  /** Someone came online or went: the dots follow. */
  presenceChanged() {
    if (this.isOpen()) this.render();
  }

  /** Invites the nick in the invite box to the shown room. */
  async invite() {
    const user = $('invite-nick', HTMLInputElement).value.trim().normalize('NFC');
    if (!user || !this.room) return;
    try {
      const path = `${roomPath(this.room)}/invite`;
      const answer = /** @type {ApiLogged | null} */ (await call('POST', path, { user }));
      $('invite-nick', HTMLInputElement).value = '';
      $('invite-error').textContent =
        answer?.id === null ? `${user} is a member or invited already.` : `Invited ${user}.`;
    } catch (e) {
      const err = ApiError.from(e);
      $('invite-error').textContent = `Could not invite ${user}: ${err.message}.`;
    }
  }

  /**
   * Removes `user` from the shown room.
   * @param {string} room
   * @param {string} user
   */
  async remove(room, user) {
    this.asking = null;
    try {
      await call('DELETE', `${roomPath(room)}/members/${segment(user)}`);
    } catch (e) {
      this.deps.notify(`Could not remove ${user}: ${ApiError.from(e).message}.`);
    }
    this.load();
  }

  /**
   * Gives `user` the role `role` in the shown room.
   * @param {string} room
   * @param {string} user
   * @param {string} role
   */
  async setRole(room, user, role) {
    try {
      await call('PUT', `${roomPath(room)}/members/${segment(user)}`, { role });
    } catch (e) {
      this.deps.notify(`Could not change ${user}'s role: ${ApiError.from(e).message}.`);
    }
    this.load();
  }

  /**
   * What we may do to `member` of `room`: remove them, set their role.
   * @param {string} room
   * @param {Member} member
   */
  allowed(room, member) {
    const mine = this.deps.rooms.role(room);
    if (member.user === this.deps.model.me) return { remove: false, role: false };
    return {
      remove: mine === 'owner' || (mine === 'moderator' && member.role === 'member'),
      role: mine === 'owner',
    };
  }

  /** Shows the list: each member's role, whether they are online, and what we may do. */
  render() {
    const { model, rooms } = this.deps;
    const room = this.room;
    if (room === null) return;
    const mine = rooms.role(room);
    $('members-title').textContent = `Members of ${room}`;
    $('invite').hidden = !moderates(mine);
    $('leave-room').hidden = mine === null;
    const list = [...this.members].sort(
      (a, b) =>
        (ROLE_ORDER[a.role] ?? 3) - (ROLE_ORDER[b.role] ?? 3) || a.user.localeCompare(b.user),
    );
    reconcile(
      $('member-list'),
      list.map((member) => ({
        key: member.user,
        create: () => el('li', 'member'),
        update: (li) => {
          const online = model.online.has(member.user);
          const can = this.allowed(room, member);
          const asking = this.asking === member.user && can.remove;
          const signature = `${member.role}|${online}|${can.remove}|${can.role}|${asking}`;
          if (li.dataset.signature === signature) return;
          li.dataset.signature = signature;
          li.replaceChildren(...this.row(room, member, online, can, asking));
        },
      })),
    );
  }

  /**
   * The nodes of one member's line.
   * @param {string} room
   * @param {Member} member
   * @param {boolean} online
   * @param {{ remove: boolean, role: boolean }} can
   * @param {boolean} asking whether Remove was pressed: the line asks to be sure
   */
  row(room, member, online, can, asking) {
    const dot = el('span', online ? 'dot online' : 'dot');
    dot.setAttribute('aria-hidden', 'true');
    const name = el(
      'span',
      'member-name',
      member.user === this.deps.model.me ? `${member.user} (you)` : member.user,
    );
    if (member.user !== this.deps.model.me) name.dataset.name = member.user;
    const state = el('span', 'sr-only', online ? ', online' : ', offline');
    /** @type {HTMLElement[]} */
    const nodes = [dot, avatar(member.user), name, state];
    if (can.role) {
      const select = el('select', 'role');
      select.setAttribute('aria-label', `Role of ${member.user}`);
      for (const role of ['member', 'moderator', 'owner']) {
        const option = el('option', '', role);
        option.value = role;
        option.selected = role === member.role;
        select.append(option);
      }
      select.addEventListener('change', () => this.setRole(room, member.user, select.value));
      nodes.push(select);
    } else if (member.role !== 'member') {
      nodes.push(el('span', 'role muted', member.role));
    }
    const { user } = member;
    if (asking) {
      nodes.push(
        el('span', 'ask', `Remove ${user}?`),
        button('remove danger', 'Remove', `Yes, remove ${user} from ${room}`, () =>
          this.remove(room, user),
        ),
        button('keep', 'Cancel', `Keep ${user} in ${room}`, () => this.ask(null, user)),
      );
    } else if (can.remove) {
      nodes.push(
        button('remove', 'Remove', `Remove ${user} from ${room}`, () => this.ask(user, user)),
      );
    }
    return nodes;
  }

  /**
   * Asks whether to remove `user` (null: the question goes away, for `was`); focus follows to
   * the answer that keeps them, or back to the Remove button.
   * @param {string | null} user
   * @param {string} was the member whose line changes
   */
  ask(user, was) {
    this.asking = user;
    this.render();
    const li = [...$('member-list').children].find(
      (n) => n instanceof HTMLElement && n.querySelector('.member-name')?.textContent === was,
    );
    const button = li?.querySelector(user ? 'button.keep' : 'button.remove');
    if (button instanceof HTMLElement) button.focus();
  }
}

/**
 * A quiet button with an accessible name.
 * @param {string} className
 * @param {string} text
 * @param {string} label
 * @param {() => void} onClick
 */
function button(className, text, label, onClick) {
  const node = el('button', `quiet ${className}`, text);
  node.type = 'button';
  node.setAttribute('aria-label', label);
  node.addEventListener('click', onClick);
  return node;
}
