import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { pngBomb, pngChunk } from '../../test/image-fixtures.js';
import { ChatError, type ErrorCode } from '../domain/errors.js';
import { ImageProcessor, type ProcessedImage } from './images.js';

// Fixtures are made here with sharp (or by hand, byte by byte): no binary files in git.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssechat-media-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `bytes` to a fresh file in the test directory and returns its path. */
async function file(name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** A solid image of the given size, as `sharp` input options. */
function solid(width: number, height: number, background = '#c04020') {
  return { create: { width, height, channels: 3 as const, background } };
}

/** Solid frames of one size, one per colour, as PNG buffers (sharp joins buffers, not options). */
function frames(width: number, height: number, colours: string[]): Promise<Buffer[]> {
  return Promise.all(
    colours.map((c) =>
      sharp(solid(width, height, c))
        .png()
        .toBuffer(),
    ),
  );
}

/** Asserts that `promise` rejects with a ChatError of `code`. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ChatError, `not a ChatError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** Asserts that no EXIF, XMP, ICC, orientation or planted secret survives in `buf`. */
async function assertNoMetadata(buf: Buffer): Promise<void> {
  const meta = await sharp(buf).metadata();
  assert.equal(meta.exif, undefined);
  assert.equal(meta.xmp, undefined);
  assert.equal(meta.icc, undefined);
  assert.equal(meta.iptc, undefined);
  assert.equal(meta.orientation, undefined);
  for (const secret of ['GPS', 'SECRET', 'Exif', 'xmpmeta']) {
    assert.equal(buf.includes(secret), false, `${secret} found in the output`);
  }
}

/** Asserts the thumbnail is a WebP inside `box` x `box` matching its stated size. */
async function assertThumb(out: ProcessedImage, box = 400): Promise<void> {
  assert.equal(out.thumbType, 'image/webp');
  const meta = await sharp(out.thumb).metadata();
  assert.equal(meta.format, 'webp');
  assert.equal(meta.pages ?? 1, 1);
  assert.equal(meta.width, out.thumbWidth);
  assert.equal(meta.height, out.thumbHeight);
  assert.ok(out.thumbWidth <= box && out.thumbHeight <= box);
  await assertNoMetadata(out.thumb);
}

test('a JPEG with GPS and orientation 6: served copy and thumb are upright and carry no metadata', async () => {
  const input = await sharp(solid(600, 200))
    .jpeg()
    .withExif({
      IFD0: { Copyright: 'SECRET owner', Make: 'SECRET camera' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSMapDatum: 'SECRET-DATUM' },
    })
    .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP</x:xmpmeta>')
    .withMetadata({ orientation: 6 })
    .toBuffer();
  // A JPEG comment (COM segment) right after SOI, which sharp cannot write.
  const comment = Buffer.from('SECRET comment', 'latin1');
  const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0, comment.length + 2]), comment]);
  const jpeg = Buffer.concat([input.subarray(0, 2), com, input.subarray(2)]);
  const before = await sharp(jpeg).metadata();
  assert.equal(before.orientation, 6);
  assert.ok(before.exif && jpeg.includes('SECRET-DATUM') && jpeg.includes('SECRET comment'));

  const out = await new ImageProcessor().process(await file('gps.jpg', jpeg), 'image/jpeg');
  assert.equal(out.type, 'image/jpeg');
  // Orientation 6 is a quarter turn: the stored 600x200 is shown 200x600.
  assert.equal(out.width, 200);
  assert.equal(out.height, 600);
  const served = await sharp(out.data).metadata();
  assert.equal(served.format, 'jpeg');
  assert.equal(served.width, 200);
  assert.equal(served.height, 600);
  await assertNoMetadata(out.data);
  assert.equal(out.thumbWidth, 133);
  assert.equal(out.thumbHeight, 400);
  await assertThumb(out);
});

test('a decompression bomb (a tiny PNG declaring 50000x50000) is refused from its header', async () => {
  const bomb = pngBomb(50_000, 50_000);
  assert.ok(bomb.length < 100);
  const path = await file('bomb.png', bomb);
  const images = new ImageProcessor();
  const rss = process.memoryUsage().rss;
  await rejectsWith(images.process(path, 'image/png'), 'UPLOAD_IMAGE_TOO_LARGE');
  const grown = process.memoryUsage().rss - rss;
  assert.ok(grown < 100 * 1024 * 1024, `rss grew by ${grown} bytes`);
});

test('an animation is counted by all its frames: 3 frames of 30x20 exceed 1500 pixels', async () => {
  const gif = await sharp(await frames(30, 20, ['#f00', '#0f0', '#00f']), {
    join: { animated: true },
  })
    .gif()
    .toBuffer();
  const path = await file('frames.gif', gif);
  await rejectsWith(
    new ImageProcessor({ maxPixels: 1500 }).process(path, 'image/gif'),
    'UPLOAD_IMAGE_TOO_LARGE',
  );
  const out = await new ImageProcessor({ maxPixels: 1800 }).process(path, 'image/gif');
  assert.equal(out.height, 20);
});

