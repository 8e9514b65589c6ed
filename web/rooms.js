// Rooms (docs/api.md, "Rooms"): the rooms the user is in, invited to, or may join, and what
// `member` and `room` events change in them. A room's messages are an ordinary conversation
// with the id '#name' (conversation.js); the rooms to join and the "New room" form are
// room-offers.js, the members panel of the open room members.js.

import { ApiError, call, segment } from './api.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiRoomList} ApiRoomList */
/** @typedef {import('../src/http/api-types.js').ApiMember} ApiMember */
/** @typedef {import('../src/http/api-types.js').ApiRoomCount} ApiRoomCount */
/** @typedef {ApiRoomList['rooms'][number]} RoomListing */
/**
 * A room as the list keeps it: as GET /rooms answers, then changed by events.
 * @typedef {{ -readonly [K in keyof RoomListing]: RoomListing[K] }} Room
 */
/**
 * What the rooms need from the page.
 * @typedef {object} RoomsDeps
 * @property {import('./model.js').Model} model
 * @property {{ readonly ready: boolean, readonly lastId: number | null }} stream whether the
 *   stream is live, and its resume point (Stream)
 * @property {() => string} active the id of the open conversation
 * @property {(id: string, byUser: boolean) => void} open shows a conversation
 * @property {(text: string) => void} notify says something in the notice line
 * @property {() => void} loggedOut the session is gone
 * @property {(conv: import('./conversation.js').Conversation, id: number) => void} joinedAt
 *   we joined a room at event `id` (History.joinedAt)
 * @property {() => void} renderList the conversation list changed (the sidebar renders)
 * @property {() => void} renderHeader the open conversation's header may have changed
 */

/** Member events about the user that arrive together cost one reload of the list. */
const RELOAD_DELAY_MS = 150;

/** Removals remembered for the error of a send to their room (Rooms.notMember). */
const MAX_REMOVALS = 50;

/**
 * What the page says when someone else removed us from `room` (a kick, a moderator's
 * removal), with their reason when they gave one: text only (the notice line's textContent).
 * @param {string} room
 * @param {{ by: string, reason?: string }} e
 */
export function removedNotice(room, e) {
  const reason = typeof e.reason === 'string' && e.reason !== '' ? `: ${e.reason}` : '.';
  return `${e.by} removed you from ${room}${reason}`;
}

/**
 * The API path of room `name` ('#x' → 'rooms/x').
 * @param {string} name
 */
export function roomPath(name) {
  return `rooms/${segment(name.slice(1))}`;
}

/**
 * True when `role` may invite, remove members and delete others' messages.
 * @param {string | null} role
 */
export const moderates = (role) => role === 'owner' || role === 'moderator';

