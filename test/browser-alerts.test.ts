/**
 * End-to-end tests of what reaches people beyond the open conversation (issue 19) in a real
 * Chromium against a real server: mentions (web/mentions.js) and nick completion
 * (nick-complete.js), unread counts and the "New messages" divider kept by the server
 * (unread.js, message-view.js), notification levels (levels.js), desktop notifications from
 * the leader tab (desktop.js, attention.js), the service worker showing a pushed notification
 * (sw.js, through the DevTools protocol's ServiceWorker.deliverPushMessage, no push service)
 * and the installable app's files. Same harness as browser.test.ts (browser-helpers.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  login,
  newContext,
  noPageErrors,
  openConv,
  setHidden,
  setup,
  shown,
  TEST_TIMEOUT,
  tab,
  texts,
  track,
  until,
  useBrowser,
  WAIT_MS,
  waitUnread,
} from './browser-helpers.js';
import { api, get, session, startTestServer } from './helpers.js';

useBrowser();

/** What the notification hook (HOOK) recorded in a page. */
interface Shown {
  via: 'constructor' | 'worker';
  title: string;
  body?: string;
  tag?: string;
}

/**
 * An init script that records every notification a page shows, by either path (desktop.js):
 * the Notification constructor and ServiceWorkerRegistration.showNotification; and every
 * permission request.
 */
const HOOK = () => {
  const w = window as unknown as { __shown: unknown[]; __asked: number };
  w.__shown = [];
  w.__asked = 0;
  const Original = window.Notification;
  if (typeof Original !== 'function') return;
  class Hooked extends Original {
    constructor(title: string, options?: NotificationOptions) {
      super(title, options);
      w.__shown.push({ via: 'constructor', title, body: options?.body, tag: options?.tag });
    }
    static override requestPermission(): Promise<NotificationPermission> {
      w.__asked++;
      return Original.requestPermission();
    }
  }
  Object.defineProperty(window, 'Notification', { value: Hooked, configurable: true });
  // Not in a page that is no secure context (about:blank before the first navigation).
  if (typeof ServiceWorkerRegistration !== 'function') return;
  const show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    w.__shown.push({ via: 'worker', title, body: options?.body, tag: options?.tag });
    return show.call(this, title, options);
  };
};

/** The notifications `page` showed (HOOK). */
function shownIn(page: Page): Promise<Shown[]> {
  return page.evaluate(() => (window as unknown as { __shown: Shown[] }).__shown);
}

/** Waits until `page` showed a notification (HOOK). */
function notified(page: Page): Promise<void> {
  return until(
    page,
    'a notification',
    () => (window as unknown as { __shown: unknown[] }).__shown.length > 0,
  );
}

/** A context whose pages may show notifications, and record them (HOOK). */
async function notifyingContext(url: string): Promise<BrowserContext> {
  const context = await newContext();
  await context.grantPermissions(['notifications'], { origin: url });
  await context.addInitScript(HOOK);
  return context;
}

/**
 * Waits until `fn`, run in the page, resolves truthy (until() takes a promise for truthy at
 * once); the error names `what`.
 */
async function poll(page: Page, what: string, fn: () => Promise<unknown>) {
  const end = Date.now() + WAIT_MS;
  while (!(await page.evaluate(fn))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(50);
  }
}

/** Waits until the page's service worker (sw.js) is active. */
function workerActive(page: Page): Promise<void> {
  return poll(page, 'the service worker to be active', async () => {
    const r = await navigator.serviceWorker?.getRegistration('/');
    return r?.active?.state === 'activated';
  });
}

/** Signs `nick` in on a notifying context, and waits for the page's service worker. */
async function notifyingLogin(url: string, nick: string) {
  const context = await notifyingContext(url);
  const page = await login(context, nick);
  await workerActive(page);
  return { context, page };
}

/** Sends `text` to `to` as the user whose session cookie is `cookie`; returns its id. */
async function post(url: string, cookie: Record<string, string>, to: string, text: string) {
  const reply = await api(url, 'POST', '/api/v1/messages', { to, text }, cookie);
  assert.equal(reply.status, 201, reply.body);
  return Number(JSON.parse(reply.body).id);
}

