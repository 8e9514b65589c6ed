/**
 * The seed's own page at /classic (web/classic.html, byte for byte the seed's) under its
 * Content-Security-Policy: over the wire, the headers that keep it out of frames and allow its
 * inline code by hash only; in a real Chromium, that the page still signs in, sends and
 * receives with no violation, and that another site cannot frame it. Same harness as
 * browser.test.ts (browser-helpers.ts).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  newContext,
  noPageErrors,
  setup,
  TEST_TIMEOUT,
  track,
  until,
  useBrowser,
} from './browser-helpers.js';
import { get, startTestServer } from './helpers.js';

useBrowser();

/** The directives of a Content-Security-Policy header, by name. */
function directives(csp: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name, values);
  }
  return out;
}

test('GET /classic: no framing, and inline code allowed by hash only', async () => {
  const server = track(await startTestServer());
  for (const method of ['GET', 'HEAD'] as const) {
    const r = await get(server.url, '/classic', {}, method);
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    const csp = directives(String(r.headers['content-security-policy'] ?? ''));
    assert.deepEqual(csp.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(csp.get('default-src'), ["'none'"]);
    assert.deepEqual(csp.get('base-uri'), ["'none'"]);
    assert.deepEqual(csp.get('connect-src'), ["'self'"]);
    for (const kind of ['script-src', 'style-src']) {
      const sources = csp.get(kind) ?? [];
      assert.ok(sources.length > 0, kind);
      for (const s of sources) assert.match(s, /^'(sha256-[A-Za-z0-9+/]{43}=|unsafe-hashes)'$/);
    }
  }
});

/** Opens /classic in `context` and chooses `nick`, counting CSP violations in the page. */
async function classic(context: BrowserContext, nick: string): Promise<Page> {
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as { violations?: string[] }).violations = seen;
    document.addEventListener('securitypolicyviolation', (e) =>
      seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`),
    );
  });
  const page = await context.newPage();
  await page.goto('/classic');
  await page.fill('input[name="nick"]', nick);
  await page.click('input[type="submit"][value="Choose nickname"]');
  await until(page, 'the message form', () => {
    const form = document.forms[1];
    return form && form.style.display === '' && document.forms[0]?.style.display === 'none';
  });
  return page;
}

/** Waits until the classic page shows a line containing `text`. */
function line(page: Page, text: string) {
  return until(
    page,
    `a line with ${JSON.stringify(text)}`,
    (t) => document.getElementById('content')?.textContent?.includes(t),
    text,
  );
}

test('the classic page works under its CSP: sign in, send, receive, clear; no violation', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t))) return;
  const ann = await classic(await newContext(), 'ann');
  const bob = await classic(await newContext(), 'bob');
  await line(ann, 'bob');
  await ann.fill('input[name="msg"]', 'bob hello <b>from</b> ann');
  await ann.press('input[name="msg"]', 'Enter');
  await line(bob, 'hello <b>from</b> ann');
  assert.equal(await bob.locator('#content b').count(), 0);
  // The form keeps the addressee for the next line.
  assert.equal(await ann.inputValue('input[name="msg"]'), 'bob ');
  await bob.click('input[value="Clear chat"]');
  assert.equal(await bob.textContent('#content'), '');
  for (const page of [ann, bob]) {
    assert.deepEqual(
      await page.evaluate(() => (window as { violations?: string[] }).violations),
      [],
    );
  }
  noPageErrors();
});

test('another site cannot frame /classic', { timeout: TEST_TIMEOUT }, async (t) => {
  const server = await setup(t);
  if (!server) return;
  // A page of another origin (a port of its own) that frames the chat. It is served from
  // loopback too, so that Chromium's local network checks do not block the frame instead.
  const framer = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<iframe src="${server.url}/classic"></iframe>`);
  });
  t.after(() => framer.close());
  await new Promise<void>((resolve) => framer.listen(0, '127.0.0.1', resolve));
  const { port } = framer.address() as AddressInfo;
  const page = await (await newContext()).newPage();
  const loaded = page.waitForResponse((r) => r.url() === `${server.url}/classic`);
  await page.goto(`http://127.0.0.1:${port}/`);
  assert.equal((await loaded).status(), 200);
  const framed = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(framed);
  await framed.waitForLoadState();
  // Refused, the frame shows Chromium's error page, not the chat's form.
  assert.equal(framed.url(), 'chrome-error://chromewebdata/');
  assert.equal(await framed.evaluate(() => document.forms.length), 0);
});
