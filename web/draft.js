// What the message box holds before it is sent: its length against the server's text limit
// (a counter near it, and no sending past it: the text stays in the box to be shortened, where
// a send would only come back as a failed message), and a preview of its formatting
// (markdown.js), shown above the box while the Preview button is pressed.

import { call } from './api.js';
import { appendFormatted } from './markdown.js';
import { $ } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiSession} ApiSession */

/** The counter shows once this share of the limit is written (and always past it). */
const COUNT_FROM = 0.9;

/** The message box's counter and preview. */
export class Draft {
  constructor() {
    /** The longest text the server takes, in code points (GET /session); none until known. */
    this.limit = Number.POSITIVE_INFINITY;
  }

  /** Asks the server for its text limit, and makes the Preview button work. */
  wire() {
    call('GET', 'session')
      .then((reply) => {
        const limit = /** @type {ApiSession} */ (reply).maxMessageLength;
        if (Number.isSafeInteger(limit) && limit > 0) this.limit = limit;
        this.update();
      })
      // Without it the server still refuses a text too long; the box just cannot say so first.
      .catch(() => {});
    $('preview-toggle').addEventListener('click', () => {
      const on = $('preview-toggle').getAttribute('aria-pressed') !== 'true';
      $('preview-toggle').setAttribute('aria-pressed', String(on));
      this.update();
      $('text').focus();
    });
  }

  /** How far past the limit the box's text is (0 when within it). */
  excess() {
    const text = box().value;
    // A UTF-16 length within the limit is a code point count within it: no need to count.
    if (text.length <= this.limit) return 0;
    return Math.max(0, [...text].length - this.limit);
  }

  /** Shows the counter and the preview for what the box holds now. */
  update() {
    const text = box().value;
    const count = $('text-count');
    const near = text.length >= this.limit * COUNT_FROM;
    const used = near ? [...text].length : 0;
    count.hidden = !near || used < this.limit * COUNT_FROM;
    count.classList.toggle('over', used > this.limit);
    count.textContent =
      used > this.limit
        ? `${used - this.limit} characters too long (the limit is ${this.limit})`
        : `${this.limit - used} characters left`;
    const preview = $('preview');
    const on = $('preview-toggle').getAttribute('aria-pressed') === 'true';
    preview.hidden = !on || text.trim() === '';
    preview.replaceChildren();
    if (!preview.hidden) appendFormatted(preview, text);
  }

  /** Says, by the counter, that the text is too long to send; false when it is not. */
  refuse() {
    if (this.excess() === 0) return false;
    this.update();
    $('text-count').hidden = false;
    return true;
  }
}

/** The message box. */
function box() {
  return $('text', HTMLTextAreaElement);
}
