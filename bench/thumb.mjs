// bench/thumb.mjs [--runs 5] [--width 4000] [--height 3000]
//
// The cost of ImageProcessor.process() (src/media/images.ts, from the built dist/) on a 12 MP
// photo: a 4000x3000 JPEG (quality 90) of a gradient under Gaussian noise, which compresses
// about as badly as a grainy phone photo, so it is a heavy case rather than a kind one. Runs
// RUNS times, one after another (as the queue would), and reports the median and the slowest
// run (ms), the RSS before the first run and the peak RSS of this process (MB, getrusage) and
// of the decoder child that ImageProcessor forks (MB, VmHWM: sharp's buffers live there now),
// the input and output sizes, and the event loop's worst delay while images were processed
// (ms): the decoding runs in the child, so that should stay small. The first run includes the
// child's start (a node process loading sharp, about 0.2 s); the median does not. Peak RSS depends on the allocator: with glibc's default arenas, RSS
// keeps rising over repeated runs (about 450 MB after 20 on the test machine); with
// MALLOC_ARENA_MAX=2 or jemalloc (LD_PRELOAD) it levels off near 200-300 MB: fragmentation,
// not a leak. The photo is made by a child process (see makePhoto). Not part of the tests.
// Progress on stderr, one JSON line {scenario: 'thumb', rows, goals} on stdout.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ImageProcessor } from '../dist/src/media/images.js';
import { median, round } from './lib/measure.mjs';
import { parseArgs, printResult, say } from './lib/report.mjs';

const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.runs ?? 5);
const WIDTH = Number(args.width ?? 4000);
const HEIGHT = Number(args.height ?? 3000);

/** Writes the test photo to `path`: a gradient under Gaussian noise, as a quality-90 JPEG. */
async function makePhoto(path) {
  const noise = await sharp({
    create: {
      width: WIDTH,
      height: HEIGHT,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 30 },
    },
  })
    .raw()
    .toBuffer();
  const gradient = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">` +
      '<defs><linearGradient id="g"><stop offset="0" stop-color="#236"/>' +
      '<stop offset="1" stop-color="#fc8"/></linearGradient></defs>' +
      '<rect width="100%" height="100%" fill="url(#g)"/></svg>',
  );
  await sharp(gradient)
    .composite([
      { input: noise, raw: { width: WIDTH, height: HEIGHT, channels: 3 }, blend: 'soft-light' },
    ])
    .jpeg({ quality: 90 })
    .toFile(path);
}

if (typeof args.make === 'string') {
  // The child's half: making the photo takes far more memory than processing it, so it happens
  // in a process of its own and the parent's peak RSS is the processing alone.
  await makePhoto(args.make);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'ssechat-thumb-'));
try {
  const path = join(dir, 'photo.jpg');
  say(`making a ${WIDTH}x${HEIGHT} JPEG`);
  execFileSync(process.execPath, [
    fileURLToPath(import.meta.url),
    '--make',
    path,
    '--width',
    String(WIDTH),
    '--height',
    String(HEIGHT),
  ]);
  const images = new ImageProcessor();
  const rssBeforeMB = round(process.memoryUsage().rss / 1024 / 1024, 0);

  const loop = monitorEventLoopDelay({ resolution: 10 });
  const times = [];
  let out;
  loop.enable();
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    out = await images.process(path, 'image/jpeg');
    times.push(performance.now() - start);
    say(`run ${i + 1}: ${round(times[i])} ms`);
  }
  loop.disable();
  const status = readFileSync(`/proc/${images.decoderPid}/status`, 'latin1');
  const decoderPeakKB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  await images.close();

  const row = {
    pixels: WIDTH * HEIGHT,
    inputKB: round(statSync(path).size / 1024, 0),
    servedKB: round(out.data.length / 1024, 0),
    thumbKB: round(out.thumb.length / 1024, 1),
    thumb: `${out.thumbWidth}x${out.thumbHeight}`,
    runs: RUNS,
    medianMs: round(median(times)),
    maxMs: round(Math.max(...times)),
    rssBeforeMB,
    peakRssMB: round(process.resourceUsage().maxRSS / 1024, 0),
    decoderPeakRssMB: round(decoderPeakKB / 1024, 0),
    loopDelayMaxMs: round(loop.max / 1e6),
  };
  printResult({ scenario: 'thumb', rows: [row], goals: [] });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
