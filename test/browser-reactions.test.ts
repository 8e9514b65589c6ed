/**
 * End-to-end test of reactions in the web client (web/reactions.js, message-tools.js) in a
 * real Chromium against a real server: one user reacts from the picker, the other sees the
 * count live and adds the same emoji by its chip, and the first sees two, with who in the
 * chip's title. Same harness as browser.test.ts (browser-helpers.ts).
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

useBrowser();

/** The chips under the message with text `text`, as "emoji count" strings. */
function chips(page: Page, text: string): Promise<string[]> {
  return page.$$eval(
    '#messages li.msg',
    (lis, t) => {
      const li = lis.find((n) => n.querySelector('.text')?.textContent === t);
      return Array.from(li?.querySelectorAll('.reactions .chip') ?? []).map(
        (c) =>
          `${c.querySelector('.emoji')?.textContent} ${c.querySelector('.count')?.textContent}`,
      );
    },
    text,
  );
}

/** Waits until the message with text `text` shows exactly these chips. */
function chipsAre(page: Page, text: string, want: string[]) {
  return until(
    page,
    `chips ${JSON.stringify(want)} under ${JSON.stringify(text)}`,
    ([t, w]) => {
      const li = Array.from(document.querySelectorAll('#messages li.msg')).find(
        (n) => n.querySelector('.text')?.textContent === t,
      );
      const got = Array.from(li?.querySelectorAll('.reactions .chip') ?? []).map(
        (c) =>
          `${c.querySelector('.emoji')?.textContent} ${c.querySelector('.count')?.textContent}`,
      );
      return JSON.stringify(got) === JSON.stringify(w);
    },
    [text, want] as const,
  );
}

test('reactions: A reacts from the picker, B sees 1 and adds the same, A sees 2', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  const own = await setup(t);
  if (!own) return;
  const alice = await login(await newContext(), 'alice');
  const bob = await login(await newContext(), 'bob');
  const text = 'react to me';
  await send(alice, text);
  await shown(bob, text);

  // Alice: hover the message, React, pick 👍.
  const message = alice.locator('#messages li.msg', { hasText: text });
  await message.hover();
  await message.getByRole('button', { name: `React to “${text}”` }).click();
  await message.getByRole('button', { name: 'React with 👍' }).click();
  await chipsAre(alice, text, ['👍 1']);
  await chipsAre(bob, text, ['👍 1']);
  const bobChip = bob.locator('#messages li.msg', { hasText: text }).locator('.chip');
  assert.equal(await bobChip.getAttribute('aria-pressed'), 'false');
  assert.equal(await bobChip.getAttribute('title'), 'alice');

  // Bob adds the same by its chip; both see 2, highlighted for each as theirs.
  await bobChip.click();
  await chipsAre(bob, text, ['👍 2']);
  await chipsAre(alice, text, ['👍 2']);
  const aliceChip = message.locator('.chip');
  assert.equal(await aliceChip.getAttribute('aria-pressed'), 'true');
  assert.equal(await aliceChip.getAttribute('title'), 'alice, bob');
  assert.equal(await bobChip.getAttribute('aria-pressed'), 'true');

  // Alice takes hers back; a reload reads the count from history.
  await aliceChip.click();
  await chipsAre(bob, text, ['👍 1']);
  await bob.reload();
  await shown(bob, text);
  await chipsAre(bob, text, ['👍 1']);
  assert.deepEqual(await chips(alice, text), ['👍 1']);
  noPageErrors();
});
