/**
 * End-to-end tests of our chat page (web/index.html) in a real Chromium, driven by
 * playwright-core against a real server. Each user gets their own browser context (own
 * cookies, own connections), as two people on two machines would.
 *
 * Chromium is Debian's /usr/bin/chromium (or CHROMIUM_PATH); no browser is ever downloaded.
 * Without it the tests are skipped, except under CI, where they fail and say why.
 * With SCREENSHOTS=1 they also write docs/screenshot-chat.png and docs/screenshot-mobile.png.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { RunningServer } from '../src/main.js';
import { get, startTestServer } from './helpers.js';

// The callbacks passed to page.evaluate and page.waitForFunction run in the page. tsconfig has
// no DOM lib (the server has no business with one), so declare the little they use.
interface PageElement {
  readonly id: string;
  readonly textContent: string | null;
  readonly value?: string;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  readonly activeElement: PageElement | null;
  readonly documentElement: { readonly scrollWidth: number };
};
declare const window: { readonly __xss?: unknown };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SCREENSHOTS = process.env.SCREENSHOTS === '1';
/** Bound on any single wait in a page; a whole test is bounded by TEST_TIMEOUT. */
const WAIT_MS = 10_000;
const TEST_TIMEOUT = 60_000;

let server: RunningServer | undefined;
let browser: Browser | undefined;
const contexts = new Set<BrowserContext>();