test('a truncated JPEG, random bytes, and bytes of another format are UPLOAD_IMAGE_INVALID', async () => {
  const images = new ImageProcessor();
  const noisy = {
    create: { width: 300, height: 200, channels: 3 as const, background: '#000', noise },
  };
  const jpeg = await sharp(noisy).jpeg().toBuffer();
  const truncated = await file('truncated.jpg', jpeg.subarray(0, jpeg.length >> 1));
  await rejectsWith(images.process(truncated, 'image/jpeg'), 'UPLOAD_IMAGE_INVALID');

  const random = Buffer.alloc(4096);
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 251;
  await rejectsWith(
    images.process(await file('random.png', random), 'image/png'),
    'UPLOAD_IMAGE_INVALID',
  );
  // A PNG under a JPEG label, and an SVG under a PNG label: decoded by the named type only, so
  // an SVG (or PDF) is never rendered.
  const png = await file('real.png', await sharp(solid(10, 10)).png().toBuffer());
  await rejectsWith(images.process(png, 'image/jpeg'), 'UPLOAD_IMAGE_INVALID');
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>';
  const svgPath = await file('image.svg', Buffer.from(svg));
  await rejectsWith(images.process(svgPath, 'image/png'), 'UPLOAD_IMAGE_INVALID');
  await rejectsWith(images.process(svgPath, 'image/svg+xml'), 'UPLOAD_IMAGE_INVALID');
  await rejectsWith(images.process(join(dir, 'missing.png'), 'image/png'), 'UPLOAD_IMAGE_INVALID');
});

/** Noise, so that encoders have something to work on. */
const noise = { type: 'gaussian' as const, mean: 128, sigma: 40 };

test('a PNG round trip keeps its type and size; text chunks are dropped', async () => {
  const plain = await sharp(solid(640, 480)).png().toBuffer();
  // A tEXt chunk just before IEND (the last 12 bytes).
  const text = pngChunk('tEXt', Buffer.from('Comment\0SECRET text', 'latin1'));
  const png = Buffer.concat([plain.subarray(0, -12), text, plain.subarray(-12)]);
  assert.ok(png.includes('SECRET text'));
  const out = await new ImageProcessor().process(await file('a.png', png), 'image/png');
  assert.equal(out.type, 'image/png');
  assert.equal((await sharp(out.data).metadata()).format, 'png');
  assert.deepEqual([out.width, out.height], [640, 480]);
  assert.deepEqual([out.thumbWidth, out.thumbHeight], [400, 300]);
  await assertNoMetadata(out.data);
  await assertThumb(out);
});

test('an animated GIF stays animated (3 frames); its thumbnail is the first frame', async () => {
  const gif = await sharp(await frames(90, 60, ['#f00', '#0f0', '#00f']), {
    join: { animated: true },
  })
    .gif({ delay: [100, 200, 300], loop: 0 })
    .toBuffer();
  const out = await new ImageProcessor().process(await file('a.gif', gif), 'image/gif');
  assert.equal(out.type, 'image/gif');
  assert.deepEqual([out.width, out.height], [90, 60]);
  const meta = await sharp(out.data).metadata();
  assert.equal(meta.format, 'gif');
  assert.equal(meta.pages, 3);
  assert.deepEqual(meta.delay, [100, 200, 300]);
  // Small images are never enlarged.
  assert.deepEqual([out.thumbWidth, out.thumbHeight], [90, 60]);
  await assertThumb(out);
  const { data } = await sharp(out.thumb).raw().toBuffer({ resolveWithObject: true });
  assert.ok((data[0] as number) > 200 && (data[1] as number) < 50, 'the first frame is red');
});

test('a WebP and an animated WebP round trip', async () => {
  const images = new ImageProcessor({ thumbSize: 64 });
  const webp = await sharp({
    create: { width: 500, height: 1000, channels: 3, background: '#000', noise },
  })
    .webp()
    .toBuffer();
  const out = await images.process(await file('a.webp', webp), 'image/webp');
  assert.equal(out.type, 'image/webp');
  assert.equal((await sharp(out.data).metadata()).format, 'webp');
  assert.deepEqual([out.width, out.height], [500, 1000]);
  assert.deepEqual([out.thumbWidth, out.thumbHeight], [32, 64]);
  await assertThumb(out, 64);

  const animated = await sharp(await frames(40, 30, ['#f00', '#0f0']), { join: { animated: true } })
    .webp()
    .toBuffer();
  const out2 = await images.process(await file('b.webp', animated), 'image/webp');
  assert.deepEqual([out2.width, out2.height], [40, 30]);
  assert.equal((await sharp(out2.data).metadata()).pages, 2);
});

/** An ImageProcessor that counts how many decodes run at once, and can hold one open. */
class Instrumented extends ImageProcessor {
  active = 0;
  most = 0;
  started = 0;
  /** While set, each decode waits for it before doing its work. */
  gate: Promise<void> | undefined;

  /** The paths in the order their decodes started. */
  readonly order: string[] = [];

