/**
 * Files in the web client (web/attach-tray.js, file-sources.js, uploader.js, attachments.js,
 * lightbox.js) in a real Chromium against a real server: a pasted picture, a dropped PDF,
 * a file over the server's cap, and a cancelled upload. Image bytes come from sharp, here in
 * the test, and reach the page as base64.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import {
  login,
  newContext,
  noPageErrors,
  presence,
  setup,
  shown,
  TEST_TIMEOUT,
  tab,
  until,
  useBrowser,
} from './browser-helpers.js';

useBrowser();

/** A file the page builds from base64 bytes. */
interface PageFile {
  readonly name: string;
  readonly type: string;
  readonly base64: string;
}

/** Pastes `file` into the message box, as a clipboard with that one file would. */
async function paste(page: Page, file: PageFile): Promise<void> {
  await page.evaluate((f) => {
    const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], f.name, { type: f.type }));
    const e = new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true });
    document.getElementById('text')?.dispatchEvent(e);
  }, file);
}

/**
 * Drags `file` over the conversation (the drop zone shows) and drops it there, as a drag from
 * the desktop would: the events carry a DataTransfer built in the page.
 */
async function drop(page: Page, file: PageFile): Promise<void> {
  const zone = await page.evaluate((f) => {
    const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], f.name, { type: f.type }));
    const target = document.getElementById('messages');
    const fire = (type: string) =>
      target?.dispatchEvent(
        new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }),
      );
    fire('dragenter');
    fire('dragover');
    const shownWhileDragging = document.getElementById('drop-zone')?.hidden === false;
    fire('drop');
    return shownWhileDragging;
  }, file);
  assert.ok(zone, 'the drop zone shows while files are dragged over the conversation');
  assert.equal(await page.locator('#drop-zone').isHidden(), true, 'and goes after the drop');
}

/** Waits until the composer's chips are in `state` (all of them), `count` of them. */
function chips(page: Page, count: number, state: string): Promise<void> {
  return until(
    page,
    `${count} chip(s) ${state}`,
    ([n, s]) => {
      const all = Array.from(document.querySelectorAll<HTMLElement>('#attach-list li'));
      return all.length === n && all.every((li) => li.dataset.state === s);
    },
    [count, state] as const,
  );
}

/** Waits until our newest message in the open conversation is stored (sent or read). */
function stored(page: Page): Promise<void> {
  return until(page, 'our message stored', () => {
    const li = Array.from(document.querySelectorAll<HTMLElement>('#messages li.msg.mine')).at(-1);
    return /^(sent|read)$/.test(li?.dataset.state ?? '');
  });
}

/** Matches the URLs of `path` (whatever their query), for page.route. */
const matchers = new Map<string, (url: URL) => boolean>();
function isPath(path: string): (url: URL) => boolean {
  let m = matchers.get(path);
  if (!m) {
    m = (url: URL) => url.pathname === path;
    matchers.set(path, m);
  }
  return m;
}

/** A PNG of `width` x `height` made by sharp. */
async function png(width: number, height: number): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: { r: 200, g: 60, b: 40 } },
  })
    .png()
    .toBuffer();
}