before(async () => {
  if (!HAVE_CHROMIUM) return;
  server = await startTestServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

/** True when the test can run; skips it (or, under CI, fails it) when Chromium is missing. */
function ready(t: TestContext): boolean {
  if (HAVE_CHROMIUM) return true;
  const why = `Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH, or apt-get install chromium)`;
  if (process.env.CI) assert.fail(`${why}; browser tests are required in CI`);
  t.skip(why);
  return false;
}

/** The repository root, from dist/test when built or from test/ under tsx. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  const docs = join(repoRoot(), 'docs');
  mkdirSync(docs, { recursive: true });
  await page.screenshot({ path: join(docs, name) });
}

/** A fresh browser context: a separate user with their own cookies and connections. */
async function newContext(
  viewport = { width: 1000, height: 600 },
  baseURL = server?.url,
): Promise<BrowserContext> {
  assert.ok(browser && baseURL);
  const context = await browser.newContext({ viewport, baseURL });
  context.setDefaultTimeout(WAIT_MS);
  contexts.add(context);
  return context;
}

async function closeContext(context: BrowserContext): Promise<void> {
  contexts.delete(context);
  await context.close();
}

/** Opens the page in `context`, logs in as `nick` and waits until the stream is open. */
async function login(context: BrowserContext, nick: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/');
  await page.fill('#nick', nick);
  await page.click('#login button[type=submit]');
  await waitForLine(page, `Welcome ${nick}!`);
  await page.waitForFunction(
    () => document.getElementById('status')?.textContent === 'connected',
    undefined,
    { timeout: WAIT_MS },
  );
  return page;
}

/** The text of every line in the page's log. */
function logLines(page: Page): Promise<string[]> {
  return page.$$eval('#log li', (lis) => lis.map((li) => li.textContent ?? ''));
}

/** Waits until some log line equals `line` (or matches it); the error shows the log so far. */
async function waitForLine(page: Page, line: string | RegExp): Promise<string> {
  const want =
    typeof line === 'string'
      ? { text: line, source: '', flags: '' }
      : { text: '', source: line.source, flags: line.flags };
  try {
    const handle = await page.waitForFunction(
      (w) => {
        const re = w.source ? new RegExp(w.source, w.flags) : null;
        for (const li of document.querySelectorAll('#log li')) {
          const text = li.textContent ?? '';
          if (re ? re.test(text) : text === w.text) return text;
        }
        return false;
      },
      want,
      { timeout: WAIT_MS },
    );
    return (await handle.jsonValue()) as string;
  } catch (err) {
    const lines = await logLines(page).catch(() => ['(page gone)']);
    throw new Error(`no log line ${String(line)}; log so far:\n${lines.join('\n')}`, {
      cause: err,
    });
  }
}

/** Waits until the page's online list shows exactly `names` (in any order). */
async function waitForOnline(page: Page, names: string[]): Promise<void> {
  const want = [...names].sort();
  try {
    await page.waitForFunction(
      (w) => {
        const shown = [...document.querySelectorAll('#online li')]
          .map((b) => b.textContent ?? '')
          .sort();
        return JSON.stringify(shown) === JSON.stringify(w);
      },
      want,
      { timeout: WAIT_MS },
    );
  } catch (err) {
    const shown = await page.$$eval('#online li', (lis) => lis.map((li) => li.textContent));
    throw new Error(`online list is ${JSON.stringify(shown)}, want ${JSON.stringify(want)}`, {
      cause: err,
    });
  }
}

/** Sends `text` to `to` ('all' or a nick) through the page's form; waits until it went out. */
async function send(page: Page, to: string, text: string): Promise<void> {
  await page.selectOption('#to', to);
  await page.fill('#text', text);
  await page.click('#send button[type=submit]');
  // The page clears the input once the server answered 204, and shows any error in #err.
  await page.waitForFunction(
    () =>
      document.getElementById('text')?.value === '' ||
      document.getElementById('err')?.textContent !== '',
    undefined,
    { timeout: WAIT_MS },
  );
  assert.equal(await page.textContent('#err'), '', `sending ${JSON.stringify(text)} failed`);
}

test('two users chat: broadcast, direct message, online list', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!ready(t)) return;
  const ca = await newContext();
  const cb = await newContext();
  try {
    const alice = await login(ca, 'alice');
    const bob = await login(cb, 'bob');
    await waitForLine(alice, 'bob has joined.');
    await waitForOnline(alice, ['alice (you)', 'bob']);
    await waitForOnline(bob, ['alice', 'bob (you)']);
    // One's own entry is not a recipient to pick (the select has no option for it).
    assert.equal(await alice.locator('#online button').count(), 1);
    assert.deepEqual(
      await alice.$$eval('#to option', (os) => os.map((o) => (o as unknown as PageElement).value)),
      ['all', 'bob'],
    );

    await send(alice, 'all', 'hello all');
    await waitForLine(alice, 'alice to all: hello all');
    await waitForLine(bob, 'alice to all: hello all');

    // Bob picks Alice from the online list rather than the select.
    await bob.locator('#online button', { hasText: /^alice$/ }).click();
    assert.equal(await bob.inputValue('#to'), 'alice');
    assert.equal(
      await bob.evaluate(() => document.activeElement?.id),
      'text',
      'clicking a name focuses the message input',
    );
    await bob.fill('#text', 'hi alice, just you');
    await bob.press('#text', 'Enter');
    await waitForLine(alice, 'bob: hi alice, just you');
    await waitForLine(bob, 'You to alice: hi alice, just you');
    assert.equal(await bob.inputValue('#text'), '', 'the input is cleared after sending');
    assert.equal(await bob.inputValue('#to'), 'alice', 'the recipient stays chosen');

    await send(alice, 'bob', 'hi bob — ça va? <b>&amp;</b>');
    await waitForLine(bob, 'alice: hi bob — ça va? <b>&amp;</b>');
    await waitForLine(alice, 'You to bob: hi bob — ça va? <b>&amp;</b>');

    // A DM reaches only its recipient (and the sender's echo); a broadcast marks the end.
    await send(bob, 'all', 'bye for now');
    await waitForLine(alice, 'bob to all: bye for now');
    assert.ok(!(await logLines(alice)).some((l) => l.startsWith('You to alice')));
    assert.ok(!(await logLines(bob)).some((l) => l.startsWith('bob: ')));

    await screenshot(alice, 'screenshot-chat.png');

    await closeContext(cb);
    await waitForLine(alice, 'bob has left.');
    await waitForOnline(alice, ['alice (you)']);
  } finally {
    await closeContext(ca);
    if (contexts.has(cb)) await closeContext(cb);
  }
});

