/**
 * Profiles in the web client (web/profiles.js, account.js, people.js) in a real Chromium
 * against a real server in accounts mode: the sign-in form knows the mode before any
 * attempt, a display name and a picture set in one browser show in another's page without a
 * reload, the People directory finds a user by name and opens a conversation, and a changed
 * password signs in (with the nick in another letter case). Same harness as browser.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  connected,
  newContext,
  noPageErrors,
  send,
  setup,
  shown,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';
import { solidPng } from './image-fixtures.js';

useBrowser();

/** Opens the page in `context` and registers `nick` there. */
async function register(context: BrowserContext, nick: string, password: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/');
  await page.fill('#nick', nick);
  await page.fill('#password', password);
  await page.click('#register');
  await connected(page);
  return page;
}

/** Opens the Account dialog and waits until it shows the profile. */
async function openAccount(page: Page): Promise<void> {
  await page.click('#account-open');
  await until(
    page,
    'the Account dialog',
    () => (document.getElementById('account') as HTMLDialogElement | null)?.open,
  );
}

test('open mode: the sign-in form is the join form before any attempt', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t))) return;
  const context = await newContext();
  const page = await context.newPage();
  await page.goto('/');
  await until(
    page,
    'the open form',
    () => document.getElementById('login')?.dataset.mode === 'open',
  );
  assert.ok(await page.locator('#password').isHidden());
  assert.ok(await page.locator('#register').isHidden());
  assert.equal(await page.textContent('#signin'), 'Join');
  await page.fill('#nick', 'opener');
  await page.click('#signin');
  await connected(page);
  // No profiles here: no People, no Account dialog.
  assert.ok(await page.locator('#people-open').isHidden());
  assert.ok(await page.locator('#account-open').isHidden());
  noPageErrors();
});

test('profiles: a display name and a picture reach another page; People; password', {
  timeout: TEST_TIMEOUT * 2,
}, async (t) => {
  if (!(await setup(t, { auth: 'accounts' }))) return;
  // The sign-in form knows the mode before the first attempt (GET /api/v1/server).
  const fresh = await newContext();
  const first = await fresh.newPage();
  await first.goto('/');
  await until(
    first,
    'the accounts form',
    () => document.getElementById('login')?.dataset.mode === 'accounts',
  );
  assert.ok(await first.locator('#register').isVisible());
  assert.ok(await first.locator('#password').isVisible());

  const annContext = await newContext();
  const benContext = await newContext();
  const ann = await register(annContext, 'ann', 'first password');
  const ben = await register(benContext, 'ben', 'bens password');
  await send(ann, 'hello from ann');
  await shown(ben, 'hello from ann');

  // ann names herself; ben's page shows the name beside the nick, without a reload.
  await openAccount(ann);
  await ann.fill('#profile-name', 'Ann Example');
  await ann.click('#profile-save');
  await until(
    ann,
    'saved',
    () => document.getElementById('profile-note')?.textContent === 'Saved.',
  );
  await until(ben, 'the display name in ben’s page', () =>
    Array.from(document.querySelectorAll('#messages .from[data-name="ann"]')).some(
      (e) =>
        e.querySelector('.display-name')?.textContent === 'Ann Example' &&
        e.querySelector('.nick-aside')?.textContent === 'ann',
    ),
  );

  // A picture: uploaded from the dialog, saved, shown in ben's page.
  await ann.setInputFiles('#profile-avatar-input', {
    name: 'me.png',
    mimeType: 'image/png',
    buffer: await solidPng(64, 64, '#20a060'),
  });
  await until(
    ann,
    'the picture uploaded',
    () => document.getElementById('profile-note')?.textContent === 'Save to use this picture.',
  );
  await ann.click('#profile-save');
  await until(ben, 'ann’s picture in ben’s page', () =>
    Array.from(document.querySelectorAll('#messages [data-avatar="ann"] img')).some(
      (img) =>
        (img as HTMLImageElement).complete &&
        (img as HTMLImageElement).naturalWidth > 0 &&
        (img as HTMLImageElement).src.includes('/api/v1/users/ann/avatar?v='),
    ),
  );
  await ann.click('#account-close');

  // People: ben finds ann by her name, sees her online, and opens a conversation.
  await ben.click('#people-open');
  await ben.fill('#people-q', 'ann ex');
  await until(ben, 'ann in People', () =>
    Array.from(document.querySelectorAll('#people-list button')).some(
      (b) =>
        b.querySelector('.display-name')?.textContent === 'Ann Example' &&
        b.querySelector('.dot.online') !== null,
    ),
  );
  await ben.click('#people-list button');
  await until(
    ben,
    'the conversation with ann',
    () => document.getElementById('app')?.dataset.conv === 'ann',
  );

  // A password change, with clear errors first.
  await openAccount(ann);
  await ann.fill('#password-current', 'not my password');
  await ann.fill('#password-new', 'second password');
  await ann.fill('#password-again', 'second password');
  await ann.click('#password-save');
  await until(
    ann,
    'the wrong-password error',
    () =>
      document.getElementById('password-error')?.textContent === 'The current password is wrong.',
  );
  await ann.fill('#password-current', 'first password');
  await ann.fill('#password-again', 'second passwort');
  await ann.click('#password-save');
  assert.equal(await ann.textContent('#password-error'), 'The new passwords do not match.');
  await ann.fill('#password-again', 'second password');
  await ann.click('#password-save');
  await until(ann, 'the change confirmed', () =>
    /Password changed/.test(document.getElementById('password-note')?.textContent ?? ''),
  );
  await ann.click('#account-close');
  await ann.click('#logout');
  await until(ann, 'the login form', () => !document.getElementById('login-view')?.hidden);
  await ann.fill('#nick', 'ANN');
  await ann.fill('#password', 'first password');
  await ann.click('#signin');
  await until(
    ann,
    'the old password refused',
    () => document.getElementById('login-error')?.textContent === 'Wrong nickname or password.',
  );
  await ann.fill('#password', 'second password');
  await ann.click('#signin');
  await connected(ann);
  assert.equal(await ann.textContent('#me'), 'ann');
  noPageErrors();
});