test('the installable app: manifest, icons, /sw.js at the root, a CSP that allows them; the worker caches nothing', {
  timeout: TEST_TIMEOUT,
}, async () => {
  const own = track(await startTestServer());
  const page = await get(own.url, '/');
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /worker-src 'self'/);
  assert.match(csp, /manifest-src 'self'/);
  assert.match(page.body, /<link rel="manifest" href="\/assets\/manifest.webmanifest">/);
  assert.match(page.body, /<link rel="apple-touch-icon" href="\/assets\/apple-touch-icon.png">/);
  const manifest = await get(own.url, '/assets/manifest.webmanifest');
  assert.equal(manifest.status, 200);
  assert.equal(manifest.headers['content-type'], 'application/manifest+json');
  const m = JSON.parse(manifest.body);
  assert.equal(m.start_url, '/');
  assert.equal(m.display, 'standalone');
  assert.ok(m.name && m.short_name && m.theme_color && m.background_color);
  const pngs = m.icons.filter((i: { type: string }) => i.type === 'image/png');
  assert.ok(pngs.some((i: { purpose: string }) => i.purpose === 'maskable'));
  for (const size of ['192x192', '512x512']) {
    assert.ok(
      pngs.some((i: { sizes: string }) => i.sizes === size),
      size,
    );
  }
  for (const icon of [...pngs, { src: '/assets/apple-touch-icon.png', sizes: '180x180' }]) {
    const reply = await fetch(`${own.url}${icon.src}`);
    assert.equal(reply.status, 200, icon.src);
    assert.equal(reply.headers.get('content-type'), 'image/png');
    const png = Buffer.from(await reply.arrayBuffer());
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    // IHDR: width and height, as the manifest says.
    assert.equal(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`, icon.sizes, icon.src);
  }
  const sw = await get(own.url, '/sw.js');
  assert.equal(sw.status, 200);
  assert.equal(sw.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(sw.headers['cache-control'], 'no-cache');
  assert.doesNotMatch(sw.body, /addEventListener\(\s*'fetch'|onfetch|caches\./, 'no cache');
});

test('nick completion after @: from the conversation’s people, by keyboard and by mouse, as an ARIA combobox', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const alice = await login(await newContext(), 'alice');
  await login(await newContext(), 'bob');
  await login(await newContext(), 'carol');
  await until(
    alice,
    'three online',
    () => document.getElementById('people-count')?.textContent === '3 online',
  );
  const options = () =>
    alice.$$eval('#mention-list [role="option"]', (els) =>
      els.map((e) => `${e.textContent}${e.getAttribute('aria-selected') === 'true' ? '*' : ''}`),
    );
  // Everyone: those online, not oneself.
  await alice.fill('#text', '');
  await alice.type('#text', 'hi @');
  await until(alice, 'the list', () => !document.getElementById('mention-list')?.hidden);
  assert.deepEqual(await options(), ['@bob*', '@carol']);
  assert.equal(await alice.getAttribute('#text', 'role'), 'combobox');
  assert.equal(await alice.getAttribute('#text', 'aria-expanded'), 'true');
  const selected = await alice.getAttribute('#text', 'aria-activedescendant');
  assert.equal(await alice.textContent(`#${selected}`), '@bob');
  await alice.type('#text', 'C');
  await until(
    alice,
    'one left',
    () => document.querySelectorAll('#mention-list [role="option"]').length === 1,
  );
  assert.deepEqual(await options(), ['@carol*']);
  await alice.press('#text', 'Tab');
  assert.equal(await alice.inputValue('#text'), 'hi @carol ');
  assert.equal(await alice.getAttribute('#text', 'aria-expanded'), 'false');
  // Down and Enter choose; Enter takes the choice and sends nothing.
  await alice.type('#text', '@');
  await until(alice, 'the list', () => !document.getElementById('mention-list')?.hidden);
  await alice.press('#text', 'ArrowDown');
  assert.deepEqual(await options(), ['@bob', '@carol*']);
  await alice.press('#text', 'ArrowDown');
  assert.deepEqual(await options(), ['@bob*', '@carol']);
  await alice.press('#text', 'ArrowUp');
  await alice.press('#text', 'Enter');
  assert.equal(await alice.inputValue('#text'), 'hi @carol @carol ');
  assert.deepEqual(await texts(alice), []);
  // Escape closes the list and leaves the text; then Enter sends.
  await alice.type('#text', '@b');
  await until(alice, 'the list', () => !document.getElementById('mention-list')?.hidden);
  await alice.press('#text', 'Escape');
  assert.equal(await alice.isHidden('#mention-list'), true);
  assert.equal(await alice.inputValue('#text'), 'hi @carol @carol @b');
  // No @ after a letter (an address), and nobody matches: no list.
  await alice.type('#text', ' mail@b');
  await alice.waitForTimeout(100);
  assert.equal(await alice.isHidden('#mention-list'), true);
  await alice.fill('#text', '@zz');
  await alice.waitForTimeout(100);
  assert.equal(await alice.isHidden('#mention-list'), true);
  // The mouse: a click takes a nick.
  await alice.fill('#text', '');
  await alice.type('#text', 'ok @');
  await until(alice, 'the list', () => !document.getElementById('mention-list')?.hidden);
  await alice.click('#mention-list [role="option"]:has-text("@carol")');
  assert.equal(await alice.inputValue('#text'), 'ok @carol ');
  // A DM: the peer only.
  await openConv(alice, 'bob');
  await alice.type('#text', '@');
  await until(alice, 'the list', () => !document.getElementById('mention-list')?.hidden);
  assert.deepEqual(await options(), ['@bob*']);
  await alice.press('#text', 'Escape');
  // A room: its members (GET /rooms/<name>), not everyone online.
  const cookie = await session(server.url, 'alice');
  const made = await api(server.url, 'POST', '/api/v1/rooms', { name: 'team' }, cookie);
  assert.equal(made.status, 201, made.body);
  const bob = await session(server.url, 'bob');
  assert.equal((await api(server.url, 'POST', '/api/v1/rooms/team/join', {}, bob)).status, 201);
  await until(
    alice,
    '#team listed',
    () => !!document.querySelector('#convs button[data-conv="#team"]'),
  );
  await openConv(alice, '#team');
  await alice.fill('#text', '');
  await alice.type('#text', '@');
  await until(alice, 'the list', () => !document.getElementById('mention-list')?.hidden);
  assert.deepEqual(await options(), ['@bob*']);
  noPageErrors();
});

// Waits on the server: `mentions` on messages and edits (issue 19, Mentions).
test('mentions: one of me is highlighted and said to screen readers, others are shown apart, an edit that adds one too', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const alice = await login(await newContext(), 'alice');
  const bob = await login(await newContext(), 'bob');
  await login(await newContext(), 'carol');
  const text = 'hey @alice, ask @CAROL. (mail: x@alice.example)';
  await bob.fill('#text', text);
  await bob.press('#text', 'Escape');
  await bob.press('#text', 'Enter');
  await shown(alice, text);
  const li = alice.locator('#messages li.msg', { hasText: 'hey' });
  await until(
    alice,
    'the mention highlighted',
    () => !!document.querySelector('#messages li.msg.mentioned'),
  );
  assert.deepEqual(await li.locator('mark.mention.me').allTextContents(), ['@alice']);
  assert.deepEqual(await li.locator('span.mention').allTextContents(), ['@CAROL']);
  assert.equal(await li.locator('.mention-note').isHidden(), false);
  assert.equal(await li.locator('.mention-note').textContent(), ', mentions you');
  // The whole text is still there, as text.
  assert.equal(await li.locator('.text').textContent(), text);
  // Bob's own message mentions others: no highlight of his own.
  const mine = bob.locator('#messages li.msg.mine', { hasText: 'hey' });
  await until(
    bob,
    'mentions shown to bob',
    () => document.querySelectorAll('#messages .mention').length === 2,
  );
  assert.equal(await mine.locator('mark.mention').count(), 0);
  assert.equal(await mine.evaluate((e) => e.classList.contains('mentioned')), false);
  // An edit that adds a mention of alice highlights it.
  const cookie = await session(server.url, 'bob');
  const id = await post(server.url, cookie, 'all', 'nothing for anyone');
  await shown(alice, 'nothing for anyone');
  const edit = await api(
    server.url,
    'PATCH',
    `/api/v1/messages/${id}`,
    { text: 'now for @alice' },
    cookie,
  );
  assert.equal(edit.status, 200, edit.body);
  await shown(alice, 'now for @alice');
  await until(alice, 'the edit highlighted', () =>
    Array.from(document.querySelectorAll('#messages li.msg.mentioned .text')).some(
      (e) => e.textContent === 'now for @alice',
    ),
  );
  noPageErrors();
});

