import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { INLINE_IMAGE_TYPES, isInlineImage, sniff, UNKNOWN_TYPE } from './sniff.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssechat-sniff-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `bytes` under `name` in the test directory and returns the path. */
async function file(name: string, bytes: Buffer | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

const pixel = { create: { width: 8, height: 8, channels: 3 as const, background: '#08f' } };

/** A minimal PDF: header, one empty page, cross-reference table, trailer. */
const PDF = [
  '%PDF-1.4',
  '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
  '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj',
  '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >> endobj',
  'trailer << /Root 1 0 R >>',
  '%%EOF',
  '',
].join('\n');

test('binary formats are told by their bytes, whatever the name says', async () => {
  const png = await sharp(pixel).png().toBuffer();
  assert.equal(await sniff(await file('a.png', png)), 'image/png');
  assert.equal(
    await sniff(await file('photo.txt', await sharp(pixel).jpeg().toBuffer())),
    'image/jpeg',
  );
  assert.equal(await sniff(await file('anim', await sharp(pixel).gif().toBuffer())), 'image/gif');
  assert.equal(
    await sniff(await file('x.jpg', await sharp(pixel).webp().toBuffer())),
    'image/webp',
  );
  assert.equal(await sniff(await file('doc.png', PDF)), 'application/pdf');
});

test('text formats (HTML, SVG with script, plain text) are application/octet-stream', async () => {
  const html = '<!doctype html><html><body><script>alert(document.cookie)</script></body></html>';
  const svg =
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' +
    '<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>';
  assert.equal(await sniff(await file('page.html', html)), UNKNOWN_TYPE);
  assert.equal(await sniff(await file('image.svg', svg)), UNKNOWN_TYPE);
  assert.equal(await sniff(await file('image.png', svg)), UNKNOWN_TYPE);
  // file-type calls these application/xml; a browser would render the SVG and run its script.
  const bare = svg.replace('<?xml version="1.0"?>', '');
  assert.equal(await sniff(await file('bare.svg', bare)), UNKNOWN_TYPE);
  const xhtml = `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">${html}</html>`;
  assert.equal(await sniff(await file('page.xhtml', xhtml)), UNKNOWN_TYPE);
  assert.equal(await sniff(await file('data.xml', '<?xml version="1.0"?><a/>')), UNKNOWN_TYPE);
  assert.equal(await sniff(await file('notes.txt', 'just some text\n')), UNKNOWN_TYPE);
  assert.equal(await sniff(await file('empty.png', '')), UNKNOWN_TYPE);
});

test('a polyglot (PNG bytes with HTML after them, named .html) is sniffed as image/png', async () => {
  const png = await sharp(pixel).png().toBuffer();
  const polyglot = Buffer.concat([png, Buffer.from('<html><script>alert(1)</script></html>')]);
  assert.equal(await sniff(await file('evil.html', polyglot)), 'image/png');
});

test('a missing file rejects', async () => {
  await assert.rejects(sniff(join(dir, 'missing')));
});

test('isInlineImage accepts exactly the four raster types', () => {
  assert.deepEqual([...INLINE_IMAGE_TYPES], ['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
  for (const type of INLINE_IMAGE_TYPES) assert.equal(isInlineImage(type), true);
  for (const type of ['image/svg+xml', 'text/html', 'image/PNG', 'image/png; x=1', 'image/tiff']) {
    assert.equal(isInlineImage(type), false, type);
  }
  assert.equal(isInlineImage(UNKNOWN_TYPE), false);
});
