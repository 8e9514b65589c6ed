// A mute (issue 23, core/sanctions.ts): while the server refuses our sends, edits and reactions
// (CHAT_MUTED), a banner above the message box says until when and why, and the box is
// disabled; it comes back by itself when the mute ends, or at once when it is lifted (the
// `sanction` event). GET /session says whether we are muted when the page starts.

import { call } from './api.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiSession} ApiSession */
/** @typedef {import('../src/http/api-types.js').ApiSanctionEvent} ApiSanctionEvent */

/** setTimeout's longest delay; a later end is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The banner and the disabled message box of a mute. */
export class MuteBanner {
  constructor() {
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  /** Asks the server whether we are muted now. */
  wire() {
    call('GET', 'session')
      .then((reply) => {
        const muted = /** @type {ApiSession} */ (reply).muted;
        if (muted) this.show(muted.until, muted.reason);
      })
      // Without it a send still comes back refused, with the same words.
      .catch(() => {});
  }

  /**
   * A `sanction` event of ours.
   * @param {ApiSanctionEvent} data
   */
  onEvent(data) {
    if (data.kind === 'mute') this.show(data.until, data.reason);
    else this.lift();
  }

  /**
   * Shows the banner and disables the box until `until` (ms; null: until lifted).
   * @param {number | null} until
   * @param {string} reason
   */
  show(until, reason) {
    clearTimeout(this.timer);
    const left = until === null ? Number.POSITIVE_INFINITY : until - Date.now();
    if (left <= 0) {
      this.lift();
      return;
    }
    const when =
      until === null ? 'until an admin lifts it' : `until ${new Date(until).toLocaleString()}`;
    // Text only: the reason is an admin's words, never markup.
    $('mute-banner').textContent = `Muted ${when}${reason ? `: ${reason}` : ''}`;
    $('mute-banner').hidden = false;
    setDisabled(true);
    if (until !== null) {
      this.timer = setTimeout(() => this.show(until, reason), Math.min(left, MAX_TIMER_MS));
    }
  }

  /** Hides the banner and gives the box back. */
  lift() {
    clearTimeout(this.timer);
    this.timer = undefined;
    $('mute-banner').hidden = true;
    $('mute-banner').textContent = '';
    setDisabled(false);
  }
}

/** @param {boolean} off */
function setDisabled(off) {
  /** @type {HTMLTextAreaElement} */ ($('text')).disabled = off;
  /** @type {HTMLButtonElement} */ ($('send')).disabled = off;
  /** @type {HTMLButtonElement} */ ($('attach')).disabled = off;
}
