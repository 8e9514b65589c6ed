// The rooms the user may join (docs/api.md, "Rooms"): invitations first, then public rooms,
// each with a Join button and, for an invitation, a Decline button; and the "New room" form.
// The list itself, and what events change in it, is rooms.js.

import { ApiError, call } from './api.js';
import { roomPath } from './rooms.js';
import { $, el, part, reconcile } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiRoomCreated} ApiRoomCreated */
/** @typedef {import('../src/http/api-types.js').ApiLogged} ApiLogged */
/** @typedef {import('./rooms.js').Room} Room */
/**
 * What the offers need from the page.
 * @typedef {object} RoomOffersDeps
 * @property {import('./rooms.js').Rooms} rooms the list they come from
 * @property {import('./model.js').Model} model
 * @property {(id: string, byUser: boolean) => void} open shows a conversation
 * @property {(text: string) => void} notify says something in the notice line
 * @property {(conv: import('./conversation.js').Conversation, id: number) => void} joinedAt
 *   we joined a room at event `id` (History.joinedAt)
 * @property {() => void} renderList the conversation list changed (the sidebar renders)
 */

/** A room name as bodies and events spell it: '#' and 1 to 48 of a-z 0-9 - _ (docs/api.md). */
const ROOM_NAME = /^#[a-z0-9][a-z0-9_-]{0,47}$/;

/** The "Rooms to join" list and the "New room" form. */
export class RoomOffers {
  /** @param {RoomOffersDeps} deps */
  constructor(deps) {
    this.deps = deps;
  }

  wire() {
    $('new-room').addEventListener('submit', (e) => {
      e.preventDefault();
      this.create();
    });
  }

  /** Makes the room the "New room" form describes, and opens it. */
  async create() {
    const raw = $('room-name', HTMLInputElement).value.trim().toLowerCase();
    const name = raw.startsWith('#') ? raw : `#${raw}`;
    const problem =
      raw === '' || raw === '#'
        ? 'Enter a name.'
        : ROOM_NAME.test(name)
          ? ''
          : 'Use 1 to 48 of a-z, 0-9, - and _, starting with a letter or digit.';
    $('room-error').textContent = problem;
    if (problem) return;
    const form = $('new-room', HTMLFormElement);
    /** @param {string} key the value of the form's radio group (or field) `key` */
    const field = (key) => {
      const input = form.elements.namedItem(key);
      return input && 'value' in input ? String(input.value) : '';
    };
    const body = { name, visibility: field('visibility'), history: field('history') };
    $('room-create', HTMLButtonElement).disabled = true;
    try {
      const answer = /** @type {ApiRoomCreated} */ (await call('POST', 'rooms', body));
      // The answer describes the room; we made it, so we own it.
      this.deps.rooms.put({ ...answer.room, role: 'owner' });
      $('room-name', HTMLInputElement).value = '';
      $('new-room-box', HTMLDetailsElement).open = false;
      this.deps.open(name, true);
    } catch (e) {
      const err = ApiError.from(e);
      $('room-error').textContent =
        err.code === 'CHAT_ROOM_EXISTS'
          ? `${name} exists already.`
          : `Could not create: ${err.message}.`;
    } finally {
      $('room-create', HTMLButtonElement).disabled = false;
    }
  }

  /**
   * Joins `room` (an invitation or a public room) and opens it.
   * @param {Room} room
   */
  async join(room) {
    let answer;
    try {
      const path = `${roomPath(room.name)}/join`;
      answer = /** @type {ApiLogged | null} */ (await call('POST', path, {}));
    } catch (e) {
      const err = ApiError.from(e);
      this.deps.notify(`Could not join ${room.name}: ${err.message}.`);
      if (err.status === 403 || err.status === 404) this.deps.rooms.reloadSoon();
      return;
    }
    const kept = this.deps.rooms.put({ ...(this.deps.rooms.byName.get(room.name) ?? room) });
    if (kept && !kept.role) {
      kept.role = 'member';
      kept.invited = false;
    }
    if (answer?.id) this.deps.joinedAt(this.deps.model.conv(room.name), answer.id);
    this.deps.open(room.name, true);
  }

  /**
   * Declines our invitation to `room`; the `member` event (or this) drops it from the list.
   * @param {Room} room
   */
  async decline(room) {
    try {
      await call('DELETE', `${roomPath(room.name)}/invite`);
    } catch (e) {
      this.deps.notify(`Could not decline ${room.name}: ${ApiError.from(e).message}.`);
      this.deps.rooms.reloadSoon();
      return;
    }
    const kept = this.deps.rooms.byName.get(room.name);
    if (kept && !kept.role) {
      kept.invited = false;
      if (kept.visibility !== 'public') this.deps.rooms.byName.delete(room.name);
    }
    this.deps.renderList();
  }

  /**
   * The "Rooms to join" list: invitations and public rooms, each with a Join button; an
   * invitation also has a Decline button.
   */
  render() {
    const offers = this.deps.rooms.offers();
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
          join.addEventListener('click', () =>
            this.join(this.deps.rooms.byName.get(room.name) ?? room),
          );
          const decline = el('button', 'decline quiet', 'Decline');
          decline.type = 'button';
          decline.setAttribute('aria-label', `Decline ${room.name}`);
          decline.addEventListener('click', () =>
            this.decline(this.deps.rooms.byName.get(room.name) ?? room),
          );
          li.append(text, join, decline);
          return li;
        },
        update: (li) => {
          const r = this.deps.rooms.byName.get(room.name) ?? room;
          part(li, '.offer-about').textContent = r.invited
            ? 'invited you'
            : `${r.members ?? 0} member${r.members === 1 ? '' : 's'}`;
          li.classList.toggle('invited', Boolean(r.invited));
          part(li, '.decline').hidden = !r.invited;
        },
      })),
    );
  }
}
