/**
 * End-to-end tests of search in the web client (web/search.js, search-results.js, jump.js)
 * in a real Chromium against a real server: results grouped by conversation with their
 * matches marked and a message's HTML shown as text, the filters, the sentence for no
 * results, the keyboard shortcuts, and a result opened in a long conversation: scrolled to
 * and highlighted, older and newer pages as the user scrolls, live again at the end. Same
 * harness as browser.test.ts (browser-helpers.ts).
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
  texts,
  until,
  useBrowser,
} from './browser-helpers.js';
import { api, session } from './helpers.js';

useBrowser();

/** A message that would run script if the page ever took it for HTML. */
const HOSTILE = '<img src=x onerror=alert(1)> banana time';

/** Sends `text` to `to` over the API with session `cookie`. */
async function post(base: string, cookie: Record<string, string>, to: string, text: string) {
  const reply = await api(base, 'POST', '/api/v1/messages', { to, text }, cookie);
  assert.equal(reply.status, 201, reply.body);
}

/** Opens the search box with Ctrl+K and searches for `q`. */
async function search(page: Page, q: string) {
  await page.keyboard.press('Control+k');
  await until(page, 'the search box focused', () => document.activeElement?.id === 'search-q');
  await page.fill('#search-q', q);
  await page.press('#search-q', 'Enter');
}

/** Waits until the line over the results says `want`. */
function said(page: Page, want: string) {
  return until(
    page,
    `the search to say ${JSON.stringify(want)}`,
    (w) => document.getElementById('search-state')?.textContent === w,
    want,
  );
}

/**
 * Scrolls the messages to one end until a message with text `until` shows, waiting for each
 * page that the scroll loads.
 */
async function scrollTo(page: Page, end: 'top' | 'bottom', want: string) {
  for (let i = 0; i < 10; i++) {
    if ((await texts(page)).includes(want)) return;
    const count = await page.locator('#messages li.msg').count();
    await page.$eval('#scroller', (s, e) => s.scrollTo(0, e === 'top' ? 0 : s.scrollHeight), end);
    await until(
      page,
      `a page at the ${end}`,
      (n) => document.querySelectorAll('#messages li.msg').length > n,
      count,
    );
  }
  assert.fail(`${JSON.stringify(want)} never showed at the ${end}`);
}

test('search: results grouped by conversation, matches marked, HTML shown as text; filters and no results', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t);
  if (!own) return;
  const alice = await session(own.url, 'alice');
  const bob = await session(own.url, 'bob');
  assert.equal((await api(own.url, 'POST', '/api/v1/rooms', { name: 'fruit' }, alice)).status, 201);
  assert.equal((await api(own.url, 'POST', '/api/v1/rooms/fruit/join', {}, bob)).status, 201);
  await post(own.url, alice, 'all', HOSTILE);
  await post(own.url, alice, 'all', 'nothing to see here');
  await post(own.url, alice, 'bob', 'banana bread for bob');
  await post(own.url, alice, '#fruit', 'a banana split');

  const page = await login(await newContext(), 'bob');
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => undefined);
  });
  await search(page, 'banana');
  await said(page, '3 results');
  const groups = await page.$$eval('#search-results .search-group', (sections) =>
    sections
      .map((s) => ({
        conv: (s as HTMLElement).dataset.conv,
        name: s.querySelector('h3 > span:not([class])')?.textContent,
        snippets: Array.from(s.querySelectorAll('.snippet'), (e) => e.textContent),
        marks: Array.from(s.querySelectorAll('.snippet mark'), (e) => e.textContent),
        from: Array.from(s.querySelectorAll('.search-hit .from'), (e) => e.textContent),
      }))
      .sort((a, b) => String(a.conv).localeCompare(String(b.conv))),
  );
  assert.deepEqual(groups, [
    {
      conv: '#fruit',
      name: '#fruit',
      snippets: ['a banana split'],
      marks: ['banana'],
      from: ['alice'],
    },
    {
      conv: 'alice',
      name: 'alice',
      snippets: ['banana bread for bob'],
      marks: ['banana'],
      from: ['alice'],
    },
    { conv: 'all', name: 'Everyone', snippets: [HOSTILE], marks: ['banana'], from: ['alice'] },
  ]);
  assert.equal(await page.locator('#search-results img').count(), 0, 'the snippet is text');
  assert.equal(await page.locator('.search-hit time').count(), 3);

  // The filters narrow it; a search that finds nothing says what was searched.
  await page.selectOption('#search-with', '#fruit');
  await said(page, '1 result');
  await page.fill('#search-from', 'alice');
  await page.press('#search-from', 'Enter');
  await said(page, '1 result');
  await page.fill('#search-q', 'zebra');
  await page.press('#search-q', 'Enter');
  await said(page, 'No messages match "zebra" from alice in #fruit.');
  assert.equal(await page.locator('#search-results .search-hit').count(), 0);

  // A query the server refuses says why, and nothing breaks.
  await page.fill('#search-q', 'a*');
  await page.press('#search-q', 'Enter');
  await until(page, 'the refusal', () =>
    /^Cannot search for that: /.test(document.getElementById('search-state')?.textContent ?? ''),
  );

  // Escape closes the panel and gives focus back; `/` (when not typing) opens it again.
  await page.keyboard.press('Escape');
  await until(page, 'the panel closed', () => document.getElementById('search-panel')?.hidden);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'text');
  await page.focus('#scroller');
  await page.keyboard.press('/');
  await until(page, 'the box focused by /', () => document.activeElement?.id === 'search-q');
  assert.equal(await page.locator('#search-panel').isVisible(), true);
  assert.equal(await page.inputValue('#search-q'), 'a*', 'the shortcut did not type a /');
  await page.keyboard.press('Escape');
  await until(page, 'the panel closed', () => document.getElementById('search-panel')?.hidden);
  assert.deepEqual(dialogs, []);
  noPageErrors();
});

