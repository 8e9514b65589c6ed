/**
 * The server admins' page (/admin, web/admin.js) in a real Chromium against a real server in
 * accounts mode (issue 23): an admin finds the link in the chat page, opens /admin, sees a
 * report a user made, bans the author from the report in one step (a confirm dialog holding
 * the reason), and the banned user's open page is signed out. The audit tab shows what was
 * done. A non-admin gets "Admins only" and nothing else. Same harness as browser.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { dataDir, promote } from './admin-kit.js';
import {
  connected,
  newContext,
  noPageErrors,
  setup,
  shown,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';
import { api, session } from './helpers.js';

useBrowser();

const PASSWORD = 'correct horse';

/** Opens a page and signs in as `nick` (an account made already). */
async function signIn(context: BrowserContext, nick: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/');
  await page.fill('#nick', nick);
  await page.fill('#password', PASSWORD);
  await page.click('#signin');
  await connected(page);
  assert.equal(await page.textContent('#me'), nick);
  return page;
}

test('an admin bans from a report', { timeout: TEST_TIMEOUT }, async (t) => {
  const dir = dataDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await setup(t, { auth: 'accounts', dataDir: dir });
  if (!server) return;
  const base = server.url;
  const rootApi = await session(base, 'root', PASSWORD, true);
  const malloryApi = await session(base, 'mallory', PASSWORD, true);
  const annApi = await session(base, 'ann', PASSWORD, true);
  assert.ok(rootApi);
  await promote(dir, 'root');

  // mallory's page is open; a message of theirs is reported by ann.
  const mallory = await signIn(await newContext(), 'mallory');
  const sent = await api(
    base,
    'POST',
    '/api/v1/messages',
    { to: 'all', text: 'cheap pills <b>here</b>' },
    malloryApi,
  );
  assert.equal(sent.status, 201, sent.body);
  await shown(mallory, 'cheap pills <b>here</b>');
  const report = await api(
    base,
    'POST',
    `/api/v1/messages/${sent.json.id}/report`,
    { reason: 'spam <i>again</i>' },
    annApi,
  );
  assert.equal(report.status, 201, report.body);

  // A non-admin sees no link, and "Admins only" at /admin.
  const ann = await signIn(await newContext(), 'ann');
  assert.equal(await ann.isVisible('#admin-link'), false);
  await ann.goto('/admin');
  await until(ann, 'Admins only', () =>
    document.getElementById('admin-state')?.textContent?.startsWith('Admins only'),
  );
  assert.equal(await ann.isVisible('#admin'), false);

  // The admin follows the link from the chat page.
  const root = await signIn(await newContext(), 'root');
  await root.locator('#admin-link').waitFor({ state: 'visible' });
  await root.click('#admin-link');
  await root.waitForURL(/\/admin/);
  await root.locator('#users-rows tr[data-nick="mallory"]').waitFor();

  // The report, shown as text (the markup in it is not markup).
  await root.click('#tab-reports');
  const item = root.locator('#reports-list li.report').filter({ hasText: 'cheap pills' });
  await item.waitFor();
  assert.equal(await item.locator('.report-text').textContent(), 'cheap pills <b>here</b>');
  assert.equal(await item.locator('.reason').textContent(), 'spam <i>again</i>');
  assert.equal(await root.locator('#reports-list b, #reports-list i').count(), 0);

  // Ban from the report: the dialog asks for a reason first.
  await item.getByRole('button', { name: 'Ban author…' }).click();
  await root.locator('#confirm').waitFor({ state: 'visible' });
  await root.click('#confirm-go');
  await until(root, 'a reason asked for', () =>
    document.getElementById('confirm-error')?.textContent?.includes('reason'),
  );
  await root.fill('#confirm-reason', 'spamming the lobby');
  await root.click('#confirm-go');
  await root.locator('#confirm').waitFor({ state: 'hidden' });
  await until(root, 'the report gone from the open queue', () =>
    Array.from(document.querySelectorAll('#reports-list li.report')).every(
      (li) => !li.textContent?.includes('cheap pills'),
    ),
  );

  // mallory's open page is signed out: back at the sign-in form.
  await mallory.locator('#login-view').waitFor({ state: 'visible' });
  assert.equal((await api(base, 'GET', '/api/v1/session', undefined, malloryApi)).status, 401);

  // The users tab says so, and the audit log has it with its reason.
  await root.click('#tab-users');
  await until(root, 'mallory shown as banned', () =>
    document
      .querySelector('#users-rows tr[data-nick="mallory"] .sanction.ban')
      ?.textContent?.includes('spamming the lobby'),
  );
  await root.click('#tab-audit');
  await until(root, 'the ban in the audit log', () =>
    Array.from(document.querySelectorAll('#audit-rows tr')).some(
      (tr) => tr.textContent?.includes('mallory') && tr.textContent.includes('spamming the lobby'),
    ),
  );
  // Health answers.
  await root.click('#tab-health');
  await until(root, 'health numbers', () =>
    document.getElementById('health')?.textContent?.includes('Store'),
  );
  noPageErrors();
});

