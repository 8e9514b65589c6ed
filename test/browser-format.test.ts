/**
 * Formatting of message text (web/markdown.js) in a real Chromium against a real server: the
 * Markdown subset renders (strong, emphasis, code, code blocks, quotes, lists, links that show
 * their target), mentions still mark inside it, and nothing written in Markdown runs or loads
 * anything: raw HTML, `javascript:` links, images and HTML in nested quotes show as text. Then
 * the composer: Shift+Enter, the Preview toggle, the counter at the server's text limit, and
 * the page fixes of issue 22 (no Read on a deleted message, the hover tools inside their
 * message). Same harness as browser.test.ts (browser-helpers.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  login,
  newContext,
  noPageErrors,
  openConv,
  setup,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';
import { api, get, session } from './helpers.js';

useBrowser();

/** Sends `text` to `to` over the API with session `cookie`; the stored message's id. */
async function post(base: string, cookie: Record<string, string>, to: string, text: string) {
  const reply = await api(base, 'POST', '/api/v1/messages', { to, text }, cookie);
  assert.equal(reply.status, 201, reply.body);
  return (reply.json as { id: number }).id;
}

/** Waits until the open conversation shows `n` messages. */
function count(page: Page, n: number) {
  return until(
    page,
    `${n} messages`,
    (k) => document.querySelectorAll('#messages li.msg').length === k,
    n,
  );
}

/** The inner HTML of each message's text in the open conversation, oldest first. */
function bodies(page: Page): Promise<string[]> {
  return page.$$eval('#messages li.msg .text', (els) => els.map((e) => e.innerHTML));
}

