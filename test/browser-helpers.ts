/**
 * The harness of the Chromium tests (browser.test.ts): one Chromium per test file, a server
 * of its own per test, a browser context per user, and waits that say what they waited for.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, afterEach, before, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Config } from '../src/config.js';
import type { RunningServer } from '../src/main.js';
import { startTestServer } from './helpers.js';

/** Debian's Chromium, or CHROMIUM_PATH; a browser is never downloaded. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Without Chromium the browser tests skip (or fail, under CI). */
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** SCREENSHOTS=1 makes the screenshot test write docs/screenshot-*.png. */
export const SCREENSHOTS = process.env.SCREENSHOTS === '1';
/** Bound on any single wait in a page; a whole test is bounded by TEST_TIMEOUT. */
export const WAIT_MS = 10_000;
/** Bound on one whole browser test. */
export const TEST_TIMEOUT = 60_000;
/** A short presence grace, so that a closed page is announced as gone quickly. */
export const SERVER_OPTIONS: Partial<Config> = { presenceGraceMs: 300 };

/** The servers of the running test; `current` is the one new contexts open by default. */
const servers = new Set<RunningServer>();
let current: RunningServer | undefined;
let browser: Browser | undefined;
const contexts = new Set<BrowserContext>();
/** Script errors of any page; each test checks that none happened (noPageErrors). */
const errors: string[] = [];

/** Launches Chromium once per file (before its tests: useBrowser); does nothing without it. */
export async function launchBrowser(): Promise<void> {
  if (!HAVE_CHROMIUM) return;
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
}

/** Closes the contexts and servers a test opened (after each test: useBrowser). */
export async function cleanUp(): Promise<void> {
  for (const c of contexts) await c.close().catch(() => undefined);
  contexts.clear();
  for (const s of servers) await s.close();
  servers.clear();
  current = undefined;
}

/** Closes Chromium (after the file's tests: useBrowser). */
export async function closeBrowser(): Promise<void> {
  await browser?.close();
}

/**
 * Registers a browser test file's hooks: Chromium launched before its tests, each test's
 * contexts and servers closed after it, Chromium closed at the end.
 */
export function useBrowser(): void {
  before(launchBrowser);
  afterEach(cleanUp);
  after(closeBrowser);
}

/** Closes `server` after the test, with the test's other servers. */
export function track(server: RunningServer): RunningServer {
  servers.add(server);
  return server;
}

/**
 * Starts the test's own server (so no test sees another's messages), or returns undefined
 * when the test is skipped for want of Chromium.
 */
export async function setup(t: TestContext, options: Partial<Config> = {}) {
  if (!ready(t)) return undefined;
  current = await startTestServer({ ...SERVER_OPTIONS, ...options });
  servers.add(current);
  return current;
}

/** True when the test can run; skips it (or, under CI, fails it) when Chromium is missing. */
export function ready(t: TestContext): boolean {
  if (HAVE_CHROMIUM) return true;
  const why = `Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH, or apt-get install chromium)`;
  if (process.env.CI) assert.fail(`${why}; browser tests are required in CI`);
  t.skip(why);
  return false;
}

/** The repository root, from dist/test when built or from test/ under tsx. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Writes a screenshot of `page` to docs/<name>. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const docs = join(repoRoot(), 'docs');
  mkdirSync(docs, { recursive: true });
  await page.screenshot({ path: join(docs, name) });
}

/** A fresh browser context: a separate user with their own cookies and connections. */
export async function newContext(
  viewport = { width: 1000, height: 650 },
  baseURL = current?.url,
): Promise<BrowserContext> {
  assert.ok(browser && baseURL);
  // No drawer animation: what a test (or a screenshot) sees is the settled page.
  const context = await browser.newContext({ viewport, baseURL, reducedMotion: 'reduce' });
  context.setDefaultTimeout(WAIT_MS);
  contexts.add(context);
  // Any script error in the page fails the test that caused it.
  context.on('weberror', (e) => errors.push(e.error().message));
  context.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/.test(m.text())) errors.push(m.text());
  });
  return context;
}

/** Closes a context mid-test: its user goes away. */
export async function closeContext(context: BrowserContext): Promise<void> {
  contexts.delete(context);
  await context.close();
}

