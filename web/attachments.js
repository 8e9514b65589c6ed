// The files a message carries, in the message list: an image the server decoded as a preview
// (its thumbnail, sized before it loads so that the list never jumps) that opens the
// lightbox (lightbox.js), anything else as a chip with its name, size and a download link.
// Names are user text: they go in as text and attributes, never as HTML.

import { el } from './view.js';

/** @typedef {import('../src/domain/events.js').Attachment} Attachment */

/** The thumbnail's box (the server's /thumb fits images in it, never enlarging them). */
export const THUMB_BOX = 400;
/** Types the server decodes, and so makes thumbnails of. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const UNITS = ['KB', 'MB', 'GB', 'TB'];

/**
 * A size as people read it: "512 B", "1.2 MB", "34 KB" (units of 1024 bytes).
 * @param {number} bytes
 */
export function humanSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  let n = bytes / 1024;
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  const shown = n < 10 ? (Math.round(n * 10) / 10).toString() : Math.round(n).toString();
  return `${shown} ${UNITS[unit]}`;
}

/**
 * The size of an image of `width` x `height` fitted in THUMB_BOX, never enlarged (at least 1
 * pixel each way): the size of its thumbnail.
 * @param {number} width
 * @param {number} height
 */
export function fitThumb(width, height) {
  const scale = Math.min(1, THUMB_BOX / width, THUMB_BOX / height);
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/**
 * True when `a` shows as a preview: an image the server decoded (it has a size).
 * @param {Attachment} a
 */
export function isImage(a) {
  return IMAGE_TYPES.has(a.type) && Number(a.width) > 0 && Number(a.height) > 0;
}

/**
 * Where upload `id` is served (`/thumb` for its thumbnail).
 * @param {string} id
 * @param {boolean} [thumb]
 */
export function uploadUrl(id, thumb = false) {
  return `/api/v1/uploads/${encodeURIComponent(id)}${thumb ? '/thumb' : ''}`;
}

/**
 * Fills `box` with the previews and chips of `list`; empty (and hidden) for none.
 * @param {HTMLElement} box
 * @param {readonly Attachment[]} list
 */
export function renderAttachments(box, list) {
  box.replaceChildren(...list.map((a) => (isImage(a) ? preview(a) : chip(a))));
  box.hidden = list.length === 0;
}

/**
 * An image's preview: a button (lightbox.js opens it) around its thumbnail.
 * @param {Attachment} a
 */
function preview(a) {
  const { width, height } = fitThumb(Number(a.width), Number(a.height));
  const button = el('button', 'file-preview');
  button.type = 'button';
  button.dataset.upload = a.id;
  button.dataset.name = a.name;
  button.dataset.width = String(a.width);
  button.dataset.height = String(a.height);
  button.setAttribute('aria-label', `Open image ${a.name} (${humanSize(a.size)})`);
  const img = el('img');
  img.src = uploadUrl(a.id, true);
  img.loading = 'lazy';
  img.decoding = 'async';
  img.width = width;
  img.height = height;
  img.alt = a.name;
  button.append(img);
  return button;
}

/**
 * Any other file: its kind, name and size, and a link that downloads it under its name.
 * @param {Attachment} a
 */
function chip(a) {
  const node = el('div', 'file-chip');
  const icon = el('span', 'file-icon', extension(a.name));
  icon.setAttribute('aria-hidden', 'true');
  const name = el('span', 'file-name', a.name);
  name.title = a.name;
  const size = el('span', 'file-size', humanSize(a.size));
  const link = el('a', 'file-download', 'Download');
  link.href = uploadUrl(a.id);
  link.download = a.name;
  link.setAttribute('aria-label', `Download ${a.name} (${humanSize(a.size)})`);
  node.append(icon, name, size, link);
  return node;
}

/**
 * What the file icon says: the name's extension (up to 4 letters) in capitals, or FILE.
 * @param {string} name
 */
function extension(name) {
  const m = /\.([a-z0-9]{1,4})$/i.exec(name);
  return m?.[1] ? m[1].toUpperCase() : 'FILE';
}

/**
 * The files message `m` carries (none when absent).
 * @param {import('../src/http/api-types.js').ApiMessage} m
 * @returns {readonly Attachment[]}
 */
export function attachmentsOf(m) {
  return m.attachments ?? [];
}

/**
 * A message of files alone in one line (a notification's body): "📎 name", or "📎 3 files".
 * @param {readonly Attachment[]} list
 */
export function filesLine(list) {
  if (list.length === 0) return '';
  return list.length === 1 ? `📎 ${list[0]?.name}` : `📎 ${list.length} files`;
}