  protected override async decode(
    path: string,
    type: string,
    signal: AbortSignal,
  ): Promise<ProcessedImage> {
    this.active++;
    this.started++;
    this.order.push(path);
    this.most = Math.max(this.most, this.active);
    try {
      if (this.gate) await this.gate;
      return await super.decode(path, type, signal);
    } finally {
      this.active--;
    }
  }
}

test('one image at a time; beyond maxQueue waiting, UPLOAD_BUSY', async () => {
  const png = await file('q.png', await sharp(solid(800, 600)).png().toBuffer());
  const images = new Instrumented({ maxQueue: 1 });
  const results = await Promise.allSettled([1, 2, 3].map(() => images.process(png, 'image/png')));
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'rejected'],
  );
  const busy = (results[2] as PromiseRejectedResult).reason;
  assert.ok(busy instanceof ChatError && busy.code === 'UPLOAD_BUSY');
  assert.ok(busy.retryAfterMs !== undefined && busy.retryAfterMs > 0);
  assert.equal(images.most, 1);

  // Six owners, as one owner may have only two waiting (maxQueuePerOwner).
  const many = new Instrumented({ maxQueue: 16 });
  const all = await Promise.all(
    Array.from({ length: 6 }, (_, i) => many.process(png, 'image/png', `owner${i}`)),
  );
  assert.equal(all.length, 6);
  assert.equal(many.most, 1);
  await Promise.all([images.close(), many.close()]);
});

test('owners take turns: A queues two and B one while A decodes; B goes second', async () => {
  const bytes = await sharp(solid(30, 20)).png().toBuffer();
  const [a1, a2, a3, b1] = await Promise.all(
    ['a1', 'a2', 'a3', 'b1'].map((name) => file(`${name}.png`, bytes)),
  );
  const images = new Instrumented();
  let open = (): void => {};
  images.gate = new Promise((resolve) => {
    open = resolve;
  });
  const jobs = [
    images.process(a1 as string, 'image/png', 'A'),
    images.process(a2 as string, 'image/png', 'A'),
    images.process(a3 as string, 'image/png', 'A'),
    images.process(b1 as string, 'image/png', 'B'),
  ];
  // A's fourth is over its two waiting: refused at once, while the queue has room for others.
  await rejectsWith(images.process(a1 as string, 'image/png', 'A'), 'UPLOAD_BUSY');
  images.gate = undefined;
  open();
  await Promise.all(jobs);
  assert.deepEqual(images.order, [a1, b1, a2, a3]);
  assert.equal(images.most, 1);
  await images.close();
});

test('an image that waits longer than maxWaitMs for its turn gets UPLOAD_BUSY', async () => {
  const png = await file('w.png', await sharp(solid(20, 20)).png().toBuffer());
  const images = new Instrumented({ maxWaitMs: 50 });
  let open = (): void => {};
  images.gate = new Promise((resolve) => {
    open = resolve;
  });
  const running = images.process(png, 'image/png', 'A');
  await rejectsWith(images.process(png, 'image/png', 'B'), 'UPLOAD_BUSY');
  assert.equal(images.started, 1);
  images.gate = undefined;
  open();
  assert.equal((await running).width, 20);
  // The expired job left its place: the queue takes the next one as usual.
  assert.equal((await images.process(png, 'image/png', 'B')).width, 20);
  await images.close();
});

test('a job past its timeout answers UPLOAD_IMAGE_INVALID but holds its slot until it ends', async () => {
  const png = await file('t.png', await sharp(solid(20, 20)).png().toBuffer());
  // 1 s rather than less: the job after the slow one runs for real, in a child that starts
  // (a node process loading sharp) within its time, on a machine that may be busy.
  const images = new Instrumented({ timeoutMs: 1000 });
  let open = (): void => {};
  images.gate = new Promise((resolve) => {
    open = resolve;
  });
  const slow = images.process(png, 'image/png');
  const next = images.process(png, 'image/png');
  await assert.rejects(slow, (err: unknown) => {
    assert.ok(err instanceof ChatError && err.code === 'UPLOAD_IMAGE_INVALID');
    assert.match(err.message, /took longer than 1000 ms/);
    return true;
  });
  // The slow decode still runs: the next one has not started.
  assert.equal(images.started, 1);
  images.gate = undefined;
  open();
  const out = await next;
  assert.equal(out.width, 20);
  assert.equal(images.most, 1);
});

test('close() rejects the waiting jobs, lets the running one finish, and refuses new ones', async () => {
  const png = await file('c.png', await sharp(solid(20, 20)).png().toBuffer());
  const images = new Instrumented();
  let open = (): void => {};
  images.gate = new Promise((resolve) => {
    open = resolve;
  });
  const running = images.process(png, 'image/png');
  const waiting = images.process(png, 'image/png');
  const closed = images.close();
  await rejectsWith(waiting, 'SERVER_UNAVAILABLE');
  await rejectsWith(images.process(png, 'image/png'), 'SERVER_UNAVAILABLE');
  open();
  assert.equal((await running).width, 20);
  await closed;
  assert.equal(images.started, 1);
});