// Waits on the server: GET /api/v1/unread, PUT /api/v1/markers and the `marker` event.
test('unread counts, mentions apart, and the New messages divider survive a reload; another device reading clears them', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const ca = await newContext();
  const alice = await login(ca, 'alice');
  const bob = await session(server.url, 'bob');
  await post(server.url, bob, 'alice', 'one');
  await waitUnread(alice, 'bob', '1');
  await openConv(alice, 'bob');
  await shown(alice, 'one');
  await waitUnread(alice, 'bob', '');
  await openConv(alice, 'all');
  // The marker went to the server before the page goes (unread.js, keepalive at pagehide).
  await alice.waitForTimeout(800);
  await post(server.url, bob, 'alice', 'two');
  await post(server.url, bob, 'alice', 'three');
  await post(server.url, bob, 'alice', 'four @alice');
  await waitUnread(alice, 'bob', '3 · @1');
  assert.equal(await alice.title(), 'alice (3)');
  await alice.reload();
  await waitUnread(alice, 'bob', '3 · @1');
  assert.equal(await alice.title(), 'alice (3)');
  assert.match(
    String(await alice.locator('#convs button[data-conv="bob"] .sr-only').textContent()),
    /3 unread, 1 mention of you/,
  );
  await openConv(alice, 'bob');
  await shown(alice, 'four @alice');
  // The divider sits before the first unread message.
  await until(alice, 'the divider', () => !!document.querySelector('#messages li.divider'));
  assert.equal(
    await alice.evaluate(
      () => document.querySelector('#messages li.divider + li.msg .text')?.textContent,
    ),
    'two',
  );
  assert.equal(await alice.textContent('#messages li.divider'), 'New messages');
  await waitUnread(alice, 'bob', '');
  await alice.waitForTimeout(800);
  // Read, on the server too: a reload (which reopens bob, from the address) shows no count
  // and no divider.
  await alice.reload();
  await until(
    alice,
    'bob open again',
    () => document.getElementById('app')?.dataset.conv === 'bob',
  );
  await shown(alice, 'four @alice');
  await waitUnread(alice, 'bob', '');
  assert.equal(await alice.locator('#messages li.divider').count(), 0);
  // Another device of alice's: what one reads, the other's counts clear (the marker event).
  const phone = await login(await newContext(), 'alice');
  await openConv(alice, 'all');
  await post(server.url, bob, 'alice', 'five');
  await waitUnread(alice, 'bob', '1');
  await waitUnread(phone, 'bob', '1');
  await openConv(phone, 'bob');
  await shown(phone, 'five');
  await waitUnread(alice, 'bob', '');
  noPageErrors();
});

