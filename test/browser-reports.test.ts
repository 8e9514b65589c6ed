/**
 * End-to-end test of reports in the web client (web/message-tools.js, events.js) in a real
 * Chromium against a real server in accounts mode: a user reports another's message from its
 * tools with a reason, an admin deletes it from the report, and the reporter's page says what
 * was done. Same harness as browser.test.ts (browser-helpers.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { BrowserContext, Page } from 'playwright-core';
import { configWith } from '../src/config.js';
import { sqlitePath } from '../src/startup.js';
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

useBrowser();

/** Opens the page in `context` and registers `nick` there. */
async function register(context: BrowserContext, nick: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/');
  await page.fill('#nick', nick);
  await page.fill('#password', 'correct horse battery');
  await page.click('#register');
  await connected(page);
  return page;
}

/** A JSON API call from `page` (its session cookie, its origin). */
function call(page: Page, method: string, path: string, body?: unknown) {
  return page.evaluate(
    async ([m, p, b]) => {
      const r = await fetch(`/api/v1${p}`, {
        method: m,
        headers: b === undefined ? {} : { 'Content-Type': 'application/json' },
        ...(b !== undefined && { body: JSON.stringify(b) }),
      });
      return { status: r.status, json: await r.json() };
    },
    [method, path, body] as const,
  );
}

test('reports: Report with a reason; the admin deletes it; the reporter is told', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ssechat-browser-reports-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  if (!(await setup(t, { auth: 'accounts', dataDir: dir }))) return;
  const ann = await register(await newContext(), 'ann');
  const ben = await register(await newContext(), 'ben');
  // ben is a server admin: a broadcast's reports go to admins.
  const db = new Database(sqlitePath(configWith({ dataDir: dir, store: 'sqlite' })));
  db.prepare("UPDATE users SET admin = 1 WHERE nick = 'ben'").run();
  db.close();

  const text = 'buy cheap watches';
  await send(ben, text);
  await shown(ann, text);
  const message = ann.locator('#messages li.msg', { hasText: text });
  await message.hover();
  await message.getByRole('button', { name: `Report “${text}”` }).click();
  await message.getByRole('textbox', { name: `Why report “${text}”` }).fill('spam');
  await message.getByRole('button', { name: `Report “${text}” to the moderators` }).click();
  await until(ann, 'the report notice', () =>
    document.getElementById('notice-text')?.textContent?.startsWith('Reported.'),
  );

  const queue = await call(ben, 'GET', '/reports');
  assert.equal(queue.status, 200);
  assert.equal(queue.json.reports.length, 1);
  assert.equal(queue.json.reports[0].reason, 'spam');
  assert.equal(queue.json.reports[0].message.text, text);
  const id = queue.json.reports[0].id;
  const acted = await call(ben, 'POST', `/reports/${id}`, { action: 'delete', reason: 'spam' });
  assert.equal(acted.status, 200, JSON.stringify(acted.json));

  await until(ann, 'the outcome notice', () =>
    document.getElementById('notice-text')?.textContent?.includes('the message was deleted'),
  );
  await until(
    ann,
    'the message gone',
    (t) =>
      Array.from(document.querySelectorAll('#messages li.msg')).every(
        (li) => li.querySelector('.text')?.textContent !== t,
      ),
    text,
  );
  noPageErrors();
});
