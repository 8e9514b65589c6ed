// The decoder child as ImageProcessor runs it: its priority, its end on a timeout or a crash,
// the bound on the served copy, and a server process that never loads sharp.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { ChatError, type ErrorCode } from '../domain/errors.js';
import { ImageProcessor } from './images.js';

let dir: string;
let small: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssechat-decoder-'));
  small = join(dir, 'small.png');
  const create = { width: 20, height: 20, channels: 3 as const, background: '#c04020' };
  await writeFile(small, await sharp({ create }).png().toBuffer());
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Asserts that `promise` rejects with a ChatError of `code` whose message matches `detail`. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, detail?: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ChatError, `not a ChatError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (detail) assert.match(err.message, detail);
    return true;
  });
}

/**
 * A lossless WebP of a flat 5000x5000 area: a few hundred bytes that take the decoder about
 * 1.5 s (re-encoding 25 MP), the shape of the slow small file a hostile uploader would send.
 */
async function slowWebp(): Promise<string> {
  const create = { width: 5000, height: 5000, channels: 3 as const, background: '#2040c0' };
  const path = join(dir, 'slow.webp');
  await writeFile(path, await sharp({ create }).webp({ lossless: true }).toBuffer());
  return path;
}

/** Whether process `pid` exists (a zombie is reaped by node before 'exit' is emitted). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone, polling, for at most 5 s. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

test('the decoder runs at nice 10, all its threads, and starts on the first image', async () => {
  const images = new ImageProcessor();
  assert.equal(images.decoderPid, undefined);
  await images.process(small, 'image/png');
  const pid = images.decoderPid;
  assert.ok(pid !== undefined && pid !== process.pid);
  assert.equal(getPriority(pid), 10);
  // /proc/<pid>/task/<tid>/stat field 19 is each thread's niceness (Linux keeps one per thread).
  const tasks = await readdir(`/proc/${pid}/task`);
  assert.ok(tasks.length > 1);
  for (const tid of tasks) {
    const stat: string = await readFile(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    const fields: string[] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(fields[19 - 3], '10', `thread ${tid}`);
  }
  // The same child serves the next image.
  await images.process(small, 'image/png');
  assert.equal(images.decoderPid, pid);
  await images.close();
  assert.ok(await gone(pid), 'the decoder ends at close()');
});

test('a job past its deadline kills the decoder; the next job gets a new one', async () => {
  const slow = await slowWebp();
  // The deadline must pass a child's start (node and sharp loading) on a loaded machine: at
  // 400 ms the warm-up itself timed out under a load average of 8. The slow image's re-encode
  // takes some 2.5 s on this box, well past 1 s.
  const images = new ImageProcessor({ timeoutMs: 1000 });
  // Warm: the child's start (node and sharp loading) is not what this test times out.
  await images.process(small, 'image/png');
  const first = images.decoderPid as number;
  const t0 = Date.now();
  await rejectsWith(images.process(slow, 'image/webp'), 'UPLOAD_IMAGE_INVALID', /took longer/);
  assert.ok(await gone(first), 'the decoder was killed');
  // Not timed for speed: only that the queue did not wait for libvips to finish on its own.
  assert.ok(Date.now() - t0 < 5_000);
  const out = await images.process(small, 'image/png');
  assert.equal(out.width, 20);
  assert.notEqual(images.decoderPid, first);
  await images.close();
});

test('a decoder that dies (an OOM kill) fails the job in flight only', async () => {
  const slow = await slowWebp();
  const images = new ImageProcessor();
  const job = images.process(slow, 'image/webp', 'A');
  const next = images.process(small, 'image/png', 'B');
  const pid = images.decoderPid as number;
  process.kill(pid, 'SIGKILL');
  await rejectsWith(job, 'UPLOAD_IMAGE_INVALID', /the decoder stopped/);
  assert.equal((await next).width, 20);
  assert.notEqual(images.decoderPid, pid);
  await images.close();
});

test('a served copy larger than maxOutputBytes is UPLOAD_IMAGE_TOO_LARGE', async () => {
  const noise = { type: 'gaussian' as const, mean: 128, sigma: 40 };
  const create = { width: 300, height: 200, channels: 3 as const, background: '#000', noise };
  const path = join(dir, 'noisy.jpg');
  await writeFile(path, await sharp({ create }).jpeg().toBuffer());
  const tight = new ImageProcessor({ maxOutputBytes: 1000 });
  await rejectsWith(tight.process(path, 'image/jpeg'), 'UPLOAD_IMAGE_TOO_LARGE', /re-encoded/);
  const roomy = new ImageProcessor({ maxOutputBytes: 1_000_000 });
  assert.equal((await roomy.process(path, 'image/jpeg')).width, 300);
  await Promise.all([tight.close(), roomy.close()]);
  assert.throws(() => new ImageProcessor({ maxOutputBytes: 0 }), RangeError);
});

test('the process that uses ImageProcessor does not load sharp or libvips', async () => {
  // A fresh node: this test's own process loaded sharp to make its fixtures.
  const script = `
    import { readFileSync } from 'node:fs';
    const { ImageProcessor } = await import(${JSON.stringify(new URL('./images.js', import.meta.url).href)});
    const images = new ImageProcessor();
    const out = await images.process(${JSON.stringify(small)}, 'image/png');
    const maps = readFileSync('/proc/self/maps', 'latin1');
    console.log(JSON.stringify({ width: out.width, vips: /vips|sharp/i.test(maps) }));
    await images.close();
  `;
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  assert.deepEqual(JSON.parse(stdout), { width: 20, vips: false });
});