test('scrolled up, new messages show a "New messages ↓" pill instead of moving the view; the pill scrolls down', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const alice = await login(await newContext({ width: 1000, height: 500 }), 'alice');
  const bob = await session(server.url, 'bob');
  for (let i = 0; i < 30; i++) await post(server.url, bob, 'all', `line ${i}`);
  await shown(alice, 'line 29');
  assert.equal(await alice.isHidden('#new-pill'), true);
  await alice.evaluate(() => {
    document.getElementById('scroller')?.scrollTo({ top: 0 });
  });
  const top = await alice.evaluate(() => document.getElementById('scroller')?.scrollTop);
  await post(server.url, bob, 'all', 'while you read above');
  await shown(alice, 'while you read above');
  await until(alice, 'the pill', () => !document.getElementById('new-pill')?.hidden);
  assert.equal(await alice.evaluate(() => document.getElementById('scroller')?.scrollTop), top);
  await alice.click('#new-pill');
  await until(alice, 'the bottom', () => {
    const s = document.getElementById('scroller');
    return !!s && s.scrollTop + s.clientHeight >= s.scrollHeight - 40;
  });
  assert.equal(await alice.isHidden('#new-pill'), true);
  noPageErrors();
});

test('desktop notifications: only while hidden, only from the leader tab and when no tab is looked at, by level; permission only from a click', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const context = await notifyingContext(server.url);
  const leader = await login(context, 'alice');
  const follower = await tab(context);
  await workerActive(leader);
  assert.equal(await leader.isChecked('#desktop-on'), true, 'on: the permission was given');
  const bob = await session(server.url, 'bob');
  // Visible: no notification.
  await post(server.url, bob, 'alice', 'while you look');
  await waitUnread(leader, 'bob', '1');
  await leader.waitForTimeout(300);
  assert.deepEqual([...(await shownIn(leader)), ...(await shownIn(follower))], []);
  // Both tabs hidden: one notification, from the leader, tagged per conversation.
  await setHidden(follower, true);
  await setHidden(leader, true);
  await post(server.url, bob, 'alice', 'are you there?');
  await notified(leader);
  await follower.waitForTimeout(300);
  assert.deepEqual(await shownIn(follower), []);
  assert.deepEqual(await shownIn(leader), [
    { via: 'worker', title: 'bob', body: 'are you there?', tag: 'ssechat:bob' },
  ]);
  // A message to everyone without a mention: the default level for Everyone is mentions.
  await post(server.url, bob, 'all', 'hello all');
  // Another tab is looked at: the leader stays quiet.
  await setHidden(follower, false);
  // The leader hears of it over the tabs' channel, which a message may overtake.
  await leader.waitForTimeout(200);
  await post(server.url, bob, 'alice', 'seen in the other tab');
  await waitUnread(leader, 'bob', '3');
  await leader.waitForTimeout(300);
  assert.equal((await shownIn(leader)).length, 1, JSON.stringify(await shownIn(leader)));
  // The worker shows it: clicking it opens the conversation (sw.js notificationclick).
  const notes = await leader.evaluate(async () => {
    const r = await navigator.serviceWorker.getRegistration('/');
    return (await r?.getNotifications())?.map((n) => n.tag) ?? [];
  });
  assert.deepEqual(notes, ['ssechat:bob']);
  // Permission is asked for only when the user turns the setting on.
  const other = await newContext();
  await other.addInitScript(HOOK);
  const carol = await login(other, 'carol');
  await carol.waitForTimeout(300);
  const asked = () => carol.evaluate(() => (window as unknown as { __asked: number }).__asked);
  assert.equal(await asked(), 0);
  assert.equal(await carol.isChecked('#desktop-on'), false);
  await carol.click('#settings-box summary');
  await carol.click('#desktop-on');
  await until(
    carol,
    'the question',
    () => (window as unknown as { __asked: number }).__asked === 1,
  );
  noPageErrors();
});

