// Rooms (docs/api.md, "Rooms"): the rooms the user is in, invited to, or may join, the "New
// room" form, and what `member` and `room` events change in them. A room's messages are an
// ordinary conversation with the id '#name' (conversation.js); the members panel of the open
// room is members.js.

import { call, segment } from './api.js';
import { $, el, reconcile } from './view.js';

/** A room name as bodies and events spell it: '#' and 1 to 48 of a-z 0-9 - _ (docs/api.md). */
const ROOM_NAME = /^#[a-z0-9][a-z0-9_-]{0,47}$/;
/** Member events about the user that arrive together cost one reload of the list. */
const RELOAD_DELAY_MS = 150;

/** The API path of room `name` ('#x' → 'rooms/x'). */
export function roomPath(name) {
  return `rooms/${segment(name.slice(1))}`;
}

/** True when `role` may invite, remove members and delete others' messages. */
export const moderates = (role) => role === 'owner' || role === 'moderator';

/** The rooms of `chat` (app.js). */
export class Rooms {
  constructor(chat) {
    this.chat = chat;
    /** Rooms by name ('#x'), as GET /rooms answers, kept up to date by events. */
    this.byName = new Map();
    /** The stream's resume point when the list was asked for: older events are in it. */
    this.asOf = 0;
    this.generation = 0;
    /** The generation current when the last `room` count arrived (see load). */
    this.countedSince = -1;
    this.reloadTimer = 0;
  }