test('message text is shown as text, never run as HTML', { timeout: TEST_TIMEOUT }, async (t) => {
  if (!ready(t)) return;
  const cm = await newContext();
  const cv = await newContext();
  try {
    const mallory = await login(cm, 'mallory');
    const victim = await login(cv, 'victim');
    await waitForLine(mallory, 'victim has joined.');

    const img = '<img src=x onerror="window.__xss=1">';
    const script = '<script>window.__xss=2</script>';
    await send(mallory, 'all', img);
    await send(mallory, 'all', 'emoji 👋 and accents: ça, Zoë');
    await send(mallory, 'victim', script);
    await send(mallory, 'all', `<svg onload="window.__xss=3"></svg>${img}`);

    await waitForLine(victim, `mallory to all: ${img}`);
    await waitForLine(victim, 'mallory to all: emoji 👋 and accents: ça, Zoë');
    await waitForLine(victim, `mallory: ${script}`);
    await waitForLine(victim, `mallory to all: <svg onload="window.__xss=3"></svg>${img}`);
    await waitForLine(mallory, `You to victim: ${script}`);

    for (const page of [mallory, victim]) {
      assert.equal(await page.locator('#log img, #log script, #log svg').count(), 0);
      // Every log entry is one li holding only text.
      assert.equal(
        await page.$$eval('#log li', (lis) => lis.filter((li) => li.children.length > 0).length),
        0,
      );
      assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined');
    }
  } finally {
    await closeContext(cm);
    await closeContext(cv);
  }
});

test('a direct message to an offline user is shown at their next login', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!ready(t)) return;
  const cc = await newContext();
  const cd = await newContext();
  let cc2: BrowserContext | undefined;
  try {
    await login(cc, 'carol');
    const dave = await login(cd, 'dave');
    await waitForOnline(dave, ['carol', 'dave (you)']);
    await dave.selectOption('#to', 'carol');

    await closeContext(cc);
    await waitForLine(dave, 'carol has left.');
    // Carol stays the chosen recipient: a DM must never fall back to a broadcast.
    assert.equal(await dave.inputValue('#to'), 'carol');
    await dave.fill('#text', 'see you');
    await dave.press('#text', 'Enter');
    await waitForLine(dave, 'You to carol (offline): see you');

    cc2 = await newContext();
    const carol = await login(cc2, 'carol');
    const line = await waitForLine(carol, /^dave \(\d{4}-\d\d-\d\d \d\d:\d\d\): see you$/);
    // The page shows "now online: ..." in the online list, not in the log.
    assert.deepEqual(await logLines(carol), ['Welcome carol!', line]);
    await waitForOnline(carol, ['carol (you)', 'dave']);
    await waitForLine(dave, 'carol has joined.');
  } finally {
    if (contexts.has(cc)) await closeContext(cc);
    await closeContext(cd);
    if (cc2) await closeContext(cc2);
  }
});

