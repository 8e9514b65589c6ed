/**
 * Invite links in the web client (web/login.js) in a real Chromium against a real server in
 * accounts mode with `--registration invite` (issue 23, part B): an admin makes a single-use
 * invite through the API; a fresh browser opens the link, is told it was invited, registers
 * and lands in the chat; a second browser with the same link is told clearly that it cannot
 * be used; one without a link is told that registration needs one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Page } from 'playwright-core';
import { hashPassword } from '../src/auth/passwords.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
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
const dir = mkdtempSync(join(tmpdir(), 'ssechat-browser-invite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Opens `path` in a fresh browser and waits until the form knows who may register. */
async function openForm(path: string): Promise<Page> {
  const page = await (await newContext()).newPage();
  await page.goto(path);
  await until(
    page,
    'the sign-up form shaped by the registration mode',
    () => document.getElementById('login')?.dataset.registration === 'invite',
  );
  return page;
}

test('an invite link registers a fresh browser once; a second use is refused', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t, { auth: 'accounts', registration: 'invite', dataDir: dir });
  if (!server) return;
  // The first admin, as `ssechat user add --admin` makes one: on the same file.
  const side = new SqliteStore({
    path: join(dir, 'ssechat.db'),
    synchronous: 'normal',
    maxOfflinePerUser: 10,
  });
  try {
    await side.accounts.createUser('root', await hashPassword(PASSWORD), Date.now(), {
      admin: true,
    });
  } finally {
    await side.close();
  }
  const root = await session(server.url, 'root', PASSWORD);
  const made = await api(server.url, 'POST', '/api/v1/admin/invites', {}, root);
  assert.equal(made.status, 201, made.body);
  const link = new URL(made.json.url);
  assert.equal(link.origin, server.url);

  const guest = await openForm(`${link.pathname}${link.search}`);
  assert.match((await guest.textContent('#login-hint')) ?? '', /You were invited/);
  assert.ok(await guest.locator('#register').isVisible());
  // The code left the address bar, and waits in the form.
  assert.equal(new URL(guest.url()).search, '');
  assert.equal(await guest.inputValue('#invite-code'), made.json.code);
  await guest.fill('#nick', 'guest');
  await guest.fill('#password', PASSWORD);
  await guest.click('#register');
  await connected(guest);

  const late = await openForm(`${link.pathname}${link.search}`);
  assert.match((await late.textContent('#login-hint')) ?? '', /You were invited/);
  await late.fill('#nick', 'latecomer');
  await late.fill('#password', PASSWORD);
  await late.click('#register');
  await until(
    late,
    'the refusal',
    () => document.getElementById('login-error')?.textContent !== '',
  );
  const error = (await late.textContent('#login-error')) ?? '';
  assert.match(error, /invite link cannot be used/);
  assert.match(error, /used as often as it allows/);
  assert.ok(await late.locator('#login-view').isVisible());

  // Without a link: no Register button, and the reason.
  const stranger = await openForm('/');
  assert.ok(await stranger.locator('#register').isHidden());
  assert.match((await stranger.textContent('#login-hint')) ?? '', /needs an invite link/);
  noPageErrors();
});