  wire() {
    $('new-room').addEventListener('submit', (e) => {
      e.preventDefault();
      this.create();
    });
    // No event says that someone made a public room: the list is read again on request, and
    // when the user comes back to the tab.
    $('rooms-refresh').addEventListener('click', () => this.load());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.chat.stream.ready) this.load();
    });
  }

  /** Asks the server for the list (at every hello: events missed before it are in it). */
  async load() {
    const generation = ++this.generation;
    const asOf = this.chat.stream.lastId ?? 0;
    let answer;
    try {
      answer = await call('GET', 'rooms');
    } catch (err) {
      if (err.status === 401) this.chat.loggedOut();
      return;
    }
    if (generation !== this.generation || !Array.isArray(answer?.rooms)) return;
    // A big room's count came while the list was on its way: the list may be older than it
    // (a count carries no id to compare), so it is asked for again.
    if (this.countedSince >= generation) this.reloadSoon();
    this.asOf = asOf;
    this.byName.clear();
    for (const room of answer.rooms) this.put(room);
    this.generation = generation;
    // A room we were in and are no longer (removed while away): its conversation goes.
    for (const id of this.chat.model.convs.keys()) {
      if (id.startsWith('#') && !this.isMember(id)) this.gone(id);
    }
    this.chat.sidebar.render();
    this.chat.renderHeader();
  }

  /** Loads the list again shortly (several events about us cost one request). */
  reloadSoon() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.load(), RELOAD_DELAY_MS);
  }

  /**
   * Adds or replaces a room from an API answer. A list on its way was asked for before this
   * change: it is dropped (the next hello or event brings a fresh one).
   */
  put(room) {
    this.generation++;
    if (!room || typeof room.name !== 'string') return null;
    const name = room.name.startsWith('#') ? room.name : `#${room.name}`;
    const kept = { ...room, name };
    this.byName.set(name, kept);
    return kept;
  }

  /** Our role in room `name`, or null. */
  role(name) {
    return this.byName.get(name)?.role ?? null;
  }

  isMember(name) {
    return this.role(name) !== null;
  }

  /** The rooms we are in, by name. */
  joined() {
    return [...this.byName.values()]
      .filter((r) => r.role)
      .map((r) => r.name)
      .sort();
  }

  /** Rooms we may join: invitations first, then public rooms. */
  offers() {
    const rooms = [...this.byName.values()].filter((r) => !r.role);
    const invited = rooms.filter((r) => r.invited);
    const open = rooms.filter((r) => !r.invited && r.visibility === 'public');
    const byName = (a, b) => a.name.localeCompare(b.name);
    return [...invited.sort(byName), ...open.sort(byName)];
  }

  // ---- events

  /** A `member` event: someone joined, left, was invited, removed or given a role. */
  onMember(e) {
    const room = this.byName.get(e.room);
    if (e.user === this.chat.me) {
      if (e.action === 'join' || e.action === 'create') {
        this.chat.history.joinedAt(this.chat.model.conv(e.room), e.id);
      }
      if (!room) {
        this.reloadSoon();
        return;
      }
      if (e.action === 'invite') room.invited = room.role === null;
      else if (e.action === 'remove' && room.role === null) {
        // Our invitation went: we declined it, it was withdrawn, or its inviter left.
        room.invited = false;
        if (room.visibility !== 'public') this.byName.delete(room.name);
      } else {
        room.role = e.role ?? null;
        if (room.role) room.invited = false;
        if (e.action === 'leave' || e.action === 'remove') this.lost(room, e);
      }
    }
    if (room && e.id > this.asOf) {
      if (e.action === 'create') room.members = 1;
      else if (e.action === 'join') room.members = (room.members ?? 0) + 1;
      else if (e.action === 'leave') room.members = Math.max(0, (room.members ?? 1) - 1);
      // A remove takes a member or only an invitation: the list says which.
      else if (e.action === 'remove') this.reloadSoon();
      // The last member left: the server removed the room (its name is free again).
      if (room.members === 0 && !room.role) this.byName.delete(room.name);
    }
    this.chat.sidebar.render();
    this.chat.renderHeader();
  }

  /** A `room` event: a big room's member count. */
  onCount(e) {
    const room = this.byName.get(e.room);
    if (!room || !Number.isSafeInteger(e.members)) return;
    room.members = e.members;
    this.countedSince = this.generation;
    this.chat.sidebar.render();
    this.chat.renderHeader();
  }

  /** We left `room` or were removed from it. */
  lost(room, e) {
    // A private room is not listed to those outside it (unless invited again).
    if (room.visibility !== 'public' && !room.invited) this.byName.delete(room.name);
    const active = this.chat.active === room.name;
    this.gone(room.name);
    if (active) {
      this.chat.notify(
        e.action === 'remove' && e.by !== this.chat.me
          ? `${e.by} removed you from ${room.name}.`
          : `You left ${room.name}.`,
      );
    }
  }

  /** Closes and forgets the conversation of a room we are not in. */
  gone(name) {
    if (this.chat.active === name) this.chat.open('all', false);
    this.chat.model.dropConv(name);
  }

  // ---- actions

  async create() {
    const raw = $('room-name').value.trim().toLowerCase();
    const name = raw.startsWith('#') ? raw : `#${raw}`;
    const problem =
      raw === '' || raw === '#'
        ? 'Enter a name.'
        : ROOM_NAME.test(name)
          ? ''
          : 'Use 1 to 48 of a-z, 0-9, - and _, starting with a letter or digit.';
    $('room-error').textContent = problem;
    if (problem) return;
    const form = $('new-room');
    const body = {
      name,
      visibility: form.elements.visibility.value,
      history: form.elements.history.value,
    };
    $('room-create').disabled = true;
    try {
      const answer = await call('POST', 'rooms', body);
      this.put({ ...answer.room, role: answer.room?.role ?? 'owner' });
      $('room-name').value = '';
      $('new-room-box').open = false;
      this.chat.open(name, true);
    } catch (err) {
      $('room-error').textContent =
        err.code === 'CHAT_ROOM_EXISTS'
          ? `${name} exists already.`
          : `Could not create: ${err.message}.`;
    } finally {
      $('room-create').disabled = false;
    }
  }

  async join(room) {
    let answer;
    try {
      answer = await call('POST', `${roomPath(room.name)}/join`, {});
    } catch (err) {
      this.chat.notify(`Could not join ${room.name}: ${err.message}.`);
      if (err.status === 403 || err.status === 404) this.reloadSoon();
      return;
    }
    const kept = this.put({ ...(this.byName.get(room.name) ?? room) });
    if (!kept.role) {
      kept.role = 'member';
      kept.invited = false;
    }
    if (answer?.id) this.chat.history.joinedAt(this.chat.model.conv(room.name), answer.id);
    this.chat.open(room.name, true);
  }

  /** Declines our invitation to `room`; the `member` event (or this) drops it from the list. */
  async decline(room) {
    try {
      await call('DELETE', `${roomPath(room.name)}/invite`);
    } catch (err) {
      this.chat.notify(`Could not decline ${room.name}: ${err.message}.`);
      this.reloadSoon();
      return;
    }
    const kept = this.byName.get(room.name);
    if (kept && !kept.role) {
      kept.invited = false;
      if (kept.visibility !== 'public') this.byName.delete(room.name);
    }
    this.chat.sidebar.render();
  }

  async leave(name) {
    try {
      await call('POST', `${roomPath(name)}/leave`, {});
    } catch (err) {
      if (err.code !== 'CHAT_NOT_MEMBER') {
        this.chat.notify(`Could not leave ${name}: ${err.message}.`);
        return;
      }
    }
    // The `member` event may have come first; otherwise this is where the room goes.
    const room = this.byName.get(name);
    if (room?.role) {
      room.role = null;
      this.lost(room, { action: 'leave', by: this.chat.me });
    }
    this.chat.sidebar.render();
  }

  // ---- rendering

  /**
   * The "Rooms to join" list: invitations and public rooms, each with a Join button; an
   * invitation also has a Decline button.
   */
  render() {
    const offers = this.offers();
    $('room-offers-empty').hidden = offers.length > 0;
    reconcile(
      $('room-offers'),
      offers.map((room) => ({
        key: room.name,
        create: () => {
          const li = el('li', 'offer');
          const text = el('span', 'offer-text');
          text.append(el('span', 'name', room.name), el('span', 'muted offer-about'));
          const join = el('button', 'join', 'Join');
          join.type = 'button';
          join.setAttribute('aria-label', `Join ${room.name}`);
          join.addEventListener('click', () => this.join(this.byName.get(room.name) ?? room));
          const decline = el('button', 'decline quiet', 'Decline');
          decline.type = 'button';
          decline.setAttribute('aria-label', `Decline ${room.name}`);
          decline.addEventListener('click', () => this.decline(this.byName.get(room.name) ?? room));
          li.append(text, join, decline);
          return li;
        },
        update: (li) => {
          const r = this.byName.get(room.name) ?? room;
          li.querySelector('.offer-about').textContent = r.invited
            ? 'invited you'
            : `${r.members ?? 0} member${r.members === 1 ? '' : 's'}`;
          li.classList.toggle('invited', Boolean(r.invited));
          li.querySelector('.decline').hidden = !r.invited;
        },
      })),
    );
  }
}
