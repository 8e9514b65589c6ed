// The files waiting in the composer for the next message: each is uploaded as soon as it is
// added (uploader.js), shows as a chip with its name, size and progress, and can be cancelled
// (the request aborted) or removed (the finished upload discarded on the server). A failure
// says why in its chip, with Retry when trying again may work. Sending takes the finished
// uploads (take) and leaves the tray empty.

import { ApiError } from './api.js';
import { humanSize } from './attachments.js';
import { discard, knownTooBig, safeName, upload } from './uploader.js';
import { $, el, part, reconcile } from './view.js';

/** @typedef {import('../src/domain/events.js').Attachment} Attachment */
/**
 * One file in the tray.
 * @typedef {object} PendingFile
 * @property {string} key
 * @property {Blob} file
 * @property {string} name as it is uploaded (safeName)
 * @property {'queued' | 'uploading' | 'done' | 'failed'} state
 * @property {number} sent bytes sent so far
 * @property {Attachment | null} upload the server's answer, once done
 * @property {string} error why it failed, or ''
 * @property {boolean} retryable whether Retry is offered
 * @property {import('./uploader.js').UploadHandle | null} handle the request under way
 */
/**
 * What the tray tells its owner (the composer).
 * @typedef {object} TrayDeps
 * @property {() => void} changed the files or their states changed (Send may change)
 * @property {() => void} loggedOut the server answered 401
 */

/** Most files one message carries (the server's MAX_ATTACHMENTS). */
export const MAX_FILES = 10;
/**
 * Uploads under way at once; the others wait their turn. Two keep the pipe full without
 * having ten images decoded at once by a server that answers UPLOAD_BUSY when it is.
 */
const PARALLEL = 2;

let nextKey = 0;

/** The composer's pending files, in the order added; at most MAX_FILES. */
export class AttachTray {
  /** @param {TrayDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** @type {PendingFile[]} */
    this.files = [];
  }

  /** How many files the tray holds. */
  get size() {
    return this.files.length;
  }

  /**
   * Adds `files` (up to MAX_FILES in all) and starts uploading them; says what did not fit.
   * @param {readonly File[]} files
   */
  add(files) {
    this.say('');
    const room = MAX_FILES - this.files.length;
    const taken = files.slice(0, Math.max(0, room));
    for (const file of taken) {
      /** @type {PendingFile} */
      const p = {
        key: `f${nextKey++}`,
        file,
        name: safeName(file.name),
        state: 'queued',
        sent: 0,
        upload: null,
        error: '',
        retryable: false,
        handle: null,
      };
      // What the server would refuse anyway fails here, without sending a byte.
      if (file.size === 0) this.fail(p, 'The file is empty', false);
      else if (knownTooBig(file.size)) this.fail(p, tooBig(file.size), false);
      this.files.push(p);
    }
    const left = files.length - taken.length;
    if (left > 0) {
      const which = left === 1 ? '1 file was' : `${left} files were`;
      this.say(`Up to ${MAX_FILES} files per message: ${which} not added.`);
    }
    this.pump();
    this.render();
  }

  /**
   * Takes a file out: its upload is cancelled, or discarded on the server if it finished.
   * @param {string} key
   */
  remove(key) {
    const p = this.files.find((f) => f.key === key);
    if (!p) return;
    this.files = this.files.filter((f) => f !== p);
    p.handle?.abort();
    if (p.upload) discard(p.upload.id);
    this.say('');
    this.pump();
    this.render();
  }

  /**
   * Uploads a failed file again.
   * @param {string} key
   */
  retry(key) {
    const p = this.files.find((f) => f.key === key);
    if (p?.state !== 'failed') return;
    p.state = 'queued';
    p.error = '';
    p.sent = 0;
    this.pump();
    this.render();
  }

  /** True while a file is queued or uploading. */
  busy() {
    return this.files.some((f) => f.state === 'queued' || f.state === 'uploading');
  }

  /** How many files failed (and are still in the tray). */
  failed() {
    return this.files.filter((f) => f.state === 'failed').length;
  }

  /**
   * The finished uploads, in the order added, taken out of the tray (a message now carries
   * them). Only when nothing is busy or failed: the message would lack a file.
   * @returns {Attachment[]}
   */
  take() {
    const ready = this.files.flatMap((f) => (f.upload ? [f.upload] : []));
    this.files = [];
    this.say('');
    this.render();
    return ready;
  }

  /** Starts queued uploads while fewer than PARALLEL are under way. */
  pump() {
    let running = this.files.filter((f) => f.state === 'uploading').length;
    for (const p of this.files) {
      if (running >= PARALLEL) break;
      if (p.state !== 'queued') continue;
      running++;
      this.start(p);
    }
  }

  /**
   * Uploads `p`, and follows it to its end.
   * @param {PendingFile} p
   */
  async start(p) {
    p.state = 'uploading';
    const handle = upload(p.file, p.name, (sent) => {
      p.sent = sent;
      this.render();
    });
    p.handle = handle;
    try {
      p.upload = await handle.done;
      p.state = 'done';
    } catch (e) {
      const err = ApiError.from(e);
      if (err.code === 'ABORTED') return; // removed: nothing to show
      if (err.status === 401) this.deps.loggedOut();
      describe(this, p, err);
    } finally {
      p.handle = null;
    }
    if (!this.files.includes(p)) {
      // Removed while its answer was on the way: the upload is not wanted.
      if (p.upload) discard(p.upload.id);
      return;
    }
    this.pump();
    this.render();
  }

  /**
   * Marks `p` failed with `error`, saying so to screen readers.
   * @param {PendingFile} p
   * @param {string} error
   * @param {boolean} retryable
   */
  fail(p, error, retryable) {
    p.state = 'failed';
    p.error = error;
    p.retryable = retryable;
    // The chip shows it; screen readers hear it.
    $('attach-live').textContent = `${p.name}: ${error}.`;
  }

  /**
   * The tray's line, for what the chips do not say (also heard by screen readers).
   * @param {string} text
   */
  say(text) {
    $('attach-note').textContent = text;
  }

  /** Shows the chips (reusing each file's node, so focus and progress survive). */
  render() {
    const list = $('attach-list');
    reconcile(
      list,
      this.files.map((p) => ({
        key: p.key,
        create: () => chipNode(p, this),
        update: (li) => updateChip(li, p),
      })),
    );
    $('attach-tray').hidden = this.files.length === 0 && $('attach-note').textContent === '';
    this.deps.changed();
  }
}