test('a pasted picture: a preview sized before it loads, a lightbox, kept by an edit, gone with a delete', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t))) return;
  const ca = await newContext();
  const cb = await newContext();
  const alice = await login(ca, 'alice');
  const bob = await login(cb, 'bob');
  await presence(alice, 'bob', true);

  const image = await png(800, 600);
  await paste(alice, { name: 'image.png', type: 'image/png', base64: image.toString('base64') });
  await chips(alice, 1, 'done');
  const name = (await alice.textContent('#attach-list .attach-name')) ?? '';
  assert.match(name, /^pasted-image-\d{4}-\d\d-\d\d-\d{6}\.png$/);
  assert.equal(await alice.inputValue('#text'), '', 'an image alone pastes no text');
  await alice.fill('#text', 'look at this');
  await alice.press('#text', 'Enter');
  await stored(alice);
  assert.equal(await alice.locator('#attach-tray').isHidden(), true, 'the tray empties');

  // Bob sees the thumbnail, sized by its attributes to fit 400x400.
  await shown(bob, 'look at this');
  const img = bob.locator('#messages li.msg .files .file-preview img');
  await img.waitFor();
  assert.equal(await img.getAttribute('width'), '400');
  assert.equal(await img.getAttribute('height'), '300');
  assert.equal(await img.getAttribute('loading'), 'lazy');
  assert.equal(await img.getAttribute('alt'), name);
  assert.match((await img.getAttribute('src')) ?? '', /^\/api\/v1\/uploads\/[^/]+\/thumb$/);
  await until(bob, 'the thumbnail loaded', () => {
    const i = document.querySelector<HTMLImageElement>('#messages .file-preview img');
    return i?.complete && i.naturalWidth === 400 && i.naturalHeight === 300;
  });

  // The lightbox: the full image, focus inside; Escape closes it and focus comes back.
  const preview = bob.locator('#messages .file-preview');
  await preview.click();
  await until(bob, 'the lightbox', () => document.querySelector('dialog#lightbox[open]'));
  assert.equal(await bob.textContent('#lightbox-name'), name);
  await until(bob, 'the full image', () => {
    const i = document.getElementById('lightbox-img') as HTMLImageElement | null;
    return i?.complete && i.naturalWidth === 800 && i.naturalHeight === 600;
  });
  assert.equal(await bob.evaluate(() => document.activeElement?.id), 'lightbox-close');
  await bob.keyboard.press('Escape');
  await until(bob, 'the lightbox closed', () => !document.querySelector('dialog#lightbox[open]'));
  assert.equal(
    await bob.evaluate(() => document.activeElement?.classList.contains('file-preview')),
    true,
    'focus returns to the preview',
  );
  // A click beside the image closes it too.
  await preview.click();
  await until(bob, 'the lightbox again', () => document.querySelector('dialog#lightbox[open]'));
  await bob.mouse.click(5, 5);
  await until(bob, 'closed by a click outside', () => !document.querySelector('#lightbox[open]'));

  // A new tab reads it from history, with its preview.
  const again = await tab(cb);
  await shown(again, 'look at this');
  assert.equal(
    await again.locator('#messages .file-preview img').getAttribute('width'),
    '400',
    'history carries the attachment',
  );
  await again.close();

  // An edit changes the text, not the files; a delete takes both.
  const mine = alice.locator('#messages li.msg.mine').last();
  await mine.hover();
  await mine.getByRole('button', { name: 'Edit “look at this”', exact: true }).click();
  await alice.fill('#text', 'look at this one');
  await alice.press('#text', 'Enter');
  await shown(bob, 'look at this one');
  assert.equal(await bob.locator('#messages .file-preview img').count(), 1);
  await mine.hover();
  await mine.getByRole('button', { name: 'Delete “look at this one”', exact: true }).click();
  await mine.getByRole('button', { name: 'Yes, delete “look at this one”' }).click();
  await shown(bob, 'message deleted');
  assert.equal(await bob.locator('#messages .file-preview').count(), 0, 'a deleted message');
  noPageErrors();
});

test('a dropped PDF, sent without text through a lost answer: one message, its chip, the same bytes downloaded', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t))) return;
  const ca = await newContext();
  const cb = await newContext();
  const alice = await login(ca, 'alice');
  const bob = await login(cb, 'bob');
  await presence(alice, 'bob', true);

  const pdf = Buffer.from(
    `%PDF-1.4\n%\u00e2\u00e3\n1 0 obj\n<<>>\nendobj\n${'x'.repeat(1500)}\n%%EOF\n`,
  );
  await drop(alice, {
    name: 'Q3 report.pdf',
    type: 'application/pdf',
    base64: pdf.toString('base64'),
  });
  await chips(alice, 1, 'done');

  // The first answer is lost after the server stored the message: the retry has the same
  // clientId and the same upload ids, and the server takes it for the same message.
  let lost = 0;
  await alice.route(isPath('/api/v1/messages'), async (route) => {
    if (route.request().method() !== 'POST' || lost > 0) return route.fallback();
    lost++;
    await route.fetch();
    await route.abort('connectionreset');
  });
  // Empty text: the file alone is the message.
  await alice.press('#text', 'Enter');
  await stored(alice);
  assert.equal(lost, 1, 'the first answer was lost');

  const chip = bob.locator('#messages li.msg .files .file-chip');
  await chip.waitFor();
  assert.equal(await bob.locator('#messages li.msg').count(), 1, 'stored once');
  assert.equal(await chip.locator('.file-name').textContent(), 'Q3 report.pdf');
  assert.equal(await chip.locator('.file-size').textContent(), '1.5 KB');
  assert.equal(await chip.locator('.file-icon').textContent(), 'PDF');
  const link = chip.locator('a');
  assert.equal(await link.getAttribute('download'), 'Q3 report.pdf');
  const [download] = await Promise.all([bob.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'Q3 report.pdf');
  const path = await download.path();
  assert.ok(path);
  assert.deepEqual(await readFile(path), pdf, 'the same bytes');
  assert.equal(await alice.locator('#messages li.msg.mine').count(), 1);
  noPageErrors();
});