test('search: a result opens a long conversation around it; scrolling loads older and newer pages, then it is live', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t);
  if (!own) return;
  const LONG = 150;
  const FOUND = 40;
  const alice = await session(own.url, 'alice');
  const line = (i: number) => (i === FOUND ? `line ${i} kiwi` : `line ${i}`);
  for (let i = 1; i <= LONG; i++) await post(own.url, alice, 'all', line(i));
  const page = await login(await newContext(), 'bob');
  await shown(page, line(LONG));

  // Pages of results: the first, then "More results".
  await search(page, 'line');
  await said(page, '20 results so far');
  await page.click('#search-more');
  await said(page, '40 results so far');
  const hits = await page.$$eval('#search-results .snippet', (els) =>
    els.map((e) => e.textContent),
  );
  assert.equal(new Set(hits).size, 40, 'each result once');
  assert.equal(await page.locator('#search-results .search-group').count(), 1);

  await search(page, 'kiwi');
  await said(page, '1 result');
  // A result is a button: the keyboard opens it.
  await page.focus('#search-results .search-hit');
  await page.keyboard.press('Enter');
  await until(page, 'the panel closed', () => document.getElementById('search-panel')?.hidden);
  await shown(page, line(FOUND));
  const found = page.locator('#messages li.msg.found');
  assert.equal(await found.locator('.text').textContent(), line(FOUND), 'highlighted');
  const inView = await page.evaluate(() => {
    const li = document.querySelector('#messages li.msg.found')?.getBoundingClientRect();
    const view = document.getElementById('scroller')?.getBoundingClientRect();
    return !!li && !!view && li.top >= view.top && li.bottom <= view.bottom;
  });
  assert.ok(inView, 'the message is scrolled into view');
  const around = await texts(page);
  assert.ok(!around.includes(line(LONG)), 'a window around the message, not the newest page');
  assert.ok(await page.locator('#live-pill').isVisible(), 'the way back to the newest');

  // A live message does not land after the gap: the pill says it came.
  await post(own.url, alice, 'all', 'said while away');
  await until(
    page,
    'the pill to say new messages came',
    () =>
      document.getElementById('live-pill')?.textContent === 'New messages: jump to the newest ↓',
  );
  assert.ok(!(await texts(page)).includes('said while away'));

  // Up to the beginning, then down to the end: every message once, in order, and live again.
  await scrollTo(page, 'top', line(1));
  await until(
    page,
    'the beginning',
    () =>
      document.getElementById('history-state')?.textContent ===
      'This is the beginning of the conversation.',
  );
  await scrollTo(page, 'bottom', 'said while away');
  const all = Array.from({ length: LONG }, (_, i) => line(i + 1));
  assert.deepEqual(await texts(page), [...all, 'said while away']);
  await until(page, 'live again', () => document.getElementById('live-pill')?.hidden);
  await post(own.url, alice, 'all', 'live again');
  await shown(page, 'live again');
  assert.deepEqual(await texts(page), [...all, 'said while away', 'live again']);
  noPageErrors();
});

test('search: the pill goes back to the newest messages, and sending from a window does too', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t);
  if (!own) return;
  const alice = await session(own.url, 'alice');
  for (let i = 1; i <= 120; i++)
    await post(own.url, alice, 'all', i === 10 ? 'n 10 plum' : `n ${i}`);
  const page = await login(await newContext(), 'bob');
  await shown(page, 'n 120');
  await search(page, 'plum');
  await said(page, '1 result');
  await page.click('#search-results .search-hit');
  await shown(page, 'n 10 plum');
  await page.click('#live-pill');
  await shown(page, 'n 120');
  assert.ok(!(await texts(page)).includes('n 10 plum'), 'the newest page, not the window');
  assert.ok(await page.locator('#live-pill').isHidden());

  await search(page, 'plum');
  await said(page, '1 result');
  await page.click('#search-results .search-hit');
  await shown(page, 'n 10 plum');
  await send(page, 'a reply from the window');
  await shown(page, 'n 120');
  const list = await texts(page);
  assert.equal(list.at(-1), 'a reply from the window');
  assert.equal(list.at(-2), 'n 120');
  assert.ok(await page.locator('#live-pill').isHidden());
  noPageErrors();
});