test('the service worker shows a pushed notification (DevTools deliverPushMessage), tag per conversation, only its own links; a click opens the conversation', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const { context, page } = await notifyingLogin(server.url, 'alice');
  const cdp = await context.newCDPSession(page);
  const origin = new URL(server.url).origin;
  const registrationId = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const r = registrations.find((x) => x.scopeURL === `${origin}/` && !x.isDeleted);
      if (r) resolve(r.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const id = await registrationId;
  const push = (data: string) =>
    cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: id, data });
  const notifications = () =>
    page.evaluate(async () => {
      const r = await navigator.serviceWorker.getRegistration('/');
      const list = (await r?.getNotifications()) ?? [];
      return list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
    });
  const payload = {
    title: 'bob',
    body: 'pushed hello',
    with: 'bob',
    id: 7,
    tag: 'ssechat:bob',
    url: '/#bob',
    unread: 2,
  };
  await push(JSON.stringify(payload));
  await poll(page, 'the pushed notification', async () => {
    const r = await navigator.serviceWorker.getRegistration('/');
    return ((await r?.getNotifications({ tag: 'ssechat:bob' }))?.length ?? 0) > 0;
  });
  assert.deepEqual(await notifications(), [
    { title: 'bob', body: 'pushed hello', tag: 'ssechat:bob', data: { with: 'bob', url: '/#bob' } },
  ]);
  // The same tag replaces it; a hidden-text one and one that is not JSON show plainly; a
  // link elsewhere leads home.
  await push(JSON.stringify({ ...payload, body: 'again', url: 'https://elsewhere.example/x' }));
  await push(JSON.stringify({ title: 'ssechat', body: 'New message', tag: 'ssechat', url: '/' }));
  await push('not json');
  await poll(page, 'two notifications', async () => {
    const l = await (await navigator.serviceWorker.getRegistration('/'))?.getNotifications();
    return (
      l?.length === 2 && l.some((n) => n.body === 'again') && l.some((n) => n.tag === 'ssechat')
    );
  });
  const all = await notifications();
  assert.deepEqual(
    all.map((n) => [n.tag, n.title, n.body, n.data.url]).sort(),
    [
      ['ssechat', 'ssechat', 'New message', '/'],
      ['ssechat:bob', 'bob', 'again', '/'],
    ],
    'the plain ones share the tag ssechat',
  );
  // A click (dispatched in the worker, as the browser would) has the page open bob.
  const worker = context.serviceWorkers().find((w) => w.url().endsWith('/sw.js'));
  assert.ok(worker, 'the service worker is seen');
  await worker.evaluate(async () => {
    const scope = globalThis as unknown as {
      registration: ServiceWorkerRegistration;
      NotificationEvent: new (type: string, init: { notification: Notification }) => Event;
      dispatchEvent(e: Event): boolean;
    };
    const [n] = await scope.registration.getNotifications({ tag: 'ssechat:bob' });
    if (n)
      scope.dispatchEvent(new scope.NotificationEvent('notificationclick', { notification: n }));
  });
  await until(page, 'bob open', () => document.getElementById('app')?.dataset.conv === 'bob');
  noPageErrors();
});

