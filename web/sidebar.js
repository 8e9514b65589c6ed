// The conversation list: Everyone, the rooms we are in, and one entry per DM peer with
// presence and unread counts; the rooms to join (rooms.js); the "Message someone" form; and,
// on small screens, the drawer that holds them.

import { nickProblem } from './login.js';
import { $, renderConversations } from './view.js';

/** The sidebar of `chat` (app.js): reads its model and active conversation, calls open(). */
export class Sidebar {
  constructor(chat) {
    this.chat = chat;
  }

  wire() {
    $('menu').addEventListener('click', () => this.toggle());
    $('new-dm').addEventListener('submit', (e) => {
      e.preventDefault();
      const nick = $('dm-nick').value.trim().normalize('NFC');
      const problem = nick === this.chat.me ? 'That is you.' : nickProblem(nick);
      $('dm-error').textContent = problem;
      if (problem) return;
      $('dm-nick').value = '';
      this.chat.model.addPeer(nick);
      this.chat.open(nick, true);
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

  /** Opens or closes the drawer; opening moves focus to the current conversation. */
  toggle(open = !this.isOpen()) {
    $('app').classList.toggle('menu-open', open);
    $('menu').setAttribute('aria-expanded', String(open));
    if (open) $('sidebar').querySelector('[aria-current]')?.focus();
  }

  /** Renders the list, the total unread badge on the menu button, and who is online. */
  render() {
    const { model, active } = this.chat;
    const rooms = this.chat.rooms.joined();
    renderConversations($('convs'), model, rooms, active, (id, byUser) =>
      this.chat.open(id, byUser),
    );
    this.chat.rooms.render();
    const total = model.totalUnread();
    const badge = $('menu-badge');
    badge.textContent = total > 0 ? String(total) : '';
    badge.hidden = total === 0;
    $('people-count').textContent = `${model.onlineCount ?? model.online.size} online`;
  }
}
