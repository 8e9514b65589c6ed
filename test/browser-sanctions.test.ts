/**
 * A mute on the page (issue 23, part C; web/mute.js) in a real Chromium against a real server
 * in accounts mode: when an admin mutes the user, their open page shows "Muted until …: reason"
 * above a disabled message box, at once (the `sanction` event) and after a reload (GET
 * /session), and gives the box back when the mute is lifted. Same harness as browser.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { dataDir, promote } from './admin-kit.js';
import {
  connected,
  newContext,
  noPageErrors,
  setup,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';
import { api, session } from './helpers.js';

useBrowser();

const PASSWORD = 'correct horse';

test('a muted user sees until when and why, with the box disabled until it lifts', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const dir = dataDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await setup(t, { auth: 'accounts', dataDir: dir });
  if (!server) return;
  const root = await session(server.url, 'root', PASSWORD, true);
  await promote(dir, 'root');

  const page = await (await newContext()).newPage();
  await page.goto('/');
  await page.fill('#nick', 'ann');
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await connected(page);
  assert.equal(await page.isHidden('#mute-banner'), true);

  const muted = await api(
    server.url,
    'POST',
    '/api/v1/admin/users/ann/mute',
    { reason: 'cool down <b>now</b>', minutes: 30 },
    root,
  );
  assert.equal(muted.status, 201, muted.body);
  await until(page, 'the mute banner', () => !document.getElementById('mute-banner')?.hidden);
  const banner = (await page.textContent('#mute-banner')) ?? '';
  assert.match(banner, /^Muted until .+: cool down <b>now<\/b>$/);
  assert.equal(await page.isDisabled('#text'), true);
  assert.equal(await page.isDisabled('#send'), true);

  // A page opened while muted learns it from GET /session.
  await page.reload();
  await connected(page);
  await until(page, 'the mute banner again', () => !document.getElementById('mute-banner')?.hidden);
  assert.equal(await page.isDisabled('#text'), true);

  const lifted = await api(server.url, 'DELETE', '/api/v1/admin/users/ann/mute', undefined, root);
  assert.equal(lifted.status, 204, lifted.body);
  await until(page, 'the banner gone', () => document.getElementById('mute-banner')?.hidden);
  assert.equal(await page.isDisabled('#text'), false);
  noPageErrors();
});
