// The full image of a preview (attachments.js), in a modal dialog over the page: Escape, the
// Close button or a click beside the image close it, and focus goes back to the preview.

import { uploadUrl } from './attachments.js';
import { $ } from './view.js';

/** The lightbox: one <dialog> (index.html #lightbox), opened from any preview in the list. */
export class Lightbox {
  constructor() {
    /** What had focus before it opened, to go back to. @type {HTMLElement | null} */
    this.returnTo = null;
  }

  wire() {
    const dialog = $('lightbox', HTMLDialogElement);
    $('messages').addEventListener('click', (e) => {
      const target = e.target instanceof Element ? e.target.closest('.file-preview') : null;
      if (target instanceof HTMLElement) this.open(target);
    });
    $('lightbox-close').addEventListener('click', () => dialog.close());
    // A click on the dialog itself, not on the image or its caption: beside the image.
    dialog.addEventListener('click', (e) => {
      if (e.target === dialog || e.target === $('lightbox-frame')) dialog.close();
    });
    dialog.addEventListener('close', () => {
      $('lightbox-img', HTMLImageElement).removeAttribute('src');
      const back = this.returnTo;
      this.returnTo = null;
      if (back?.isConnected) back.focus();
      else $('text').focus();
    });
  }

  /**
   * Shows the image of preview `button` (its data-upload, data-name, data-width, data-height).
   * @param {HTMLElement} button
   */
  open(button) {
    const { upload, name = '', width, height } = button.dataset;
    if (!upload) return;
    const dialog = $('lightbox', HTMLDialogElement);
    const img = $('lightbox-img', HTMLImageElement);
    // Sized before it loads (CSS scales it down to the window): no jump as it arrives.
    img.width = Number(width) || 0;
    img.height = Number(height) || 0;
    img.alt = name;
    img.src = uploadUrl(upload);
    $('lightbox-name').textContent = name;
    const link = $('lightbox-download', HTMLAnchorElement);
    link.href = uploadUrl(upload);
    link.download = name;
    this.returnTo = button;
    if (!dialog.open) dialog.showModal();
    $('lightbox-close').focus();
  }
}