test('attention: the tab says it is looked at (PUT, every 25 s while visible) and that it is not (on hide, and a beacon when it goes); one client id per tab', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const context = await newContext();
  // Playwright does not see beacons: the page keeps what it sent in localStorage.
  await context.addInitScript(() => {
    const send = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, data) => {
      const body = data instanceof Blob ? (data as Blob & { sent?: string }).sent : data;
      localStorage.setItem('beacon', JSON.stringify({ url, body, type: (data as Blob).type }));
      return send(url, data);
    };
    // What a JSON Blob holds, readable at once (Blob.text() would not finish in pagehide).
    const Original = Blob;
    window.Blob = class extends Original {
      sent?: string;
      constructor(parts?: BlobPart[], options?: BlobPropertyBag) {
        super(parts, options);
        if (options?.type === 'application/json') this.sent = String(parts?.[0]);
      }
    };
  });
  const seen: Array<{ method: string; client: string; visible: boolean }> = [];
  context.on('request', (req) => {
    if (new URL(req.url()).pathname !== '/api/v1/attention') return;
    const body = JSON.parse(req.postData() ?? '{}');
    seen.push({ method: req.method(), client: body.client, visible: body.visible });
  });
  const page = await login(context, 'alice');
  await page.waitForTimeout(200);
  const first = seen[0];
  assert.ok(first, 'an attention request');
  assert.equal(first.method, 'PUT');
  assert.equal(first.visible, true);
  assert.match(first.client, /^[A-Za-z0-9_-]{1,64}$/);
  await setHidden(page, true);
  await page.waitForTimeout(200);
  assert.deepEqual(seen.at(-1), { method: 'PUT', client: first.client, visible: false });
  // Another tab is another client; a reload keeps the tab's.
  const other = await tab(context);
  await other.waitForTimeout(200);
  assert.notEqual(seen.at(-1)?.client, first.client);
  await setHidden(page, false);
  await page.reload();
  await page.waitForTimeout(300);
  assert.ok(seen.filter((s) => s.client === first.client && s.visible).length >= 2);
  // Going away: a beacon (a POST, the same body).
  await page.goto('about:blank');
  const beacon = JSON.parse((await other.evaluate(() => localStorage.getItem('beacon'))) ?? '{}');
  assert.deepEqual(beacon, {
    url: '/api/v1/attention',
    type: 'application/json',
    body: JSON.stringify({ client: first.client, visible: false }),
  });
  noPageErrors();
});

// Waits on the server: GET and PUT /api/v1/notify and the `notify` event.
test('notification levels: a menu per conversation, kept by the server and followed by other devices; Nothing silences, hidden text hides', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const { page: alice } = await notifyingLogin(server.url, 'alice');
  const phone = await login(await newContext(), 'alice');
  const bob = await session(server.url, 'bob');
  await post(server.url, bob, 'alice', 'hi');
  await openConv(alice, 'bob');
  await openConv(phone, 'bob');
  assert.equal(await alice.inputValue('#conv-level'), 'default');
  assert.equal(
    await alice.textContent('#conv-level option[value="default"]'),
    'Default (All messages)',
  );
  await alice.selectOption('#conv-level', 'none');
  await until(
    phone,
    'the level on the other device',
    () => (document.getElementById('conv-level') as HTMLSelectElement | null)?.value === 'none',
  );
  await openConv(alice, 'all');
  await setHidden(alice, true);
  await post(server.url, bob, 'alice', 'muted');
  await waitUnread(alice, 'bob', '1');
  await alice.waitForTimeout(300);
  assert.deepEqual(await shownIn(alice), []);
  // Back to the default, and the text hidden from the lock screen.
  await setHidden(alice, false);
  await openConv(alice, 'bob');
  await alice.selectOption('#conv-level', 'default');
  await alice.click('#settings-box summary');
  await alice.check('#hide-text');
  await until(
    phone,
    'hideText on the other device',
    () => (document.getElementById('hide-text') as HTMLInputElement | null)?.checked === true,
  );
  await openConv(alice, 'all');
  await setHidden(alice, true);
  await post(server.url, bob, 'alice', 'a secret');
  await notified(alice);
  assert.deepEqual(await shownIn(alice), [
    { via: 'worker', title: 'ssechat', body: 'New message', tag: 'ssechat:bob' },
  ]);
  // After a reload the server's levels hold.
  await setHidden(alice, false);
  await alice.reload();
  await openConv(alice, 'bob');
  await until(
    alice,
    'hideText kept',
    () => (document.getElementById('hide-text') as HTMLInputElement | null)?.checked === true,
  );
  noPageErrors();
});