test('375px wide: the message form fits without horizontal scrolling', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!ready(t)) return;
  const width = 375;
  const cm = await newContext({ width, height: 700 });
  const co = await newContext();
  try {
    const other = await login(co, 'Zoë_from_the_desk');
    const mobile = await login(cm, 'mobile');
    await waitForLine(other, 'mobile has joined.');
    await send(
      other,
      'all',
      'hi from the desktop, with a long unbroken word: supercalifragilisticexpialidocious_supercalifragilisticexpialidocious',
    );
    await send(mobile, 'Zoë_from_the_desk', 'hi from my phone');
    await waitForLine(mobile, /^Zoë_from_the_desk to all: hi from the desktop/);
    await waitForLine(mobile, 'You to Zoë_from_the_desk: hi from my phone');

    for (const selector of ['#to', '#text', '#send button[type=submit]', '#status']) {
      const el = mobile.locator(selector);
      assert.ok(await el.isVisible(), `${selector} is visible`);
      const box = await el.boundingBox();
      assert.ok(box, `${selector} has a box`);
      assert.ok(box.x >= 0, `${selector} starts inside the viewport (x=${box.x})`);
      assert.ok(
        box.x + box.width <= width,
        `${selector} ends inside the viewport (x=${box.x}, width=${box.width})`,
      );
      assert.ok(box.y + box.height <= 700, `${selector} is above the fold (y=${box.y})`);
    }
    const scrollWidth = await mobile.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= width, `no horizontal scroll (scrollWidth=${scrollWidth})`);
    // A long recipient name does not push the Send button onto a line of its own.
    const text = await mobile.locator('#text').boundingBox();
    const button = await mobile.locator('#send button[type=submit]').boundingBox();
    assert.ok(text && button && Math.abs(text.y - button.y) < 8, 'Send is beside the input');
    // A long nick wraps inside the online list instead of being cut off.
    const aside = await mobile.$eval('aside', (el) => [el.scrollWidth, el.clientWidth]);
    assert.ok((aside[0] ?? 0) <= (aside[1] ?? 0), `the online list overflows: ${aside}`);

    await screenshot(mobile, 'screenshot-mobile.png');
  } finally {
    await closeContext(cm);
    await closeContext(co);
  }
});

test('375px wide: the login form fits', { timeout: TEST_TIMEOUT }, async (t) => {
  if (!ready(t)) return;
  const cm = await newContext({ width: 375, height: 700 });
  try {
    const page = await cm.newPage();
    await page.goto('/');
    for (const selector of ['#nick', '#login button[type=submit]']) {
      const box = await page.locator(selector).boundingBox();
      assert.ok(
        box && box.x >= 0 && box.x + box.width <= 375,
        `${selector} fits: ${JSON.stringify(box)}`,
      );
    }
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 375);
    // A nick the server would refuse gets its reason in the page, and no stream is opened.
    await page.fill('#nick', 'a/b');
    await page.click('#login button[type=submit]');
    assert.equal(await page.textContent('#loginErr'), 'A nickname cannot contain "/".');
    assert.ok(await page.locator('#chat').isHidden());
  } finally {
    await closeContext(cm);
  }
});

test('the server restarts mid-session: the page shows it, reconnects, and shows every message once', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!ready(t)) return;
  const dataDir = mkdtempSync(join(tmpdir(), 'ssechat-browser-'));
  let first: RunningServer | undefined = await startTestServer({ store: 'sqlite', dataDir });
  const port = first.port;
  let second: RunningServer | undefined;
  const context = await newContext(undefined, first.url);
  const page = await login(context, 'rita');
  const status = (want: string[]) =>
    page.waitForFunction(
      (w) => w.includes(document.getElementById('status')?.textContent ?? ''),
      want,
      { timeout: 20_000 },
    );
  try {
    assert.equal((await get(first.url, '/msg/sam/rita%20before')).status, 204);
    await waitForLine(page, 'sam: before');

    await first.close();
    first = undefined;
    await status(['reconnecting…', 'offline, retrying']);

    second = await startTestServer({ store: 'sqlite', dataDir, port });
    // Sent while the page may still be away: kept for its login, or delivered live.
    assert.equal((await get(second.url, '/msg/sam/rita%20while%20away')).status, 204);
    await status(['connected']);
    await waitForLine(page, /^sam( \(\d{4}-\d\d-\d\d \d\d:\d\d\))?: while away$/);
    assert.equal((await get(second.url, '/msg/sam/rita%20after')).status, 204);
    await waitForLine(page, 'sam: after');

    const lines = await logLines(page);
    assert.equal(lines.filter((l) => l === 'Welcome rita!').length, 2, lines.join('\n'));
    for (const text of ['before', 'while away', 'after']) {
      assert.equal(lines.filter((l) => l.endsWith(`: ${text}`)).length, 1, `"${text}" once`);
    }
  } finally {
    await closeContext(context);
    await first?.close();
    await second?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
