// The Account dialog: the user's profile (display name and picture, docs/api.md Profiles)
// and a change of password (POST /password). The picture is uploaded like a file
// (uploader.js), then made the avatar: the server keeps a small copy of it.

import { ApiError, call, segment } from './api.js';
import { blockedNicks, loadBlocks, onBlocksChange, setBlocked } from './blocks.js';
import { safeName, upload } from './uploader.js';
import { $, avatar } from './view.js';

/** @typedef {import('../src/http/api-types.js').ApiProfile} ApiProfile */
/** @typedef {import('../src/http/api-types.js').ApiAuthMode} ApiAuthMode */

/**
 * What the dialog needs from the page.
 * @typedef {object} AccountDeps
 * @property {string} me
 * @property {ApiAuthMode} auth
 * @property {(p: ApiProfile) => void} changed our profile changed (shown at once)
 * @property {() => void} loggedOut
 */

/** The Account dialog. */
export class Account {
  /** @param {AccountDeps} deps */
  constructor(deps) {
    this.deps = deps;
    /** An upload id chosen as the next avatar, null to remove it, undefined: unchanged. */
    /** @type {string | null | undefined} */
    this.avatar = undefined;
  }

  wire() {
    const dialog = $('account', HTMLDialogElement);
    $('account-open').addEventListener('click', () => this.open());
    $('account-close').addEventListener('click', () => dialog.close());
    const accounts = this.deps.auth === 'accounts';
    $('profile-form').hidden = !accounts;
    $('password-form').hidden = !accounts;
    $('blocks-part').hidden = !accounts;
    if (!accounts) {
      // Open mode: nothing to keep; say so rather than show an empty dialog.
      $('account-open').hidden = true;
      return;
    }
    $('profile-nick').textContent = this.deps.me;
    $('password-user', HTMLInputElement).value = this.deps.me;
    $('profile-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.saveProfile();
    });
    $('password-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.changePassword();
    });
    $('profile-avatar-input').addEventListener('change', () => void this.choosePicture());
    onBlocksChange(() => this.renderBlocks());
    $('profile-avatar-clear').addEventListener('click', () => {
      this.avatar = null;
      this.preview(null);
    });
  }

  /** Opens the dialog with the profile as the server has it. */
  async open() {
    const dialog = $('account', HTMLDialogElement);
    for (const id of ['profile-error', 'profile-note', 'password-error', 'password-note']) {
      $(id).textContent = '';
    }
    this.avatar = undefined;
    dialog.showModal();
    $('blocks-error').textContent = '';
    this.renderBlocks();
    loadBlocks().catch((e) => {
      $('blocks-error').textContent = ApiError.from(e).message;
    });
    try {
      const p = /** @type {ApiProfile} */ (await call('GET', `users/${segment(this.deps.me)}`));
      $('profile-name', HTMLInputElement).value = p.displayName ?? '';
      this.preview(p.avatar);
    } catch (e) {
      this.fail('profile-error', ApiError.from(e));
    }
  }

  /** The list of users we block, each with Unblock (blocks.js). */
  renderBlocks() {
    const nicks = blockedNicks();
    $('blocks-empty').hidden = nicks.length > 0;
    $('blocks-list').replaceChildren(
      ...nicks.map((nick) => {
        const li = document.createElement('li');
        const name = document.createElement('span');
        name.textContent = nick;
        const unblock = document.createElement('button');
        unblock.type = 'button';
        unblock.className = 'quiet small';
        unblock.textContent = 'Unblock';
        unblock.setAttribute('aria-label', `Unblock ${nick}`);
        unblock.addEventListener('click', async () => {
          $('blocks-error').textContent = await setBlocked(nick, false);
        });
        li.append(name, ' ', unblock);
        return li;
      }),
    );
  }

  /**
   * Shows the avatar the profile would have.
   * @param {string | null} src
   */
  preview(src) {
    const badge = avatar(this.deps.me);
    // Not marked: profiles.js must not put the current picture back over the preview.
    delete badge.dataset.avatar;
    if (src !== null) {
      const img = document.createElement('img');
      img.alt = '';
      img.src = src;
      badge.classList.add('pictured');
      badge.append(img);
    }
    $('profile-avatar-preview').replaceChildren(badge);
  }

  /** Uploads the picture chosen; it becomes the avatar when the profile is saved. */
  async choosePicture() {
    const input = $('profile-avatar-input', HTMLInputElement);
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    $('profile-error').textContent = '';
    $('profile-note').textContent = 'Uploading the picture…';
    $('profile-save', HTMLButtonElement).disabled = true;
    try {
      const up = await upload(file, safeName(file.name), () => {}).done;
      if (up.width === undefined) {
        $('profile-note').textContent = '';
        $('profile-error').textContent = 'Choose a PNG, JPEG, GIF or WebP picture.';
        return;
      }
      this.avatar = up.id;
      this.preview(`/api/v1/uploads/${segment(up.id)}/thumb`);
      $('profile-note').textContent = 'Save to use this picture.';
    } catch (e) {
      $('profile-note').textContent = '';
      this.fail('profile-error', ApiError.from(e));
    } finally {
      $('profile-save', HTMLButtonElement).disabled = false;
    }
  }

  /** Saves the display name and the chosen picture. */
  async saveProfile() {
    $('profile-error').textContent = '';
    const name = $('profile-name', HTMLInputElement).value.normalize('NFC').trim();
    /** @type {{ displayName: string | null, avatar?: string | null }} */
    const body = { displayName: name === '' ? null : name };
    if (this.avatar !== undefined) body.avatar = this.avatar;
    $('profile-save', HTMLButtonElement).disabled = true;
    try {
      const p = /** @type {ApiProfile} */ (
        await call('PATCH', `users/${segment(this.deps.me)}`, body)
      );
      this.avatar = undefined;
      this.deps.changed(p);
      $('profile-note').textContent = 'Saved.';
    } catch (e) {
      this.fail('profile-error', ApiError.from(e));
    } finally {
      $('profile-save', HTMLButtonElement).disabled = false;
    }
  }

  /** Changes the password; the other sessions end (the server's rule). */
  async changePassword() {
    const current = $('password-current', HTMLInputElement);
    const next = $('password-new', HTMLInputElement);
    const again = $('password-again', HTMLInputElement);
    $('password-error').textContent = '';
    $('password-note').textContent = '';
    if (current.value === '') return this.say('Enter your current password.', current);
    if (next.value.length < 8) {
      return this.say('Choose a new password of at least 8 characters.', next);
    }
    if (next.value !== again.value) return this.say('The new passwords do not match.', again);
    $('password-save', HTMLButtonElement).disabled = true;
    try {
      await call('POST', 'password', { current: current.value, password: next.value });
      for (const input of [current, next, again]) input.value = '';
      $('password-note').textContent =
        'Password changed. Your other sessions and tokens were signed out.';
    } catch (e) {
      const err = ApiError.from(e);
      if (err.code === 'AUTH_FAILED') this.say('The current password is wrong.', current);
      else if (err.status === 401) this.deps.loggedOut();
      else this.fail('password-error', err);
    } finally {
      $('password-save', HTMLButtonElement).disabled = false;
    }
  }

  /**
   * Says what is wrong with a field of the password form, and moves there.
   * @param {string} text
   * @param {HTMLInputElement} field
   */
  say(text, field) {
    $('password-error').textContent = text;
    field.focus();
  }

  /**
   * Shows an error of the server in `where`.
   * @param {string} where
   * @param {ApiError} err
   */
  fail(where, err) {
    $(where).textContent =
      err.code === 'CHAT_PROFILE_INVALID'
        ? 'A display name is 1 to 64 visible characters, without control characters.'
        : err.code === 'NETWORK'
          ? 'Cannot reach the server. Try again.'
          : `${err.message}.`;
  }
}