/** Waits until `fn` (run in the page) is truthy; the error names `what`. */
export async function until<A>(page: Page, what: string, fn: (arg: A) => unknown, arg?: A) {
  try {
    await page.waitForFunction(fn as (arg: unknown) => unknown, arg, { timeout: WAIT_MS });
  } catch (err) {
    const shown = await texts(page).catch(() => ['(page gone)']);
    throw new Error(`timed out waiting for ${what}; messages shown:\n${shown.join('\n')}`, {
      cause: err,
    });
  }
}

/** Waits until the page shows its stream as connected. */
export function connected(page: Page): Promise<void> {
  return until(page, 'Connected', () => {
    const el = document.getElementById('status');
    return el?.dataset.state === 'connected' && el.textContent === 'Connected';
  });
}

/** Opens a page and signs in as `nick` (open mode: the nick alone). */
export async function login(context: BrowserContext, nick: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/');
  await page.fill('#nick', nick);
  await page.click('#signin');
  await connected(page);
  assert.equal(await page.textContent('#me'), nick);
  return page;
}

/** Opens another tab of an already signed-in context. */
export async function tab(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/');
  await connected(page);
  return page;
}

/** The text of every message shown in the open conversation, oldest first. */
export function texts(page: Page): Promise<string[]> {
  return page.$$eval('#messages li.msg .text', (els) => els.map((e) => e.textContent ?? ''));
}

/** Waits until the open conversation shows a message with exactly this text. */
export function shown(page: Page, text: string): Promise<void> {
  return until(
    page,
    `message ${JSON.stringify(text)}`,
    (t) =>
      Array.from(document.querySelectorAll('#messages li.msg .text')).some(
        (e) => e.textContent === t,
      ),
    text,
  );
}

/** Opens conversation `id` ('all' or a nick) from the list. */
export async function openConv(page: Page, id: string): Promise<void> {
  if (await page.locator('#menu').isVisible()) {
    if ((await page.getAttribute('#menu', 'aria-expanded')) !== 'true') await page.click('#menu');
  }
  await page.click(`#convs button[data-conv="${id}"]`);
  // On a small screen the list is a drawer that closes once a conversation is chosen.
  if (await page.locator('#menu').isVisible()) {
    await page.locator('#sidebar').waitFor({ state: 'hidden' });
  }
  await until(
    page,
    `conversation ${id}`,
    (c) => document.getElementById('app')?.dataset.conv === c,
    id,
  );
}

/** Sends `text` in the open conversation and waits until the server has stored it. */
export async function send(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
  await until(
    page,
    `${JSON.stringify(text)} to be sent`,
    (t) =>
      Array.from(document.querySelectorAll<HTMLElement>('#messages li.msg.mine')).some(
        (li) =>
          li.querySelector('.text')?.textContent === t &&
          /^(sent|read)$/.test(li.dataset.state ?? ''),
      ),
    text,
  );
  assert.equal(await page.inputValue('#text'), '');
}

/** Waits until the unread badge of conversation `id` reads `want` ('' for none). */
export function waitUnread(page: Page, id: string, want: string): Promise<void> {
  return until(
    page,
    `unread ${want} on ${id}`,
    ([c, w]) => document.querySelector(`#convs button[data-conv="${c}"] .badge`)?.textContent === w,
    [id, want],
  );
}

/** Waits until the list shows `nick` as online (or offline). */
export function presence(page: Page, nick: string, online: boolean): Promise<void> {
  return until(
    page,
    `${nick} ${online ? 'online' : 'offline'}`,
    ([n, o]) =>
      document.querySelector(`#convs button[data-conv="${n}"]`)?.classList.contains('online') === o,
    [nick, online] as const,
  );
}

/** Makes the page believe its tab is hidden (or visible again), as switching tabs would. */
export async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (h ? 'hidden' : 'visible'),
    });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

/** Counts the event streams a context opens, and remembers their URLs. */
export function countStreams(context: BrowserContext): string[] {
  const urls: string[] = [];
  context.on('request', (req) => {
    if (new URL(req.url()).pathname === '/api/v1/events') urls.push(req.url());
  });
  return urls;
}

/** Asserts that no page had a script error or a CSP violation since the last check. */
export function noPageErrors(): void {
  const seen = errors.splice(0);
  assert.deepEqual(seen, [], 'no script errors in any page');
}
