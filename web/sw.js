// The page's service worker, served at /sw.js so that its scope is the whole site. It shows
// what the server pushes (docs/api.md, Web Push): one notification per conversation (its
// tag), the app badge with the unread count, and a click focuses a page of ours and has it
// open the conversation, or opens one. It has no fetch handler and caches nothing: pages
// and API answers always come from the server, so one user's data is never shown to another
// from a cache. Checked with web/tsconfig.sw.json (the worker's globals, not the page's).

const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (globalThis));

/**
 * A push payload as the server sends it.
 * @typedef {{ title?: unknown, body?: unknown, tag?: unknown, with?: unknown, url?: unknown,
 *   unread?: unknown }} Payload
 */

/** The longest title and body shown (the server's payload is at most 3 KB anyway). */
const MAX_TITLE = 120;
const MAX_BODY = 400;

// A new version takes over at once: it holds no state, so nothing is lost by that.
sw.addEventListener('install', () => {
  sw.skipWaiting();
});
sw.addEventListener('activate', (e) => {
  e.waitUntil(sw.clients.claim());
});

sw.addEventListener('push', (e) => {
  /** @type {Payload} */
  let payload = {};
  try {
    payload = e.data?.json() ?? {};
  } catch {
    // Not JSON: still a notification (the browser insists on one per push), a plain one.
  }
  e.waitUntil(show(payload));
});

/**
 * Shows a pushed notification, and the unread count on the app's icon where there is one.
 * @param {Payload} p
 */
async function show(p) {
  const title = text(p.title, MAX_TITLE) || 'ssechat';
  const body = text(p.body, MAX_BODY) || 'New message';
  const tag = text(p.tag, 200) || 'ssechat';
  const conv = typeof p.with === 'string' ? p.with : '';
  const url = ownUrl(p.url);
  const unread = Number(p.unread);
  if (Number.isSafeInteger(unread) && unread >= 0 && 'setAppBadge' in navigator) {
    await navigator.setAppBadge(unread).catch(() => {});
  }
  await sw.registration.showNotification(title, {
    body,
    tag,
    data: { with: conv, url },
    icon: '/assets/icon-192.png',
  });
}

sw.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const data = /** @type {{ with?: unknown, url?: unknown } | null} */ (e.notification.data);
  const conv = typeof data?.with === 'string' ? data.with : '';
  e.waitUntil(focusOrOpen(conv, ownUrl(data?.url)));
});

/**
 * Focuses a page of ours (the focused one, else a visible one, else any) and tells it to
 * open conversation `conv`; with none, opens `url`.
 * @param {string} conv
 * @param {string} url
 */
async function focusOrOpen(conv, url) {
  const pages = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const page =
    pages.find((c) => c.focused) ?? pages.find((c) => c.visibilityState === 'visible') ?? pages[0];
  if (page) {
    await page.focus().catch(() => page);
    if (conv) page.postMessage({ t: 'open', with: conv });
    return;
  }
  await sw.clients.openWindow(url);
}

// The push service replaced or expired the subscription: subscribe again with the server's
// key and tell the server, while the session cookie still works; else the page's setting
// will show it off and the user can turn it on again.
sw.addEventListener('pushsubscriptionchange', (e) => {
  const change = /** @type {ExtendableEvent & { oldSubscription?: PushSubscription | null }} */ (e);
  change.waitUntil(resubscribe(change.oldSubscription ?? null));
});

/** @param {PushSubscription | null} old */
async function resubscribe(old) {
  try {
    const res = await fetch('/api/v1/push/key', { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) return;
    const { publicKey } = await res.json();
    if (typeof publicKey !== 'string') return;
    const sub = await sw.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: fromBase64Url(publicKey),
    });
    await api('POST', sub.toJSON());
    if (old && old.endpoint !== sub.endpoint) await api('DELETE', { endpoint: old.endpoint });
  } catch {
    // Nothing more to do from here.
  }
}

/**
 * @param {'POST' | 'DELETE'} method
 * @param {object} body
 */
function api(method, body) {
  return fetch('/api/v1/push/subscriptions', {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/**
 * `x` as a string of at most `max` characters ('' when it is none).
 * @param {unknown} x
 * @param {number} max
 */
function text(x, max) {
  if (typeof x !== 'string') return '';
  return x.length > max ? `${x.slice(0, max - 1)}…` : x;
}

/**
 * `x` as an address on this site (a pushed `url` may only lead here), else the root.
 * @param {unknown} x
 */
function ownUrl(x) {
  if (typeof x !== 'string') return '/';
  try {
    const url = new URL(x, sw.location.origin);
    return url.origin === sw.location.origin ? url.pathname + url.search + url.hash : '/';
  } catch {
    return '/';
  }
}

/** @param {string} text base64url */
function fromBase64Url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
