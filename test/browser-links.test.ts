/**
 * Links in messages (web/links.js appendText) in a real Chromium against a real server: bidi
 * controls (U+202A to U+202E, U+2066 to U+2069) in a message cannot make a link show another
 * address than its target. Same harness as browser.test.ts (browser-helpers.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  login,
  newContext,
  noPageErrors,
  setup,
  TEST_TIMEOUT,
  until,
  useBrowser,
} from './browser-helpers.js';

useBrowser();

/** What one link in the open conversation shows and does, as the page renders it. */
interface ShownLink {
  text: string;
  href: string;
  unicodeBidi: string;
  direction: string;
  /** True when each character of the text is drawn right of the one before it. */
  inOrder: boolean;
}

/** Every link of the open conversation, oldest first. */
function links(page: Page): Promise<ShownLink[]> {
  return page.$$eval('#messages li.msg .text a', (as: HTMLAnchorElement[]) =>
    as.map((a) => {
      const style = getComputedStyle(a);
      const range = document.createRange();
      let inOrder = a.childNodes.length === 1;
      let left = Number.NEGATIVE_INFINITY;
      const node = a.firstChild as Text;
      for (let i = 0; inOrder && i < node.length; i++) {
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const box = range.getBoundingClientRect();
        inOrder = box.left > left;
        left = box.left;
      }
      return {
        // biome-ignore lint/performance/useDomNodeTextContent: what is drawn is the point
        text: a.innerText,
        href: a.href,
        unicodeBidi: style.unicodeBidi,
        direction: style.direction,
        inOrder,
      };
    }),
  );
}

test('bidi controls cannot make a link show another address than its target', {
  timeout: TEST_TIMEOUT,
}, async (t) => {
  if (!(await setup(t))) return;
  const mallory = await login(await newContext(), 'mallory');
  const victim = await login(await newContext(), 'victim');
  const payloads = [
    // Shown reversed under the override, this read "https://evil.example/bank.com".
    'see \u202Ehttps://evil.example/moc.knab\u202C',
    // ... and this "https://good.example/exe.jpg".
    'https://good.example/\u202Egpj.exe',
    // An isolate around a URL in right-to-left text is right: it stays out of the link.
    '\u05E8\u05D0\u05D4 \u2066https://rtl.example/path\u2069.',
    '\u2067https://b.example/x\u2069 \u202Bhttps://c.example/y\u202C \u2068https://d.example/\u202Dz',
    'plain https://example.com/K\u00F6ln, https://example.com/a%2Fb and https://example.com',
  ];
  for (const text of payloads) {
    await mallory.fill('#text', text);
    await mallory.press('#text', 'Enter');
  }
  const want = 9;
  for (const page of [mallory, victim]) {
    await until(
      page,
      `${want} links`,
      (n) => document.querySelectorAll('#messages li.msg .text a').length === n,
      want,
    );
  }
  const expected = [
    ['https://evil.example/moc.knab', 'https://evil.example/moc.knab'],
    ['https://good.example/%E2%80%AEgpj.exe', 'https://good.example/%E2%80%AEgpj.exe'],
    ['https://rtl.example/path', 'https://rtl.example/path'],
    ['https://b.example/x', 'https://b.example/x'],
    ['https://c.example/y', 'https://c.example/y'],
    ['https://d.example/%E2%80%ADz', 'https://d.example/%E2%80%ADz'],
    // Readable where that changes nothing: the text parses back to the same target.
    ['https://example.com/K\u00F6ln', 'https://example.com/K%C3%B6ln'],
    ['https://example.com/a%2Fb', 'https://example.com/a%2Fb'],
    ['https://example.com/', 'https://example.com/'],
  ];
  for (const page of [mallory, victim]) {
    const shown = await links(page);
    assert.deepEqual(
      shown.map((l) => [l.text, l.href]),
      expected,
    );
    for (const l of shown) {
      assert.doesNotMatch(l.text, /[\u200E\u200F\u202A-\u202E\u2066-\u2069]/u, l.text);
      assert.equal(new URL(l.text).href, l.href, 'the text is the target');
      assert.equal(l.unicodeBidi, 'isolate', `${l.text} is isolated from the text around it`);
      assert.equal(l.direction, 'ltr', l.text);
      assert.ok(l.inOrder, `${l.text} is drawn in its logical order`);
    }
  }
  // The text around the links is the sender's, controls and all.
  const first = await victim.textContent('#messages li.msg .text');
  assert.equal(first, payloads[0]);
  noPageErrors();
});
