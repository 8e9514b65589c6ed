/**
 * The Account area of the web client (web/account.js) in a real Chromium against a real
 * server in accounts mode (issue 22): "Export my data" downloads the user's JSON, "Delete my
 * account" asks for the password and a confirmation and returns to the sign-in form, while
 * the other user's page sees them go offline. Also the live `room-listed` event: a public
 * room made by someone else appears in "Rooms to join" without a refresh. Same harness as
 * browser.test.ts (browser-helpers.ts).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  connected,
  newContext,
  noPageErrors,
  send,
  setup,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';

useBrowser();

const PASSWORD = 'correct horse';

/** Opens a page and registers `nick` (accounts mode). */
async function register(context: BrowserContext, nick: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/');
  await page.fill('#nick', nick);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await connected(page);
  assert.equal(await page.textContent('#me'), nick);
  return page;
}

/** Opens the direct conversation with `nick` from the "Message someone" form. */
async function message(page: Page, nick: string, text: string): Promise<void> {
  await page.fill('#dm-nick', nick);
  await page.press('#dm-nick', 'Enter');
  await until(
    page,
    `the conversation with ${nick}`,
    (n) => document.getElementById('conv-title')?.textContent?.includes(n),
    nick,
  );
  await send(page, text);
}

test('export downloads a JSON; delete the account returns to sign-in, others see them gone', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t, { auth: 'accounts' }))) return;
  const ann = await register(await newContext(), 'ann');
  const bob = await register(await newContext(), 'bob');
  await message(ann, 'bob', 'hello bob');
  await until(bob, 'ann online in the list', () =>
    document.querySelector('#convs button[data-conv="ann"]')?.classList.contains('online'),
  );

  // A public room bob makes appears in ann's "Rooms to join" at once, with no refresh.
  await bob.click('#new-room-box summary');
  await bob.fill('#room-name', 'lobby');
  await bob.click('#room-create');
  await until(ann, 'the new room offered', () =>
    Array.from(document.querySelectorAll('#room-offers .name')).some(
      (e) => e.textContent === '#lobby',
    ),
  );

  // Export my data.
  await ann.click('#account-box summary');
  const [download] = await Promise.all([
    ann.waitForEvent('download'),
    ann.click('#account-export'),
  ]);
  assert.match(download.suggestedFilename(), /^ssechat-ann-\d{4}-\d{2}-\d{2}\.json$/);
  const path = await download.path();
  assert.ok(path);
  const data = JSON.parse(await readFile(path, 'utf8'));
  assert.equal(data.account.nick, 'ann');
  assert.ok(data.messages.some((m: { text: string }) => m.text === 'hello bob'));
  await until(
    ann,
    'the export note',
    () =>
      document.getElementById('account-export-note')?.textContent === 'Your data was downloaded.',
  );

  // Delete my account: a wrong password is refused, and nothing happens.
  await ann.fill('#account-delete-password', 'not my password');
  ann.once('dialog', (d) => d.accept());
  await ann.click('#account-delete-go');
  await until(
    ann,
    'the refusal',
    () =>
      document.getElementById('account-delete-error')?.textContent === 'That is not your password.',
  );
  // Declining the confirmation deletes nothing either.
  await ann.fill('#account-delete-password', PASSWORD);
  ann.once('dialog', (d) => d.dismiss());
  await ann.click('#account-delete-go');
  assert.equal(await ann.isVisible('#login-view'), false);
  // Now for real.
  ann.once('dialog', (d) => d.accept());
  await ann.click('#account-delete-go');
  await until(ann, 'the sign-in form', () => !document.getElementById('login-view')?.hidden);
  await until(bob, 'ann offline in the list', () => {
    const button = document.querySelector('#convs button[data-conv="ann"]');
    return button !== null && !button.classList.contains('online');
  });
  // The account is gone: signing in as ann is refused.
  await ann.fill('#nick', 'ann');
  await ann.fill('#password', PASSWORD);
  await ann.click('#signin');
  await until(
    ann,
    'the refusal',
    () => document.getElementById('login-error')?.textContent === 'Wrong nickname or password.',
  );
  noPageErrors();
});