test('the users tab: mute and ban with a reason, the banned page signed out, the audit log', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const dir = dataDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await setup(t, { auth: 'accounts', dataDir: dir });
  if (!server) return;
  const base = server.url;
  await session(base, 'root', PASSWORD, true);
  await session(base, 'eve', PASSWORD, true);
  await promote(dir, 'root');
  const eve = await signIn(await newContext(), 'eve');

  const root = await newContext().then((c) => c.newPage());
  await root.goto('/admin');
  // Not signed in: "Admins only", and a way to sign in.
  await until(root, 'Admins only', () =>
    document.getElementById('admin-state')?.textContent?.startsWith('Admins only'),
  );
  await root.goto('/');
  await root.fill('#nick', 'root');
  await root.fill('#password', PASSWORD);
  await root.click('#signin');
  await connected(root);
  await root.locator('#admin-link').waitFor({ state: 'visible' });
  await root.goto('/admin#users');
  const row = root.locator('#users-rows tr[data-nick="eve"]');
  await row.waitFor();
  // Oneself has no actions.
  assert.equal(await root.locator('#users-rows tr[data-nick="root"] button').count(), 0);

  // Mute: the dialog asks for a reason and a duration; cancelling does nothing.
  await row.getByRole('button', { name: 'Mute…' }).click();
  await root.click('#confirm-cancel');
  await root.locator('#confirm').waitFor({ state: 'hidden' });
  assert.equal(await row.locator('.sanction').count(), 0);
  await row.getByRole('button', { name: 'Mute…' }).click();
  await root.selectOption('#mute-minutes', '10');
  await root.fill('#confirm-reason', 'cool down');
  await root.click('#confirm-go');
  await until(root, 'eve shown as muted', () =>
    document
      .querySelector('#users-rows tr[data-nick="eve"] .sanction.mute')
      ?.textContent?.includes('cool down'),
  );

  // Ban until lifted: eve's open page is signed out.
  await root
    .locator('#users-rows tr[data-nick="eve"]')
    .getByRole('button', { name: 'Ban…' })
    .click();
  await root.fill('#confirm-reason', 'enough');
  await root.click('#confirm-go');
  await root.locator('#confirm').waitFor({ state: 'hidden' });
  await eve.locator('#login-view').waitFor({ state: 'visible' });
  await until(root, 'eve shown as banned', () =>
    document
      .querySelector('#users-rows tr[data-nick="eve"] .sanction.ban')
      ?.textContent?.includes('until lifted'),
  );

  // The audit log, filtered by target, has both with their reasons.
  await root.click('#tab-audit');
  await root.fill('#audit-target', 'eve');
  await root.press('#audit-target', 'Enter');
  await until(root, 'the mute and the ban in the audit log', () => {
    const rows = Array.from(document.querySelectorAll('#audit-rows tr')).map(
      (tr) => tr.textContent ?? '',
    );
    return (
      rows.some((r) => r.includes('mute') && r.includes('cool down')) &&
      rows.some((r) => r.includes('ban') && r.includes('enough'))
    );
  });
  await root.click('#tab-health');
  await until(root, 'health numbers', () =>
    document.getElementById('health')?.textContent?.includes('Users online'),
  );
  noPageErrors();
});
