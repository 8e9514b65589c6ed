// What each event of the stream (stream.js: our own, or forwarded by the leader tab) does to
// the page of `chat` (app.js). The event types are those of docs/api.md.

import { call } from './api.js';

/** Applies one event of type `type` with its parsed `data`. */
export function applyEvent(chat, type, data) {
  switch (type) {
    case 'hello':
      chat.model.setOnline(data.online, data.onlineCount);
      chat.sidebar.render();
      chat.history.ensureLoaded(chat.model.conv(chat.active));
      // Whatever changed in our rooms while we were away is in the list.
      chat.rooms.load();
      return;
    case 'message':
      onMessage(chat, data);
      return;
    case 'read': {
      const conv = chat.model.addReceipt(data);
      if (conv) chat.renderIf(conv);
      return;
    }
    case 'presence':
      // Who is online now, sent after the server missed joins and leaves (a Redis outage):
      // it replaces the list, as hello's does. Its count includes our own stream.
      chat.model.setOnline(data.online, data.onlineCount);
      if (chat.model.onlineCount !== null) chat.model.onlineCount = data.onlineCount;
      chat.sidebar.render();
      chat.renderHeader();
      chat.members.presenceChanged();
      return;
    case 'join':
    case 'leave':
      if (type === 'join') chat.model.join(data.user);
      else chat.model.leave(data.user);
      chat.sidebar.render();
      chat.renderHeader();
      chat.members.presenceChanged();
      return;
    case 'online':
      // A crowd: the server counts users instead of announcing each (docs/api.md). When it
      // thins out, joins and leaves follow again, and the list is read anew.
      if (data.crowd === false) {
        chat.model.onlineCount = null;
        call('GET', 'presence').then(
          (answer) => {
            chat.model.setOnline(answer.online);
            chat.sidebar.render();
            chat.renderHeader();
          },
          () => {},
        );
      } else chat.model.onlineCount = data.count;
      chat.sidebar.render();
      chat.renderHeader();
      return;
    case 'member':
      chat.rooms.onMember(data);
      chat.members.onMember(data);
      // Our role may have changed what we may delete.
      if (data.user === chat.me && data.room === chat.active)
        chat.renderIf(chat.model.conv(chat.active));
      return;
    case 'room':
      chat.rooms.onCount(data);
      return;
    case 'edit':
    case 'delete': {
      const conv = chat.model.addPatch(type, data);
      if (conv) chat.renderIf(conv);
      if (type === 'delete') chat.composer.messageGone(data.message);
      return;
    }
    case 'typing':
      chat.typing.onEvent(data);
      return;
    case 'reset':
      // Our view cannot be brought up to date exactly: drop it; the hello that follows
      // loads history again.
      chat.model.reset(data.reason);
      chat.renderIf(chat.model.conv(chat.active));
      return;
  }
}

/** A `message` event: a new message in any conversation (and its sender stopped typing). */
function onMessage(chat, m) {
  const conv = chat.model.addMessage(m);
  if (!conv) return;
  if (m.offline) conv.offlineIds.add(m.id);
  chat.typing.stop(conv.id, m.from);
  if (m.from !== chat.me && document.visibilityState === 'hidden') chat.title.bump();
  chat.renderIf(conv, m.from === chat.me ? 'bottom' : 'auto');
  chat.markRead();
}
