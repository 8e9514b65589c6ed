/**
 * The moderators' queue of the chat page (web/mod-queue.js, report-card.js) in a real Chromium
 * against a real server in accounts mode (issue 23): a room's moderator who is not a server
 * admin sees the Reports button, its count goes up live when a member reports a message of the
 * room, the dialog shows the report as text (the markup in it is not markup) with only the
 * actions a moderator has, deletes the message in one step with a reason, and the reporter's
 * page says what was done. A refusal of the server (kicking the room's owner) is shown in the
 * confirmation dialog. An outcome reached while the reporter's page was closed is told when
 * they come back. Same harness as browser.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { dataDir } from './admin-kit.js';
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

/** The text of the Reports button's badge, or null while it is hidden. */
function badge(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const b = document.getElementById('reports-badge');
    return b && !b.hidden ? b.textContent : null;
  });
}

test('a room moderator handles a report from the chat page', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const dir = dataDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await setup(t, { auth: 'accounts', dataDir: dir });
  if (!server) return;
  const base = server.url;
  const olga = await session(base, 'olga', PASSWORD, true);
  const mia = await session(base, 'mia', PASSWORD, true);
  const ben = await session(base, 'ben', PASSWORD, true);
  const mal = await session(base, 'mal', PASSWORD, true);
  // olga owns #lobby and makes mia its moderator; ben and mal are members. Nobody is an admin.
  const made = await api(base, 'POST', '/api/v1/rooms', { name: '#lobby' }, olga);
  assert.equal(made.status, 201, made.body);
  for (const who of [mia, ben, mal]) {
    const joined = await api(base, 'POST', '/api/v1/rooms/lobby/join', {}, who);
    assert.equal(joined.status, 201, joined.body);
  }
  const role = await api(
    base,
    'PUT',
    '/api/v1/rooms/lobby/members/mia',
    { role: 'moderator' },
    olga,
  );
  assert.equal(role.status, 200, role.body);

  // A plain member has no Reports button; the moderator has one, with nothing open.
  const benPage = await signIn(await newContext(), 'ben');
  const miaPage = await signIn(await newContext(), 'mia');
  await miaPage.locator('#reports-open').waitFor({ state: 'visible' });
  assert.equal(await badge(miaPage), null);
  assert.equal(await benPage.isVisible('#reports-open'), false);
  assert.equal(await benPage.isVisible('#admin-link'), false);

  // mal writes in the room; ben reports it: mia's count goes up live.
  const text = 'cheap pills <b>here</b>';
  const sent = await api(base, 'POST', '/api/v1/messages', { to: '#lobby', text }, mal);
  assert.equal(sent.status, 201, sent.body);
  const filed = await api(
    base,
    'POST',
    `/api/v1/messages/${sent.json.id}/report`,
    { reason: 'spam <i>again</i>' },
    ben,
  );
  assert.equal(filed.status, 201, filed.body);
  await until(miaPage, 'the count of one open report', () => {
    const b = document.getElementById('reports-badge');
    return b && !b.hidden && b.textContent === '1';
  });

  // The dialog shows the report as text, with the moderator's actions only.
  await miaPage.click('#reports-open');
  const item = miaPage.locator('#mod-queue-list li.report').filter({ hasText: 'cheap pills' });
  await item.waitFor();
  assert.equal(await item.locator('.report-text').textContent(), text);
  assert.equal(await item.locator('.reason').textContent(), 'spam <i>again</i>');
  assert.match((await item.textContent()) ?? '', /mal in #lobby/);
  assert.match((await item.textContent()) ?? '', /Reported by ben/);
  assert.equal(await miaPage.locator('#mod-queue-list b, #mod-queue-list i').count(), 0);
  const buttons = await item.locator('.row-actions button').allTextContents();
  assert.deepEqual(buttons, ['Dismiss…', 'Delete message…', 'Kick from room…', 'Show in room']);

  // Delete in one step: the confirmation asks for a reason first.
  await item.getByRole('button', { name: 'Delete message…' }).click();
  const confirm = miaPage.locator('#confirm');
  await confirm.waitFor({ state: 'visible' });
  await miaPage.click('#confirm-go');
  assert.match((await miaPage.textContent('#confirm-error')) ?? '', /reason/);
  await miaPage.fill('#confirm-reason', 'spam in the lobby');
  await miaPage.click('#confirm-go');
  await confirm.waitFor({ state: 'hidden' });
  await until(miaPage, 'the queue emptied', () =>
    document.getElementById('mod-queue-state')?.textContent?.includes('No open reports'),
  );
  assert.equal(await badge(miaPage), null);
  assert.match((await miaPage.textContent('#mod-queue-notice')) ?? '', /delete done/);

  // The reporter's page says what was done; the message is gone for everyone.
  await until(benPage, 'the outcome notice', () =>
    document.getElementById('notice-text')?.textContent?.includes('the message was deleted'),
  );
  const closed = await api(base, 'GET', '/api/v1/reports?status=closed', undefined, mia);
  assert.equal(closed.status, 200, closed.body);
  assert.equal(closed.json.reports.length, 1);
  assert.equal(closed.json.reports[0].outcome, 'delete');
  assert.equal(closed.json.reports[0].handledBy, 'mia');
  assert.equal(closed.json.reports[0].note, 'spam in the lobby');
  assert.equal(closed.json.reports[0].message.deleted, true);

  // A refusal is shown in the dialog, which stays open: a moderator cannot kick the owner.
  const owners = await api(
    base,
    'POST',
    '/api/v1/messages',
    { to: '#lobby', text: 'I own this place' },
    olga,
  );
  assert.equal(owners.status, 201, owners.body);
  const again = await api(
    base,
    'POST',
    `/api/v1/messages/${owners.json.id}/report`,
    { reason: 'rude' },
    ben,
  );
  assert.equal(again.status, 201, again.body);
  const second = miaPage.locator('#mod-queue-list li.report').filter({ hasText: 'I own' });
  // The dialog is open: the `reported` event reads the list again.
  await second.waitFor();
  await until(miaPage, 'the count back to one', () => {
    const b = document.getElementById('reports-badge');
    return b && !b.hidden && b.textContent === '1';
  });
  await second.getByRole('button', { name: 'Kick from room…' }).click();
  await miaPage.fill('#confirm-reason', 'rude');
  await miaPage.click('#confirm-go');
  await until(miaPage, 'the refusal', () =>
    document.getElementById('confirm-error')?.textContent?.includes('CHAT_FORBIDDEN'),
  );
  assert.equal(await confirm.isVisible(), true);
  await miaPage.click('#confirm-cancel');
  await confirm.waitFor({ state: 'hidden' });
  // Still open: nothing happened.
  const open = await api(base, 'GET', '/api/v1/reports', undefined, mia);
  assert.equal(open.json.reports.length, 1);
  assert.equal(open.json.reports[0].status, 'open');

  // ben closes his page; mia dismisses the report (no reason needed). When ben comes back, his
  // page tells him what became of it, once (the first outcome was told already).
  const benContext = benPage.context();
  await benPage.close();
  await second.getByRole('button', { name: 'Dismiss…' }).click();
  await miaPage.click('#confirm-go');
  await confirm.waitFor({ state: 'hidden' });
  await until(miaPage, 'the queue emptied again', () =>
    document.getElementById('mod-queue-state')?.textContent?.includes('No open reports'),
  );
  const back = await benContext.newPage();
  await back.goto('/');
  await connected(back);
  await until(back, 'the outcome told on return', () =>
    document
      .getElementById('notice-text')
      ?.textContent?.startsWith('While you were away, your report was handled: moderators'),
  );
  noPageErrors();
});
