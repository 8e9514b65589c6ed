// The members panel of the open room: who is in it, their role and whether they are online,
// an invite box and Remove buttons for owners and moderators, role choices for owners, and
// the Leave button. It reads GET /rooms/<name> when it opens and again after a `member`
// event about the room, so what it shows is the server's list, not a sum of events.

import { call, segment } from './api.js';
import { isRoom } from './model.js';
import { moderates, roomPath } from './rooms.js';
import { $, el, reconcile } from './view.js';

/** Member events that arrive together cost one reload of the list. */
const RELOAD_DELAY_MS = 200;
const ROLE_ORDER = { owner: 0, moderator: 1, member: 2 };
/** The layout in which the panel is a drawer over the conversation (rooms.css). */
const NARROW = window.matchMedia('(max-width: 720px)');

/** The members panel of `chat` (app.js). */
export class Members {
  constructor(chat) {
    this.chat = chat;
    /** The room shown ('#x'), or null when the open conversation is not a room. */
    this.room = null;
    /** Members as GET /rooms/<name> lists them: [{user, role, online}]. */
    this.members = [];
    /** Whether the user wants the panel (it stays open from room to room). */
    this.wanted = false;
    this.generation = 0;
    this.timer = 0;
  }

  wire() {
    $('members-toggle').addEventListener('click', () => this.toggle());
    $('members-close').addEventListener('click', () => {
      this.toggle(false);
      $('members-toggle').focus();
    });
    $('leave-room').addEventListener('click', () => {
      if (this.room) this.chat.rooms.leave(this.room);
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

  isOpen() {
    return !$('members').hidden;
  }

  /** Follows the open conversation `id`: the panel belongs to rooms only. */
  show(id) {
    const room = isRoom(id) ? id : null;
    if (room !== this.room) {
      // On a small screen the panel covers the conversation: another room opens without it.
      if (NARROW.matches) this.wanted = false;
      this.room = room;
      this.members = [];
      this.generation++;
      $('member-list').replaceChildren();
      $('invite-error').textContent = '';
    }
    $('members-toggle').hidden = room === null;
    $('members').hidden = !(room && this.wanted);
    $('members-toggle').setAttribute('aria-expanded', String(this.isOpen()));
    if (this.isOpen()) this.load();
  }

  /** Opens or closes the panel; opening loads the list. */
  toggle(open = !this.isOpen()) {
    this.wanted = open;
    this.show(this.chat.active);
    if (open) $('members-title').focus();
  }

  async load() {
    const room = this.room;
    const generation = ++this.generation;
    $('members-state').textContent = this.members.length === 0 ? 'Loading members…' : '';
    let answer;
    try {
      answer = await call('GET', roomPath(room));
    } catch (err) {
      if (generation !== this.generation) return;
      $('members-state').textContent = `Could not load the members: ${err.message}.`;
      return;
    }
    if (generation !== this.generation) return;
    this.members = Array.isArray(answer?.members) ? answer.members : [];
    $('members-state').textContent = '';
    // The answer is newer than our list entry (role, count).
    const kept = this.chat.rooms.byName.get(room);
    if (kept && answer.room) Object.assign(kept, { members: answer.room.members ?? kept.members });
    this.render();
  }

  /** A `member` event: the open room's list is read again. */
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

  async invite() {
    const user = $('invite-nick').value.trim().normalize('NFC');
    if (!user || !this.room) return;
    try {
      const answer = await call('POST', `${roomPath(this.room)}/invite`, { user });
      $('invite-nick').value = '';
      $('invite-error').textContent =
        answer?.id === null ? `${user} is a member or invited already.` : `Invited ${user}.`;
    } catch (err) {
      $('invite-error').textContent = `Could not invite ${user}: ${err.message}.`;
    }
  }

  async remove(user) {
    try {
      await call('DELETE', `${roomPath(this.room)}/members/${segment(user)}`);
    } catch (err) {
      this.chat.notify(`Could not remove ${user}: ${err.message}.`);
    }
    this.load();
  }

  async setRole(user, role) {
    try {
      await call('PUT', `${roomPath(this.room)}/members/${segment(user)}`, { role });
    } catch (err) {
      this.chat.notify(`Could not change ${user}'s role: ${err.message}.`);
    }
    this.load();
  }

  /** What we may do to `member`: remove them, set their role. */
  allowed(member) {
    const mine = this.chat.rooms.role(this.room);
    if (member.user === this.chat.me) return { remove: false, role: false };
    return {
      remove: mine === 'owner' || (mine === 'moderator' && member.role === 'member'),
      role: mine === 'owner',
    };
  }

  render() {
    const { model, rooms } = this.chat;
    const mine = rooms.role(this.room);
    $('members-title').textContent = `Members of ${this.room}`;
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
          const can = this.allowed(member);
          const signature = `${member.role}|${online}|${can.remove}|${can.role}`;
          if (li.dataset.signature === signature) return;
          li.dataset.signature = signature;
          li.replaceChildren(...this.row(member, online, can));
        },
      })),
    );
  }

  /** The nodes of one member's line. */
  row(member, online, can) {
    const dot = el('span', online ? 'dot online' : 'dot');
    dot.setAttribute('aria-hidden', 'true');
    const name = el(
      'span',
      'member-name',
      member.user === this.chat.me ? `${member.user} (you)` : member.user,
    );
    const state = el('span', 'sr-only', online ? ', online' : ', offline');
    const nodes = [dot, name, state];
    if (can.role) {
      const select = el('select', 'role');
      select.setAttribute('aria-label', `Role of ${member.user}`);
      for (const role of ['member', 'moderator', 'owner']) {
        const option = el('option', '', role);
        option.value = role;
        option.selected = role === member.role;
        select.append(option);
      }
      select.addEventListener('change', () => this.setRole(member.user, select.value));
      nodes.push(select);
    } else if (member.role !== 'member') {
      nodes.push(el('span', 'role muted', member.role));
    }
    if (can.remove) {
      const remove = el('button', 'quiet remove', 'Remove');
      remove.type = 'button';
      remove.setAttribute('aria-label', `Remove ${member.user} from ${this.room}`);
      remove.addEventListener('click', () => this.remove(member.user));
      nodes.push(remove);
    }
    return nodes;
  }
}
