// What reaches the user beyond the open conversation: unread counts and read markers kept by
// the server (unread.js), notification levels (levels.js), desktop notifications (desktop.js),
// attention (attention.js), Web Push (push.js) and the service worker (worker-link.js). This
// file builds them and routes the stream's events and the tabs' messages to them; chat.js
// builds it.

import { Attention } from './attention.js';
import { Desktop } from './desktop.js';
import { Levels } from './levels.js';
import { PushSetting } from './push.js';
import { Unread } from './unread.js';
import { WorkerLink } from './worker-link.js';

/** @typedef {import('../src/http/api-types.js').ApiMessageEvent} ApiMessageEvent */
/** @typedef {import('../src/http/api-types.js').ApiEdit} ApiEdit */
/**
 * What the alerts need from the page.
 * @typedef {object} AlertsDeps
 * @property {import('./model.js').Model} model
 * @property {import('../src/http/api-types.js').ApiAuthMode} auth
 * @property {import('./stream.js').Stream} stream the resume point, whether this tab leads,
 *   and the channel to the other tabs
 * @property {() => string} active the id of the open conversation
 * @property {(id: string, byUser: boolean) => void} open shows a conversation
 * @property {(text: string) => void} notify says something in the notice line
 * @property {() => void} changed unread counts changed (the list and the title render)
 */

/** The unread state, the notification settings and the notifications. */
export class Alerts {
  /** @param {AlertsDeps} deps */
  constructor(deps) {
    const { model, auth, stream, active, open, notify, changed } = deps;
    this.unread = new Unread({ model, stream, changed });
    this.levels = new Levels({ auth, active, notify });
    this.worker = new WorkerLink({ open });
    this.attention = new Attention({ post: (m) => stream.post(m) });
    this.desktop = new Desktop({
      me: model.me,
      convIdOf: (e) => model.convIdOf(e),
      levels: this.levels,
      attention: this.attention,
      stream,
      worker: this.worker,
      open,
    });
    this.push = new PushSetting({ worker: this.worker });
  }

  wire() {
    this.unread.wire();
    this.levels.wire();
    this.desktop.wire();
    this.push.wire();
    this.worker.listen();
    this.attention.start();
  }

  /** The stream is live (a hello, or a follower's sync): counts and levels are read anew. */
  live() {
    this.unread.load();
    this.levels.load();
  }

  /**
   * A stream event of the alerts' own (`marker`, `notify`).
   * @param {string} type
   * @param {unknown} data
   */
  onEvent(type, data) {
    if (type === 'marker') this.unread.onMarker(data);
    else if (type === 'notify') this.levels.onEvent(data);
  }

  /**
   * A message arrived (new to the page).
   * @param {ApiMessageEvent} m
   */
  message(m) {
    this.desktop.message(m);
  }

  /**
   * An edit arrived.
   * @param {ApiEdit} e
   */
  edit(e) {
    this.desktop.edit(e);
  }

  /**
   * A message from another tab of ours.
   * @param {{ t?: unknown }} m
   */
  onSignal(m) {
    this.attention.onSignal(m);
  }
}