/** The rooms we are in, invited to, or may join, kept up to date. */
export class Rooms {
  /** @param {RoomsDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /**
     * Rooms by name ('#x'), as GET /rooms answers, kept up to date by events.
     * @type {Map<string, Room>}
     */
    this.byName = new Map();
    /** The stream's resume point when the list was asked for: older events are in it. */
    this.asOf = 0;
    this.generation = 0;
    /** The generation current when a `member` or `room` event last arrived (see load). */
    this.changedSince = -1;
    this.reloadTimer = 0;
    /**
     * Rooms someone else removed us from, with what the notice said (at most MAX_REMOVALS,
     * the newest), for the error of a send there; a join forgets it.
     * @type {Map<string, string>}
     */
    this.removals = new Map();
  }

  wire() {
    // A public room made by someone else arrives as a `room-listed` event (onListed); the
    // list is also read again on request (member counts of rooms we are not in are not
    // streamed), and when the user comes back to the tab.
    $('rooms-refresh').addEventListener('click', () => this.load());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.deps.stream.ready) this.load();
    });
  }

  /** Asks the server for the list (at every hello: events missed before it are in it). */
  async load() {
    const { model, stream, loggedOut, renderList, renderHeader } = this.deps;
    const generation = ++this.generation;
    const asOf = stream.lastId ?? 0;
    let answer;
    try {
      answer = /** @type {ApiRoomList | null} */ (await call('GET', 'rooms'));
    } catch (e) {
      if (ApiError.from(e).status === 401) loggedOut();
      return;
    }
    if (generation !== this.generation || !Array.isArray(answer?.rooms)) return;
    // A `member` event or a big room's count came while the list was on its way: the list may
    // be older than it (read before the change) or not, and replacing the entries undoes what
    // the event did (a join counted on top of a list that lacked it is lost) while keeping it
    // could count it twice. A list asked for now has the change, so it is asked for again.
    if (this.changedSince >= generation) this.reloadSoon();
    this.asOf = asOf;
    this.byName.clear();
    for (const room of answer.rooms) this.put(room);
    this.generation = generation;
    // A room we were in and are no longer (removed while away): its conversation goes.
    for (const id of model.convs.keys()) {
      if (id.startsWith('#') && !this.isMember(id)) this.gone(id);
    }
    renderList();
    renderHeader();
  }

  /** Loads the list again shortly (several events about us cost one request). */
  reloadSoon() {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => this.load(), RELOAD_DELAY_MS);
  }

  /**
   * Adds or replaces a room from an API answer. A list on its way was asked for before this
   * change: it is dropped (the next hello or event brings a fresh one).
   * @param {Partial<Room>} room
   * @returns {Room | null}
   */
  put(room) {
    this.generation++;
    if (!room || typeof room.name !== 'string') return null;
    const name = room.name.startsWith('#') ? room.name : `#${room.name}`;
    const kept = /** @type {Room} */ ({ ...room, name });
    this.byName.set(name, kept);
    return kept;
  }

  /**
   * Our role in room `name`, or null.
   * @param {string} name
   */
  role(name) {
    return this.byName.get(name)?.role ?? null;
  }

  /**
   * True when we are a member of room `name`.
   * @param {string} name
   */
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
    /** @type {(a: Room, b: Room) => number} */
    const byName = (a, b) => a.name.localeCompare(b.name);
    return [...invited.sort(byName), ...open.sort(byName)];
  }

  // ---- events

  /**
   * A `member` event: someone joined, left, was invited, removed or given a role.
   * @param {ApiMember} e
   */
  onMember(e) {
    const { model, joinedAt, renderList, renderHeader } = this.deps;
    const room = this.byName.get(e.room);
    this.changedSince = this.generation;
    if (e.user === model.me) {
      if (e.action === 'join' || e.action === 'create') {
        this.removals.delete(e.room);
        joinedAt(model.conv(e.room), e.id);
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
    renderList();
    renderHeader();
  }

  /**
   * A `room-listed` event: a public room was just made; it joins the rooms to join, unless
   * the list has it already (a list or our own create got there first).
   * @param {import('../src/http/api-types.js').ApiRoomListed} e
   */
  onListed(e) {
    if (typeof e?.name !== 'string' || this.byName.has(e.name)) return;
    this.put({ ...e, role: null, invited: false });
    this.deps.renderList();
  }

  /**
   * A `room` event: a big room's member count.
   * @param {ApiRoomCount} e
   */
  onCount(e) {
    // Also for a room not listed yet: a list on its way may bring it with an older count.
    this.changedSince = this.generation;
    const room = this.byName.get(e.room);
    if (!room || !Number.isSafeInteger(e.members)) return;
    room.members = e.members;
    this.deps.renderList();
    this.deps.renderHeader();
  }

  /**
   * We left `room` or were removed from it (by `e.by`, for `e.reason` if they gave one).
   * Removed by someone else, we are told wherever we are; a leave only where it happened.
   * @param {Room} room
   * @param {{ action: string, by: string, reason?: string }} e
   */
  lost(room, e) {
    // A private room is not listed to those outside it (unless invited again).
    if (room.visibility !== 'public' && !room.invited) this.byName.delete(room.name);
    const active = this.deps.active() === room.name;
    this.gone(room.name);
    if (e.action === 'remove' && e.by !== this.deps.model.me) {
      const notice = removedNotice(room.name, e);
      this.removals.delete(room.name);
      this.removals.set(room.name, notice);
      for (const name of this.removals.keys()) {
        if (this.removals.size <= MAX_REMOVALS) break;
        this.removals.delete(name);
      }
      this.deps.notify(notice);
    } else if (active) {
      this.deps.notify(`You left ${room.name}.`);
    }
  }

  /**
   * Why a send to `room` was refused as not a member's (CHAT_NOT_MEMBER), for the failed
   * message: our removal from it when we saw one, else that we are not in it (any more).
   * @param {string} room
   */
  notMember(room) {
    const removal = this.removals.get(room);
    if (removal) return removal.replace(/^You were/, 'you were').replace(/\.$/, '');
    return `you are not a member of ${room} (any more)`;
  }

  /**
   * Closes and forgets the conversation of a room we are not in.
   * @param {string} name
   */
  gone(name) {
    if (this.deps.active() === name) this.deps.open('all', false);
    this.deps.model.dropConv(name);
  }

  // ---- actions

  /**
   * Leaves room `name`.
   * @param {string} name
   */
  async leave(name) {
    try {
      await call('POST', `${roomPath(name)}/leave`, {});
    } catch (e) {
      const err = ApiError.from(e);
      if (err.code !== 'CHAT_NOT_MEMBER') {
        this.deps.notify(`Could not leave ${name}: ${err.message}.`);
        return;
      }
    }
    // The `member` event may have come first; otherwise this is where the room goes.
    const room = this.byName.get(name);
    if (room?.role) {
      room.role = null;
      this.lost(room, { action: 'leave', by: this.deps.model.me });
    }
    this.deps.renderList();
  }
}