/**
 * Why `err` failed `p`, in the words of its chip, and whether Retry may help.
 * @param {AttachTray} tray
 * @param {PendingFile} p
 * @param {ApiError} err
 */
function describe(tray, p, err) {
  const size = p.file.size;
  /** @type {Record<string, [string, boolean]>} */
  const known = {
    UPLOAD_TOO_LARGE: [tooBig(size), false],
    UPLOAD_QUOTA_EXCEEDED: ['Over your storage quota', false],
    UPLOAD_IMAGE_TOO_LARGE: ['The image has too many pixels to process', false],
    UPLOAD_IMAGE_INVALID: ['Not an image it can read', false],
    UPLOAD_EMPTY: ['The file is empty', false],
    UPLOAD_NAME_INVALID: ['The file name is not accepted', false],
    UPLOAD_BUSY: ['The server is busy; try again', true],
    CHAT_RATE_LIMITED: ['Too many uploads just now; try again', true],
    NETWORK: ['Network error; try again', true],
  };
  const [text, retryable] = known[err.code] ?? [
    err.transient ? `Failed (${err.message}); try again` : `Failed: ${err.message}`,
    err.transient,
  ];
  tray.fail(p, text, retryable);
}

/**
 * The error of a file over the server's cap.
 * @param {number} size
 */
function tooBig(size) {
  return `Too big (${humanSize(size)}): over this server's limit`;
}

/**
 * A file's chip: name, size, progress, error, Retry and Cancel/Remove.
 * @param {PendingFile} p
 * @param {AttachTray} tray
 */
function chipNode(p, tray) {
  const li = el('li', 'attach-chip');
  const name = el('span', 'attach-name', p.name);
  name.title = p.name;
  const size = el('span', 'attach-size', humanSize(p.file.size));
  const bar = el('progress', 'attach-progress');
  bar.max = Math.max(1, p.file.size);
  bar.setAttribute('aria-label', `Uploading ${p.name}`);
  const error = el('span', 'attach-error');
  const retry = el('button', 'attach-retry quiet small', 'Retry');
  retry.type = 'button';
  retry.setAttribute('aria-label', `Retry uploading ${p.name}`);
  retry.addEventListener('click', () => tray.retry(p.key));
  const remove = el('button', 'attach-remove quiet small');
  remove.type = 'button';
  remove.append(el('span', '', '×'));
  remove.addEventListener('click', () => {
    tray.remove(p.key);
    document.getElementById('text')?.focus();
  });
  li.append(name, size, bar, error, retry, remove);
  return li;
}

/**
 * Brings a chip up to date with its file's state.
 * @param {HTMLElement} li
 * @param {PendingFile} p
 */
function updateChip(li, p) {
  li.dataset.state = p.state;
  const bar = /** @type {HTMLProgressElement} */ (part(li, '.attach-progress'));
  bar.hidden = p.state !== 'uploading' && p.state !== 'queued';
  if (p.state === 'uploading') bar.value = p.sent;
  else bar.removeAttribute('value'); // queued: indeterminate
  part(li, '.attach-error').textContent = p.error;
  part(li, '.attach-retry').hidden = !(p.state === 'failed' && p.retryable);
  const remove = part(li, '.attach-remove');
  const verb = p.state === 'uploading' || p.state === 'queued' ? 'Cancel uploading' : 'Remove';
  remove.setAttribute('aria-label', `${verb} ${p.name}`);
  remove.title = verb;
}
