// What each event of the stream (stream.js: our own, or forwarded by the leader tab) does to
// the page. The event types, and the shapes of their data, are the server's (docs/api.md,
// src/http/api-types.ts).

import { call } from './api.js';

/** @typedef {import('../src/http/api-types.js').ApiEvents} ApiEvents */
/** @typedef {import('../src/http/api-types.js').ApiMessageEvent} ApiMessageEvent */
/** @typedef {import('../src/http/api-types.js').ApiPresenceAnswer} ApiPresenceAnswer */
/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./message-list.js').Scroll} Scroll */
/**
 * One event: its type and its data, as the server sends that type.
 * @typedef {{ [K in keyof ApiEvents]: { type: K, data: ApiEvents[K] } }[keyof ApiEvents]} ApiEvent
 */
/**
 * What the events change on the page.
 * @typedef {object} EventDeps
 * @property {import('./model.js').Model} model
 * @property {() => string} active the id of the open conversation
 * @property {import('./history.js').History} history
 * @property {import('./rooms.js').Rooms} rooms
 * @property {import('./members.js').Members} members
 * @property {import('./typing.js').Typing} typing
 * @property {{ messageGone(id: number): void }} composer lets go of a deleted message
 * @property {import('./reactions.js').Reactions} reactions the chips under messages
 * @property {() => void} renderList the conversation list changed (the sidebar renders)
 * @property {() => void} renderHeader the open conversation's header may have changed
 * @property {(conv: Conversation, scroll?: Scroll) => void} renderIf renders `conv` if shown
 * @property {() => void} markRead the user sees the open conversation
 * @property {(text: string) => void} notify says something in the notice line
 * @property {import('./alerts.js').Alerts} alerts unread counts, markers, levels and
 *   notifications
 * @property {import('./profiles.js').Profiles} profiles display names and avatars
 * @property {import('./mute.js').MuteBanner} mute the banner of a mute of ours
 * @property {import('./report-outcomes.js').ReportOutcomes} [outcomes] what became of our
 *   reports (accounts mode)
 * @property {import('./mod-queue.js').ModQueue} [modQueue] the reports we moderate (accounts
 *   mode)
 */

/**
 * The function that applies one event of type `type` with its parsed `data` to the page.
 * @param {EventDeps} deps
 * @returns {(type: string, data: unknown) => void}
 */
export function eventApplier(deps) {
  // The stream passes on only the types it listens for (stream.js TYPES), parsed from the
  // server's JSON: their data has the server's shape.
  return (type, data) => {
    // The alerts' own events (read markers, notification levels).
    if (type === 'marker' || type === 'notify') deps.alerts.onEvent(type, data);
    else applyEvent(deps, /** @type {ApiEvent} */ ({ type, data }));
  };
}

/**
 * Applies one event.
 * @param {EventDeps} deps
 * @param {ApiEvent} event
 */
function applyEvent(deps, event) {
  const { model, history, rooms, members, renderList, renderHeader, renderIf } = deps;
  switch (event.type) {
    case 'hello':
      model.setOnline(event.data.online, event.data.onlineCount);
      renderList();
      history.ensureLoaded(model.conv(deps.active()));
      // Whatever changed in our rooms while we were away is in the list; counts likewise.
      rooms.load();
      deps.alerts.live();
      deps.modQueue?.live();
      void deps.outcomes?.catchUp();
      // Profile changes are not replayed: read the ones shown again.
      deps.profiles.refresh();
      return;
    case 'profile':
      deps.profiles.set(event.data);
      return;
    case 'message':
      onMessage(deps, event.data);
      return;
    case 'read': {
      const conv = model.addReceipt(event.data);
      if (conv) renderIf(conv);
      return;
    }
    case 'presence':
      // Who is online now, sent after the server missed joins and leaves (a Redis outage):
      // it replaces the list, as hello's does. Its count includes our own stream.
      model.setOnline(event.data.online, event.data.onlineCount);
      if (model.onlineCount !== null) model.onlineCount = event.data.onlineCount;
      renderList();
      renderHeader();
      members.presenceChanged();
      return;
    case 'join':
    case 'leave':
      if (event.type === 'join') model.join(event.data.user);
      else model.leave(event.data.user);
      renderList();
      renderHeader();
      members.presenceChanged();
      return;
    case 'online':
      // A crowd: the server counts users instead of announcing each (docs/api.md). When it
      // thins out, joins and leaves follow again, and the list is read anew.
      if (event.data.crowd === false) {
        model.onlineCount = null;
        call('GET', 'presence').then(
          (answer) => {
            model.setOnline(/** @type {ApiPresenceAnswer} */ (answer).online);
            renderList();
            renderHeader();
          },
          () => {},
        );
      } else model.onlineCount = event.data.count;
      renderList();
      renderHeader();
      return;
    case 'member': {
      const e = event.data;
      rooms.onMember(e);
      members.onMember(e);
      // Our role may have changed what we may delete.
      if (e.user === model.me && e.room === deps.active()) renderIf(model.conv(deps.active()));
      return;
    }
    case 'room':
      rooms.onCount(event.data);
      return;
    case 'room-listed':
      rooms.onListed(event.data);
      return;
    case 'report':
      deps.outcomes?.onEvent(event.data);
      return;
    case 'reported':
      deps.modQueue?.onReported();
      return;
    case 'edit':
    case 'delete': {
      const conv = model.addPatch(event.data);
      if (conv) renderIf(conv);
      if (event.type === 'delete') deps.composer.messageGone(event.data.message);
      else deps.alerts.edit(event.data);
      return;
    }
    case 'reaction': {
      // Only a conversation the page has is touched: one loaded later reads them from history.
      const conv = model.convs.get(model.convIdOf(event.data));
      const changed = deps.reactions.onEvent(conv, event.data);
      if (changed) renderIf(changed);
      return;
    }
    case 'typing':
      deps.typing.onEvent(event.data);
      return;
    case 'sanction':
      deps.mute.onEvent(event.data);
      return;
    case 'reset':
      // Our view cannot be brought up to date exactly: drop it; the hello that follows
      // loads history again.
      model.reset(event.data.reason);
      renderIf(model.conv(deps.active()));
      return;
  }
}

/**
 * A `message` event: a new message in any conversation (and its sender stopped typing).
 * @param {EventDeps} deps
 * @param {ApiMessageEvent} m
 */
function onMessage(deps, m) {
  const conv = deps.model.addMessage(m);
  if (!conv) return;
  if (m.offline) conv.offlineIds.add(m.id);
  deps.typing.stop(conv.id, m.from);
  deps.renderIf(conv, m.from === deps.model.me ? 'bottom' : 'auto');
  deps.markRead();
  deps.alerts.message(m);
}
