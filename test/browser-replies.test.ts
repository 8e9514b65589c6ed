/**
 * End-to-end test of replies in the web client (web/replies.js, message-tools.js, composer.js)
 * in a real Chromium against a real server: Reply in a message's tools, the bar above the box
 * (Escape and × cancel it), the quote above the reply, a click on a quote that goes to the
 * original (shown already, or far back in history through jump.js) and highlights it, a quote
 * whose original was deleted, and HTML in a quoted text shown as text. Same harness as
 * browser.test.ts (browser-helpers.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  login,
  newContext,
  noPageErrors,
  send,
  setup,
  shown,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';
import { api, session } from './helpers.js';

useBrowser();

/** A message that would run script if the page ever took it for HTML. */
const ORIGINAL = '<img src=x onerror=alert(1)> where is the key?';

/** Sends `text` to `to` over the API with session `cookie`; returns its id. */
async function post(
  base: string,
  cookie: Record<string, string>,
  to: string,
  text: string,
  replyTo?: number,
): Promise<number> {
  const reply = await api(base, 'POST', '/api/v1/messages', { to, text, replyTo }, cookie);
  assert.equal(reply.status, 201, reply.body);
  return reply.json.id;
}

/** The message node showing exactly `text`. */
function message(page: Page, text: string) {
  return page.locator('#messages li.msg').filter({
    has: page.locator('.text', { hasText: new RegExp(`^${literal(text)}$`) }),
  });
}

/** `text` as a regular expression that matches it literally. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Waits until message `text` is highlighted and lies within the scrolled view. */
async function revealed(page: Page, text: string) {
  await until(
    page,
    `${JSON.stringify(text)} highlighted and in view`,
    (t) => {
      const li = Array.from(document.querySelectorAll('#messages li.msg.found')).find(
        (n) => n.querySelector('.text')?.textContent === t,
      );
      const box = li?.getBoundingClientRect();
      const view = document.getElementById('scroller')?.getBoundingClientRect();
      return !!box && !!view && box.top >= view.top && box.bottom <= view.bottom;
    },
    text,
  );
}

test('replies: Reply, the bar and its cancel, the quote, and a click on it that goes to the original', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t);
  if (!own) return;
  const LONG = 150;
  const alice = await session(own.url, 'alice');
  const original = await post(own.url, alice, 'all', ORIGINAL);
  for (let i = 1; i <= LONG; i++) await post(own.url, alice, 'all', `line ${i}`);
  const page = await login(await newContext(), 'bob');
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => undefined);
  });
  await shown(page, `line ${LONG}`);

  // Reply from the message's tools; Escape cancels, and so does ×.
  const last = message(page, `line ${LONG}`);
  await last.hover();
  await last.getByRole('button', { name: `Reply to “line ${LONG}”` }).click();
  assert.equal(await page.locator('#reply-bar').isVisible(), true);
  assert.equal(await page.textContent('#reply-what'), `Replying to alice: line ${LONG}`);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'text');
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#reply-bar').isVisible(), false);
  await last.hover();
  await last.getByRole('button', { name: `Reply to “line ${LONG}”` }).click();
  await page.click('#reply-cancel');
  assert.equal(await page.locator('#reply-bar').isVisible(), false);
  await last.hover();
  await last.getByRole('button', { name: `Reply to “line ${LONG}”` }).click();
  await send(page, 'my answer');
  assert.equal(await page.locator('#reply-bar').isVisible(), false);
  const mine = message(page, 'my answer');
  await until(page, 'the quote of my answer', () =>
    Array.from(document.querySelectorAll('#messages li.msg.mine .quote-link')).some(
      (q) => q.textContent === 'aliceline 150',
    ),
  );

  // The original is shown: a click on the quote scrolls to it and highlights it.
  await page.$eval('#scroller', (s) => s.scrollTo(0, 0));
  await mine.locator('.quote-link').click();
  await revealed(page, `line ${LONG}`);

  // A reply far below its original: the page around it opens, the original highlighted.
  await post(own.url, alice, 'all', 'see the first one', original);
  await shown(page, 'see the first one');
  const far = message(page, 'see the first one').locator('.quote-link');
  assert.equal(await far.locator('.quote-text').textContent(), ORIGINAL, 'quoted as text');
  assert.equal(await page.locator('#messages .quote img').count(), 0);
  assert.equal(await message(page, ORIGINAL).count(), 0, 'not loaded before the click');
  await far.click();
  await shown(page, ORIGINAL);
  await revealed(page, ORIGINAL);

  // The original deleted: the quote says so and leads nowhere.
  await page.click('#live-pill');
  await shown(page, 'my answer');
  const target = (await api(own.url, 'GET', '/api/v1/messages?with=all&limit=5', undefined, alice))
    .json.messages as Array<{ id: number; text: string }>;
  const line = target.find((m) => m.text === `line ${LONG}`);
  assert.ok(line);
  const del = await api(own.url, 'DELETE', `/api/v1/messages/${line.id}`, undefined, alice);
  assert.equal(del.status, 200, del.body);
  await until(page, 'the quote unavailable', () =>
    Array.from(document.querySelectorAll('#messages li.msg.mine .quote')).some(
      (q) => q.textContent === 'Original message unavailable' && !q.querySelector('button'),
    ),
  );
  assert.deepEqual(dialogs, []);
  noPageErrors();
});
