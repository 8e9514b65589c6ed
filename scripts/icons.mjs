// Draws the app's PNG icons (web/icon-*.png, web/apple-touch-icon.png) from the same shapes as
// web/icon.svg: a blue rounded square with a white speech bubble. No image library: the
// pixels are computed here (4×4 samples per pixel for smooth edges) and written as a PNG with
// node:zlib. Run `node scripts/icons.mjs` after changing the shapes; the PNGs are committed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const WEB = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'web');
const BLUE = [0x35, 0x59, 0xe0];
const WHITE = [0xff, 0xff, 0xff];
const SAMPLES = 4;

/** True when (x, y) is inside a rounded rectangle. */
function inRoundRect(x, y, x0, y0, x1, y1, r) {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** True when (x, y) is inside the triangle a, b, c. */
function inTriangle(x, y, [ax, ay], [bx, by], [cx, cy]) {
  const d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by);
  const d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy);
  const d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay);
  const neg = d1 < 0 || d2 < 0 || d3 < 0;
  const pos = d1 > 0 || d2 > 0 || d3 > 0;
  return !(neg && pos);
}

/** The bubble of icon.svg, on its 32×32 grid. */
function inBubble(x, y) {
  return inRoundRect(x, y, 6, 10, 26, 22, 2) || inTriangle(x, y, [15, 22], [10, 26], [10, 22]);
}

/**
 * The RGBA pixels of one icon of `size` pixels. `maskable`: the background fills the square
 * (the platform cuts its own shape) and the bubble shrinks into the central safe zone (a
 * circle of 80% of the size); otherwise the square has icon.svg's rounded corners.
 */
function draw(size, maskable) {
  const px = Buffer.alloc(size * size * 4);
  const scale = 32 / size;
  // Maskable: the bubble (x 6..26, y 10..26 on the grid) scaled by 0.75 about the centre.
  const shrink = maskable ? 0.75 : 1;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let bg = 0;
      let fg = 0;
      for (let sj = 0; sj < SAMPLES; sj++) {
        for (let si = 0; si < SAMPLES; si++) {
          const x = (i + (si + 0.5) / SAMPLES) * scale;
          const y = (j + (sj + 0.5) / SAMPLES) * scale;
          if (maskable || inRoundRect(x, y, 0, 0, 32, 32, 8)) bg++;
          if (inBubble(16 + (x - 16) / shrink, 18 + (y - 16) / shrink - 2)) fg++;
        }
      }
      const n = SAMPLES * SAMPLES;
      const o = (j * size + i) * 4;
      const f = fg / n;
      for (let c = 0; c < 3; c++) px[o + c] = Math.round(BLUE[c] * (1 - f) + WHITE[c] * f);
      px[o + 3] = Math.round((Math.max(bg, fg) / n) * 255);
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 of a PNG chunk's type and data. */
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk. */
function chunk(type, data) {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/** A PNG (8-bit RGBA, no interlace) of `size`×`size` pixels `px`. */
function png(size, px) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) {
    rows[j * (size * 4 + 1)] = 0; // filter: none
    px.copy(rows, j * (size * 4 + 1) + 1, j * size * 4, (j + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const ICONS = [
  { name: 'icon-192.png', size: 192, maskable: false },
  { name: 'icon-512.png', size: 512, maskable: false },
  { name: 'icon-maskable-512.png', size: 512, maskable: true },
  // iOS draws its own rounded corners and shows transparency as black: full bleed.
  { name: 'apple-touch-icon.png', size: 180, maskable: true },
];

for (const { name, size, maskable } of ICONS) {
  writeFileSync(join(WEB, name), png(size, draw(size, maskable)));
  console.log(`web/${name}`);
}
