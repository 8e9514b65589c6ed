// The Health tab of the admin page (GET /api/v1/admin/health), read again every few seconds
// while the tab is shown and the page visible.

import { $, el, failure } from './admin-view.js';
import { call } from './api.js';

/** How often the shown numbers are read again. */
const REFRESH_MS = 5_000;

/**
 * @typedef {object} Health
 * @property {{ classic: number, api: number }} streams
 * @property {number} usersOnline
 * @property {number} messagesPerMinute
 * @property {'ok' | 'down'} store
 * @property {'ok' | 'down'} bus
 * @property {number} uptime seconds
 */

/** The Health tab. */
export class HealthTab {
  constructor() {
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
  }

  /** Shows the numbers now and keeps them fresh until stop(). */
  load() {
    this.stop();
    this.timer = setInterval(() => {
      if (document.visibilityState === 'visible') this.read();
    }, REFRESH_MS);
    return this.read();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async read() {
    const state = $('health-state');
    let h;
    try {
      h = /** @type {Health} */ (await call('GET', 'admin/health'));
    } catch (e) {
      state.textContent = failure(e);
      return;
    }
    /** @type {Array<[string, string, string]>} */
    const rows = [
      ['Store', h.store === 'ok' ? 'OK' : 'Down', h.store],
      ['Bus', h.bus === 'ok' ? 'OK' : 'Down', h.bus],
      ['Users online', String(h.usersOnline), ''],
      ['Streams (this process)', `${h.streams.api} API, ${h.streams.classic} classic`, ''],
      ['Messages in the last minute (this process)', String(h.messagesPerMinute), ''],
      ['Up for', uptime(h.uptime), ''],
    ];
    const list = $('health');
    list.replaceChildren();
    for (const [name, value, kind] of rows) {
      const dd = el('dd', kind ? `health-${kind}` : '', value);
      list.append(el('dt', '', name), dd);
    }
    state.textContent = `Read at ${new Date().toLocaleTimeString()}.`;
  }
}

/**
 * Seconds as days, hours and minutes.
 * @param {number} s
 */
function uptime(s) {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min ${s % 60} s`;
}
