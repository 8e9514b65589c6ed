// The conversation list: Everyone, the rooms we are in, and one entry per DM peer with
// presence and unread counts; the rooms to join (room-offers.js); the "Message someone" form;
// and, on small screens, the drawer that holds them.

import { nickProblem } from './login.js';
import { EVERYONE, isRoom } from './model.js';
import { $, avatar, el, part, reconcile, srOnly } from './view.js';

/** @typedef {import('./model.js').Model} Model */
/**
 * What the sidebar needs from the page.
 * @typedef {object} SidebarDeps
 * @property {Model} model conversations, unread counts and who is online
 * @property {{ joined(): string[] }} rooms the rooms we are in
 * @property {{ render(): void }} offers the rooms we may join
 * @property {() => string} active the id of the open conversation
 * @property {(id: string, byUser: boolean) => void} open shows a conversation
 * @property {{ show(unread: number): void }} title the tab title, which counts unread messages
 */

/** The sidebar: the conversation list, the "Message someone" form and the drawer. */
export class Sidebar {
  /** @param {SidebarDeps} deps */
  constructor(deps) {
    this.deps = deps;
  }

  wire() {
    const { model, open } = this.deps;
    $('menu').addEventListener('click', () => this.toggle());
    $('new-dm').addEventListener('submit', (e) => {
      e.preventDefault();
      const nick = $('dm-nick', HTMLInputElement).value.trim().normalize('NFC');
      const problem = nick === model.me ? 'That is you.' : nickProblem(nick);
      $('dm-error').textContent = problem;
      if (problem) return;
      $('dm-nick', HTMLInputElement).value = '';
      model.addPeer(nick);
      open(nick, true);
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.isOpen()) {
        this.toggle(false);
        $('menu').focus();
      }
    });
    // The drawer covers the conversation: focus that moves out of it (Tab past its end, a
    // click on the messages) would sit hidden under it, so the drawer closes. A null target
    // (the window lost focus, or the list re-rendered under it) leaves it open.
    $('sidebar').addEventListener('focusout', (e) => {
      const to = e.relatedTarget;
      if (!this.isOpen() || !(to instanceof Node)) return;
      if ($('sidebar').contains(to) || $('menu').contains(to)) return;
      this.toggle(false);
    });
  }

  /** True while the drawer is open (small screens only). */
  isOpen() {
    return $('app').classList.contains('menu-open');
  }

  /**
   * Opens or closes the drawer; opening moves focus to the current conversation.
   * @param {boolean} [open]
   */
  toggle(open = !this.isOpen()) {
    $('app').classList.toggle('menu-open', open);
    $('menu').setAttribute('aria-expanded', String(open));
    const current = $('sidebar').querySelector('[aria-current]');
    if (open && current instanceof HTMLElement) current.focus();
  }

  /** Renders the list, the total unread badge on the menu button and title, and who is online. */
  render() {
    const { model, rooms, offers, active, open } = this.deps;
    renderConversations($('convs'), model, rooms.joined(), active(), open);
    offers.render();
    const total = model.totalUnread();
    const badge = $('menu-badge');
    badge.textContent = total > 0 ? String(total) : '';
    badge.hidden = total === 0;
    this.deps.title.show(total);
    $('people-count').textContent = `${model.onlineCount ?? model.online.size} online`;
  }
}

/**
 * Renders the conversation list: Everyone, the rooms we are in (`rooms`, '#name' ids), then
 * one entry per DM peer.
 * @param {HTMLElement} ul
 * @param {Model} model
 * @param {string[]} rooms
 * @param {string} active
 * @param {(id: string, byUser: boolean) => void} open
 */
function renderConversations(ul, model, rooms, active, open) {
  const entries = [EVERYONE, ...rooms, ...model.directList()];
  reconcile(
    ul,
    entries.map((id) => ({
      key: id,
      create: () => {
        const li = el('li');
        const button = el('button', 'conv');
        button.type = 'button';
        button.dataset.conv = id;
        button.addEventListener('click', () => open(id, true));
        const who = el('span', 'who');
        who.append(avatar(id));
        if (id !== EVERYONE && !isRoom(id)) who.append(el('span', 'presence'));
        const name = el('span', 'name', id === EVERYONE ? 'Everyone' : id);
        if (id !== EVERYONE && !isRoom(id)) name.dataset.name = id;
        button.append(who, name);
        const badge = el('span', 'badge');
        badge.setAttribute('aria-hidden', 'true');
        button.append(srOnly(''), badge);
        li.append(button);
        return li;
      },
      update: (li) => {
        const button = part(li, 'button');
        const conv = model.conv(id);
        const unread = conv.unread(model.me);
        const mentions = unread > 0 ? conv.unreadMentions(model.me) : 0;
        const direct = id !== EVERYONE && !isRoom(id);
        const online = direct && model.online.has(id);
        if (active === id) button.setAttribute('aria-current', 'true');
        else button.removeAttribute('aria-current');
        button.classList.toggle('online', online);
        button.classList.toggle('unread', unread > 0);
        button.classList.toggle('mentioned', mentions > 0);
        const presence = isRoom(id) ? ', room' : !direct ? '' : online ? ', online' : ', offline';
        const said = mentions > 0 ? `, ${mentions} mention${mentions === 1 ? '' : 's'} of you` : '';
        part(button, '.sr-only').textContent =
          presence + (unread > 0 ? `, ${unread} unread` : '') + said;
        const badge = part(button, '.badge');
        // Mentions shown apart: "3 · @1".
        badge.textContent =
          unread === 0 ? '' : mentions > 0 ? `${unread} · @${mentions}` : String(unread);
        badge.hidden = unread === 0;
      },
    })),
  );
}