test('formatting: strong, emphasis, code, code blocks, quotes, lists and links render; mentions still mark', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t, { maxMessageLength: 30_000 });
  if (!own) return;
  const alice = await session(own.url, 'alice');
  const page = await login(await newContext(), 'bob');
  const sent = [
    '**bold** _em_ `a <b>` ~~gone~~',
    '```\nx <b>y</b> **not bold**\n  indented\n```',
    '> quoted\n> > inner _em_',
    '- one\n- two\n\n3. three',
    'see https://example.com/a_b_/*c*, and __init__.py',
    '**hey @bob** and `@bob`',
    'two\nlines',
    'plain  text, kept as typed: &amp;',
  ];
  for (const text of sent) await post(own.url, alice, 'all', text);
  await count(page, sent.length);
  assert.deepEqual(await bodies(page), [
    '<strong>bold</strong> <em>em</em> <code>a &lt;b&gt;</code> <s>gone</s>',
    '<pre><code>x &lt;b&gt;y&lt;/b&gt; **not bold**\n  indented\n</code></pre>',
    '<blockquote><p>quoted</p><blockquote><p>inner <em>em</em></p></blockquote></blockquote>',
    '<ul><li>one</li><li>two</li></ul><ol start="3"><li>three</li></ol>',
    'see <a dir="ltr" rel="noopener noreferrer nofollow" target="_blank" ' +
      'href="https://example.com/a_b_/*c*">https://example.com/a_b_/*c*</a>, and <strong>init</strong>.py',
    '<strong>hey <mark class="mention me" title="Mentions you">@bob</mark></strong> and <code>@bob</code>',
    // Plain text keeps its own line breaks (pre-wrap), as before.
    'two\nlines',
    'plain  text, kept as typed: &amp;amp;',
  ]);
  // A link's text is its real target.
  const link = await page.$eval('#messages a', (a) => ({
    text: a.textContent,
    href: (a as HTMLAnchorElement).href,
  }));
  assert.equal(link.text, link.href);
  // Past 20,000 characters a text shows plain (markdown.js FORMAT_MAX): rendering is bounded.
  const long = `**big** https://example.com/x ${'a'.repeat(20_000)}`;
  await post(own.url, alice, 'all', long);
  await count(page, sent.length + 1);
  const last = await page.$eval('#messages li.msg:last-child .text', (e) => ({
    text: e.textContent,
    elements: Array.from(e.querySelectorAll('*'), (n) => n.tagName),
  }));
  assert.deepEqual(last, { text: long, elements: ['A'] });

  // The libraries are served as the page's own assets are: typed, revalidated, not sniffed.
  for (const name of ['markdown-it.js', 'purify.js']) {
    const res = await get(own.url, `/assets/${name}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(res.body, /^export \{ \w+ as default \};$/m);
    const again = await get(own.url, `/assets/${name}`, {
      'If-None-Match': String(res.headers.etag),
    });
    assert.equal(again.status, 304);
  }
  noPageErrors();
});

test('formatting: HTML, javascript: links, images and HTML in nested quotes show as text and run or load nothing', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t);
  if (!own) return;
  const mallory = await session(own.url, 'mallory');
  const context = await newContext();
  const page = await login(context, 'victim');
  const requests: string[] = [];
  context.on('request', (r) => {
    if (!r.url().startsWith(own.url)) requests.push(r.url());
  });
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => undefined);
  });
  await page.evaluate(() => {
    (window as unknown as { pwned: number }).pwned = 0;
  });
  const hostile = [
    '<img src=x onerror="window.pwned=1">',
    '<script>window.pwned=2</script>',
    '[x](javascript:window.pwned=3)',
    '<https://example.com" onmouseover="window.pwned=4">',
    '> <b>quoted html</b>\n> > <img src=y onerror="window.pwned=5">',
    '![img](http://example.com/a.png)',
    'javascript:window.pwned=6',
    '**<svg onload="window.pwned=7">** _<iframe src="javascript:window.pwned=8">_',
    '- <a href="javascript:window.pwned=9">list</a>\n\n```\n<img src=z onerror="window.pwned=10">\n```',
    '[text](https://example.com/) and <b onclick=x>',
  ];
  for (const text of hostile) await post(own.url, mallory, 'all', text);
  await count(page, hostile.length);
  // Hover every message, as a reader's mouse would.
  for (const li of await page.locator('#messages li.msg .text').all()) await li.hover();
  const found = await page.evaluate(() => ({
    pwned: (window as unknown as { pwned: number }).pwned,
    elements: document.querySelectorAll(
      '#messages :is(img, script, svg, iframe, b, object, embed, style, link, form, input)',
    ).length,
    handlers: Array.from(document.querySelectorAll('#messages *')).flatMap((e) =>
      e.getAttributeNames().filter((n) => /^on|^style$|^src$/i.test(n)),
    ),
    hrefs: Array.from(document.querySelectorAll('#messages a'), (a) => a.getAttribute('href')),
    texts: Array.from(document.querySelectorAll('#messages li.msg .text'), (e) => e.textContent),
  }));
  assert.equal(found.pwned, 0, 'no handler ran');
  assert.equal(found.elements, 0, 'no element from the text');
  assert.deepEqual(found.handlers, []);
  // Only http(s) links, each to what it shows.
  assert.deepEqual(found.hrefs, [
    'https://example.com/',
    'http://example.com/a.png',
    'https://example.com/',
  ]);
  assert.deepEqual(found.texts, [
    '<img src=x onerror="window.pwned=1">',
    '<script>window.pwned=2</script>',
    '[x](javascript:window.pwned=3)',
    // The link's text is its target as the URL parser spells it.
    '<https://example.com/" onmouseover="window.pwned=4">',
    '<b>quoted html</b><img src=y onerror="window.pwned=5">',
    '![img](http://example.com/a.png)',
    'javascript:window.pwned=6',
    '<svg onload="window.pwned=7"> <iframe src="javascript:window.pwned=8">',
    '<a href="javascript:window.pwned=9">list</a><img src=z onerror="window.pwned=10">\n',
    '[text](https://example.com/) and <b onclick=x>',
  ]);
  assert.deepEqual(requests, [], 'nothing was loaded from elsewhere');
  assert.deepEqual(dialogs, []);
  noPageErrors();
});

test('composer: Shift+Enter is a new line, Preview shows the formatting, and a text past the limit stays in the box with a counter', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t, { maxMessageLength: 40 });
  if (!own) return;
  const page = await login(await newContext(), 'ann');
  await page.click('#text');
  await page.keyboard.type('**big**');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('- item');
  assert.equal(await page.inputValue('#text'), '**big**\n- item');
  assert.equal(await page.locator('#messages li.msg').count(), 0, 'nothing was sent');

  // Preview: the text as it will show, while the button is pressed.
  assert.equal(await page.locator('#preview').isVisible(), false);
  await page.click('#preview-toggle');
  assert.equal(await page.getAttribute('#preview-toggle', 'aria-pressed'), 'true');
  assert.equal(
    await page.innerHTML('#preview'),
    '<p><strong>big</strong></p><ul><li>item</li></ul>',
  );
  await page.keyboard.type(' _two_');
  assert.equal(
    await page.innerHTML('#preview'),
    '<p><strong>big</strong></p><ul><li>item <em>two</em></li></ul>',
  );
  await page.click('#preview-toggle');
  assert.equal(await page.locator('#preview').isVisible(), false);

  // The counter shows near the limit (40 code points; an emoji is one).
  assert.equal(await page.locator('#text-count').isVisible(), false);
  await page.fill('#text', `${'a'.repeat(34)}😀😀`);
  await until(page, 'the counter', () => !document.getElementById('text-count')?.hidden);
  assert.equal(await page.textContent('#text-count'), '4 characters left');
  // Past it, Enter sends nothing: the text stays, and the counter says by how much.
  const long = `${'b'.repeat(43)}😀`;
  await page.fill('#text', long);
  await page.press('#text', 'Enter');
  assert.equal(await page.inputValue('#text'), long);
  assert.equal(await page.textContent('#text-count'), '4 characters too long (the limit is 40)');
  assert.equal(await page.getAttribute('#text-count', 'class'), 'text-count over');
  assert.equal(await page.locator('#messages li.msg').count(), 0, 'no unsendable message');
  // Shortened, it goes.
  await page.fill('#text', 'b'.repeat(40));
  await page.press('#text', 'Enter');
  await until(page, 'sent', () =>
    /^(sent|read)$/.test(
      document.querySelector<HTMLElement>('#messages li.msg.mine')?.dataset.state ?? '',
    ),
  );
  assert.equal(await page.inputValue('#text'), '');
  assert.equal(await page.locator('#text-count').isVisible(), false);
  noPageErrors();
});

test('a deleted message says no Read; the hover tools stay inside their own message', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t);
  if (!own) return;
  const alice = await login(await newContext(), 'alice');
  const bob = await login(await newContext(), 'bob');
  await openConv(alice, 'bob');
  for (const text of ['first of two', 'second of two']) {
    await alice.fill('#text', text);
    await alice.press('#text', 'Enter');
  }
  await openConv(bob, 'alice');
  await until(alice, 'Read', () =>
    Array.from(document.querySelectorAll<HTMLElement>('#messages li.msg.mine')).every(
      (li) => li.dataset.state === 'read',
    ),
  );

  // The tools of the second (grouped under the first) cover none of the first.
  const second = alice.locator('#messages li.msg.mine').last();
  await second.hover();
  const boxes = await alice.$$eval('#messages li.msg.mine', (lis) => {
    const [a, b] = lis.map((li) => li.getBoundingClientRect());
    const tools = lis[1]?.querySelector('.tools')?.getBoundingClientRect();
    const shown = lis[1] && getComputedStyle(lis[1].querySelector('.tools') as Element).opacity;
    return { a, b, tools, shown, hover: matchMedia('(hover: hover)').matches };
  });
  assert.ok(boxes.a && boxes.b && boxes.tools);
  assert.equal(boxes.hover, true, 'the tools float (rooms.css) with a mouse, as here');
  assert.equal(boxes.shown, '1', 'the tools show on hover');
  assert.ok(boxes.tools.top >= boxes.b.top, 'the tools start inside their own message');
  assert.ok(boxes.tools.top >= boxes.a.bottom, 'the tools do not cover the message above');

  // Deleted, the second says neither Read nor Sent.
  await alice.getByRole('button', { name: 'Delete “second of two”' }).click();
  await alice.getByRole('button', { name: 'Yes, delete “second of two”' }).click();
  await until(alice, 'deleted', () =>
    document.querySelector('#messages li.msg.mine:last-child')?.classList.contains('deleted'),
  );
  const states = await alice.$$eval('#messages li.msg.mine', (lis) =>
    lis.map((li) => [(li as HTMLElement).dataset.state, li.querySelector('.state')?.textContent]),
  );
  assert.deepEqual(states, [
    ['read', 'Read'],
    ['deleted', ''],
  ]);
  assert.equal(await alice.locator('#messages li.msg.mine .state').last().isVisible(), false);
  noPageErrors();
});