test('a file over the server cap says "too big" and keeps the text; 10 files at most', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t, { maxUploadBytes: 64 * 1024 }))) return;
  const alice = await login(await newContext(), 'alice');
  await alice.fill('#text', 'the text stays');
  await alice.setInputFiles('#attach-input', {
    name: 'big.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(300 * 1024, 7),
  });
  await chips(alice, 1, 'failed');
  assert.match(
    (await alice.textContent('#attach-list .attach-error')) ?? '',
    /^Too big \(300 KB\)/,
  );
  assert.equal(await alice.locator('#attach-list .attach-retry').isHidden(), true, 'no retry');
  // Enter does not send a message without its file, nor loses the text.
  await alice.press('#text', 'Enter');
  assert.equal(await alice.inputValue('#text'), 'the text stays');
  assert.match((await alice.textContent('#attach-note')) ?? '', /failed/);
  assert.equal(await alice.locator('#messages li.msg').count(), 0);
  // The next file that big fails at once (the page knows the cap now), without a request.
  let posted = 0;
  alice.on('request', (r) => {
    if (r.method() === 'POST' && r.url().includes('/api/v1/uploads')) posted++;
  });
  await alice.setInputFiles('#attach-input', {
    name: 'big2.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(400 * 1024, 7),
  });
  await chips(alice, 2, 'failed');
  assert.equal(posted, 0);
  // Removed, the text goes alone.
  await alice.getByRole('button', { name: 'Remove big.bin' }).click();
  await alice.getByRole('button', { name: 'Remove big2.bin' }).click();
  await alice.press('#text', 'Enter');
  await shown(alice, 'the text stays');

  // Eleven files: ten are taken, and the page says so.
  await alice.setInputFiles(
    '#attach-input',
    Array.from({ length: 11 }, (_, i) => ({
      name: `note-${i}.txt`,
      mimeType: 'text/plain',
      buffer: Buffer.from(`note ${i}\n`),
    })),
  );
  await chips(alice, 10, 'done');
  assert.equal(
    await alice.textContent('#attach-note'),
    'Up to 10 files per message: 1 file was not added.',
  );
  noPageErrors();
});

test('cancelling an upload removes its chip; removing a finished one discards it; Send waits', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t))) return;
  const alice = await login(await newContext(), 'alice');
  // The upload is held before it reaches the server, so that it is in flight for as long as
  // the test needs.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await alice.route(isPath('/api/v1/uploads'), async (route) => {
    await held;
    await route.fallback().catch(() => undefined);
  });
  await alice.fill('#text', 'with a file');
  await alice.setInputFiles('#attach-input', {
    name: 'slow.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('slow'),
  });
  await chips(alice, 1, 'uploading');
  assert.equal(await alice.locator('#attach-list progress').isVisible(), true);
  assert.equal(await alice.isDisabled('#send'), true, 'Send waits for the upload');
  await alice.press('#text', 'Enter');
  assert.equal(await alice.inputValue('#text'), 'with a file', 'Enter waits too');
  await alice.getByRole('button', { name: 'Cancel uploading slow.txt' }).click();
  await chips(alice, 0, 'done');
  assert.equal(await alice.isDisabled('#send'), false);
  release();
  await alice.unroute(isPath('/api/v1/uploads'));

  // A finished upload that is removed is discarded on the server.
  await alice.setInputFiles('#attach-input', {
    name: 'unwanted.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('unwanted'),
  });
  await chips(alice, 1, 'done');
  const deleted = alice.waitForResponse(
    (r) => r.request().method() === 'DELETE' && /\/api\/v1\/uploads\/[^/?]+$/.test(r.url()),
  );
  await alice.getByRole('button', { name: 'Remove unwanted.txt' }).click();
  assert.equal((await deleted).status(), 204);
  await alice.press('#text', 'Enter');
  await shown(alice, 'with a file');
  assert.equal(await alice.locator('#messages .files:not([hidden])').count(), 0);
  noPageErrors();
});

test('sizes, thumbnail boxes and file names as the page makes them', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t))) return;
  const page = await (await newContext()).newPage();
  await page.goto('/');
  const got = await page.evaluate(async () => {
    // The page's own modules, as the browser loads them.
    const load = <T>(path: string): Promise<T> => import(path);
    const a = await load<{
      humanSize(bytes: number): string;
      fitThumb(width: number, height: number): { width: number; height: number };
    }>('/assets/attachments.js');
    const u = await load<{ safeName(name: string): string }>('/assets/uploader.js');
    const f = await load<{ pastedName(type: string, now: Date): string }>(
      '/assets/file-sources.js',
    );
    return {
      sizes: [0, 1023, 1024, 1536, 10 * 1024, 1.25 * 1024 * 1024, 5 * 1024 ** 3].map(a.humanSize),
      boxes: [
        [800, 600],
        [300, 200],
        [100, 5000],
        [5000, 1],
      ].map(([w = 0, h = 0]) => a.fitThumb(w, h)),
      names: ['a/b\\c\u0007d.txt', '', '   ', `${'x'.repeat(300)}.pdf`].map(u.safeName),
      pasted: f.pastedName('image/jpeg', new Date(2026, 0, 2, 3, 4, 5)),
    };
  });
  assert.deepEqual(got.sizes, ['0 B', '1023 B', '1 KB', '1.5 KB', '10 KB', '1.3 MB', '5 GB']);
  assert.deepEqual(got.boxes, [
    { width: 400, height: 300 },
    { width: 300, height: 200 },
    { width: 8, height: 400 },
    { width: 400, height: 1 },
  ]);
  assert.deepEqual(got.names.slice(0, 3), ['a_b_c_d.txt', 'file', 'file']);
  const long = got.names[3] ?? '';
  assert.equal([...long].length, 255);
  assert.match(long, /^x+\.pdf$/);
  assert.equal(got.pasted, 'pasted-image-2026-01-02-030405.jpg');
  noPageErrors();
});
