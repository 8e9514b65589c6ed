// Where the composer's files come from: the paperclip button (a hidden file input), a drop
// on the conversation (which shows a drop zone while files are dragged over it), and a paste
// into the message box (a pasted picture gets a name of its own: browsers call every one
// "image.png").

import { $ } from './view.js';

/**
 * True when a drag carries files (not text or a link from the page).
 * @param {DragEvent} e
 */
function carriesFiles(e) {
  return Array.from(e.dataTransfer?.types ?? []).includes('Files');
}

/**
 * A name for a picture pasted at `now`: `pasted-image-2026-12-07-111334.png` (no colons,
 * which some systems refuse in file names).
 * @param {string} type its MIME type
 * @param {Date} [now]
 */
export function pastedName(type, now = new Date()) {
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  const day = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
  const time = `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  const ext = { 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' }[type] ?? 'png';
  return `pasted-image-${day}-${time}.${ext}`;
}

/**
 * Wires the three ways in to `add`, which gets the files of one pick, drop or paste.
 * @param {(files: File[]) => void} add
 */
export function wireFileSources(add) {
  const input = $('attach-input', HTMLInputElement);
  $('attach').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    const files = Array.from(input.files ?? []);
    // Cleared, so that picking the same file again is a change too.
    input.value = '';
    if (files.length > 0) add(files);
  });

  const zone = $('conversation');
  const hint = $('drop-zone');
  // dragenter and dragleave fire for every child crossed: count them to know when the drag
  // really left the conversation.
  let depth = 0;
  const show = (/** @type {boolean} */ on) => {
    hint.hidden = !on;
    zone.classList.toggle('dropping', on);
  };
  zone.addEventListener('dragenter', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth++;
    show(true);
  });
  zone.addEventListener('dragover', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', (e) => {
    if (!carriesFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) show(false);
  });
  zone.addEventListener('drop', (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    depth = 0;
    show(false);
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length > 0) add(files);
  });
  // A file dropped anywhere else would make the browser leave the page to open it.
  for (const type of /** @type {const} */ (['dragover', 'drop'])) {
    window.addEventListener(type, (e) => {
      if (carriesFiles(e) && !e.defaultPrevented) {
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'none';
      }
    });
  }

  $('text').addEventListener('paste', (e) => {
    const data = e.clipboardData;
    const files = Array.from(data?.files ?? []);
    if (files.length === 0) return;
    // A picture copied from a page comes with its HTML; the text, if any, still pastes.
    if (!data?.types.includes('text/plain')) e.preventDefault();
    add(files.map(renamePasted));
  });
}

/**
 * A pasted picture under a name of its own; a pasted file (copied in a file manager) keeps
 * its name.
 * @param {File} file
 */
function renamePasted(file) {
  const generic = file.name === '' || /^image\.(png|jpe?g|gif|webp)$/i.test(file.name);
  if (!file.type.startsWith('image/') || !generic) return file;
  return new File([file], pastedName(file.type), { type: file.type });
}