/**
 * An init script standing in for the browser's push service, which a test machine cannot
 * reach: subscribe() makes a subscription with fixed keys, getSubscription() returns it,
 * unsubscribe() drops it.
 */
const FAKE_PUSH = () => {
  let current: unknown = null;
  const make = (key: ArrayBuffer) => ({
    endpoint: 'http://127.0.0.1:9/push/fake-endpoint',
    expirationTime: null,
    options: { applicationServerKey: key, userVisibleOnly: true },
    toJSON: () => ({
      endpoint: 'http://127.0.0.1:9/push/fake-endpoint',
      expirationTime: null,
      keys: {
        p256dh:
          'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
        auth: 'tBHItJI5svbpez7KI4CCXg',
      },
    }),
    unsubscribe: async () => {
      current = null;
      return true;
    },
  });
  PushManager.prototype.subscribe = async (options) => {
    const key = options?.applicationServerKey;
    current = make(key instanceof ArrayBuffer ? key : (key as Uint8Array).slice().buffer);
    return current as PushSubscription;
  };
  PushManager.prototype.getSubscription = async () => current as PushSubscription | null;
};

// Waits on the server: GET /api/v1/push/key, POST and DELETE /api/v1/push/subscriptions.
test('Web Push setting: subscribes with the server key and tells the server; off unsubscribes', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  // The stand-in subscription points at loopback, which only this option allows.
  const server = await setup(t, { pushAllowPrivateEndpoints: 'yes' });
  if (!server) return;
  const context = await notifyingContext(server.url);
  await context.addInitScript(FAKE_PUSH);
  const page = await login(context, 'alice');
  await page.click('#settings-box summary');
  assert.equal(await page.isChecked('#push-on'), false);
  const subscribed = page.waitForResponse(
    (r) =>
      new URL(r.url()).pathname === '/api/v1/push/subscriptions' && r.request().method() === 'POST',
  );
  await page.click('#push-on');
  const reply = await subscribed;
  assert.equal(reply.status(), 201);
  assert.equal(JSON.parse(reply.request().postData() ?? '{}').keys.auth, 'tBHItJI5svbpez7KI4CCXg');
  await until(page, 'on', () =>
    /^On/.test(document.getElementById('push-note')?.textContent ?? ''),
  );
  assert.equal(await page.isChecked('#push-on'), true);
  const dropped = page.waitForResponse(
    (r) =>
      new URL(r.url()).pathname === '/api/v1/push/subscriptions' &&
      r.request().method() === 'DELETE',
  );
  await page.click('#push-on');
  assert.equal((await dropped).status(), 204);
  assert.equal(await page.isChecked('#push-on'), false);
  noPageErrors();
});

test('on an iPhone outside the Home Screen, the settings say how to get notifications', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t);
  if (!server) return;
  const context = await newContext();
  await context.addInitScript(() => {
    Object.defineProperty(navigator, 'userAgent', {
      get: () =>
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    });
    Reflect.deleteProperty(window, 'PushManager');
    Reflect.deleteProperty(window, 'Notification');
  });
  const page = await login(context, 'alice');
  await page.click('#settings-box summary');
  const note = 'On iPhone and iPad, add ssechat to the Home Screen to get notifications.';
  assert.equal(await page.textContent('#push-note'), note);
  assert.equal(await page.textContent('#desktop-note'), note);
  assert.equal(await page.isDisabled('#push-on'), true);
  assert.equal(await page.isDisabled('#desktop-on'), true);
  noPageErrors();
});
