/**
 * End-to-end test of blocks in the web client (web/blocks.js, message-tools.js,
 * message-list.js, account.js) in a real Chromium against a real server in accounts mode: Ann
 * blocks Eve from the tools under Eve's room message; Eve's room messages then fold into a
 * "Message from a blocked user" line (shown on a click), her DM never appears, and the
 * Account dialog lists her with Unblock. Same harness as browser.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  connected,
  newContext,
  noPageErrors,
  openConv,
  setup,
  shown,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';
import { api, session } from './helpers.js';

useBrowser();

const PASSWORD = 'correct horse';

/** Opens the page in `context` and registers `nick` there. */
async function register(context: BrowserContext, nick: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/');
  await page.fill('#nick', nick);
  await page.fill('#password', PASSWORD);
  await page.click('#register');
  await connected(page);
  return page;
}

/** Waits until the open conversation shows `n` folded lines. */
function folded(page: Page, n: number): Promise<void> {
  return until(
    page,
    `${n} folded lines`,
    (want) => document.querySelectorAll('#messages li.msg.blocked').length === want,
    n,
  );
}

test('blocks: Ann blocks Eve; Eve’s DM never shows, her room messages fold', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const server = await setup(t, { auth: 'accounts' });
  if (!server) return;
  const ann = await register(await newContext(), 'ann');
  const eve = await session(server.url, 'eve', PASSWORD, true);
  const annApi = await session(server.url, 'ann', PASSWORD);
  const call = (who: Record<string, string>, method: string, path: string, body?: unknown) =>
    api(server.url, method, `/api/v1${path}`, body, who);
  const say = async (to: string, text: string) => {
    const reply = await call(eve, 'POST', '/messages', { to, text });
    assert.equal(reply.status, 201, reply.body);
  };
  assert.equal((await call(eve, 'POST', '/rooms', { name: 'hall' })).status, 201);
  assert.equal((await call(annApi, 'POST', '/rooms/hall/join', {})).status, 201);
  await until(ann, 'the room in the list', () =>
    document.querySelector('#convs button[data-conv="#hall"]'),
  );
  await openConv(ann, '#hall');
  await say('#hall', 'first from eve');
  await shown(ann, 'first from eve');

  // Ann blocks Eve from the tools under her message.
  const message = ann.locator('#messages li.msg', { hasText: 'first from eve' });
  await message.hover();
  await message.getByRole('button', { name: 'Block eve' }).click();
  await folded(ann, 1);

  // Eve's next room message folds; her DM never shows anywhere.
  await say('ann', 'psst, a secret DM');
  await say('#hall', 'second from eve');
  await folded(ann, 2);
  const page = await ann.content();
  assert.equal(page.includes('psst'), false, 'the DM is nowhere on the page');
  assert.equal(page.includes('second from eve'), false, 'folded: not even in a label');
  assert.equal(await ann.locator('#convs button[data-conv="eve"]').count(), 0);

  // A click shows one message; the other stays folded.
  await ann.getByRole('button', { name: 'Message from a blocked user' }).last().click();
  await shown(ann, 'second from eve');
  await folded(ann, 1);

  // The Account dialog lists Eve; Unblock there unfolds her messages.
  await ann.click('#account-open');
  await until(ann, 'Eve in the blocked list', () =>
    document.getElementById('blocks-list')?.textContent?.includes('eve'),
  );
  await ann.locator('#blocks-list').getByRole('button', { name: 'Unblock eve' }).click();
  await until(ann, 'an empty list', () => !document.getElementById('blocks-empty')?.hidden);
  await ann.click('#account-close');
  await folded(ann, 0);
  await shown(ann, 'first from eve');
  noPageErrors();
});
