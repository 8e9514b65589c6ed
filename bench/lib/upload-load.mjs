// bench/lib/upload-load.mjs -- file uploads as load (bench/uploads.mjs): one upload over the
// wire, distinct binaries, and a loop of uploaders that runs beside another load until told
// to stop, counting what it managed. Loopback only.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { api } from './http.mjs';
import { percentile, round } from './measure.mjs';
import { sleep } from './process.mjs';

/** How long one upload request may go without progress before it is abandoned, in ms. */
const UPLOAD_IDLE_MS = 120_000;

/**
 * `POST /api/v1/uploads?name=` with `bytes` as the raw body, as `cookie`, over `agent`.
 * Resolves `{ status, body, retryAfterS, ms }` (body parsed as JSON when it is; ms from the
 * request's start to the end of the answer); rejects on a network error or UPLOAD_IDLE_MS without progress.
 */
export function uploadBytes(port, cookie, name, bytes, agent) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/uploads?name=${encodeURIComponent(name)}`,
        agent,
        headers: {
          Cookie: cookie,
          'Content-Type': 'application/octet-stream',
          'Content-Length': bytes.length,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          let body = text;
          try {
            body = JSON.parse(text);
          } catch {}
          resolve({
            status: res.statusCode,
            body,
            retryAfterS: Number(res.headers['retry-after'] ?? 1),
            ms: performance.now() - t0,
          });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(UPLOAD_IDLE_MS, () => req.destroy(new Error(`upload ${name}: timeout`)));
    req.on('error', reject);
    req.end(bytes);
  });
}

/**
 * A binary of `size` random bytes whose content `stamp(n)` makes distinct per upload (the blob
 * store keys bytes by their SHA-256, and a second put of the same bytes costs a stat, not a
 * write). The first 4 bytes are "BENC", so that no sniffed type can come out of the random.
 * Stamp only between uploads of the same buffer: the bytes are sent from it as they are.
 */
export function distinctBinary(size) {
  const bytes = randomBytes(size);
  bytes.write('BENC', 0, 'latin1');
  return {
    bytes,
    stamp(n) {
      bytes.writeDoubleBE(n, 4);
      return bytes;
    },
  };
}

let stamps = 0;

/**
 * Starts `workers` uploaders against `port`, each in a loop until stop(): upload each of
 * `files` (`[{ name, bytes | binary: distinctBinary() }]`) in turn as the next of `cookies`
 * (round-robin: the server allows 60 uploads per user per minute) and, when `sendTo` is set,
 * send it in a DM to `sendTo`, then pause `pauseMs` (0: back to back). A 429 waits its Retry-After (at most 10 s). stop() waits for
 * the uploads in flight and resolves the tally: per file name `{ uploads, bytes, p50_ms,
 * p99_ms }`, plus `seconds`, `rate_limited`, `errors` and the first error.
 */
export function startUploaders(port, { workers, files, cookies, agent, sendTo, pauseMs = 0 }) {
  let stopped = false;
  let turn = 0;
  const t0 = performance.now();
  const tally = new Map(files.map((f) => [f.name, { uploads: 0, bytes: 0, ms: [] }]));
  let rateLimited = 0;
  let errors = 0;
  let firstError;
  const fail = (what) => {
    errors++;
    firstError ??= what;
  };
  const worker = async (w) => {
    // Each worker stamps binaries of its own, so no buffer changes while it is being sent.
    const own = files.map((f) => (f.binary ? { ...f, binary: distinctBinary(f.size) } : f));
    while (!stopped) {
      for (const f of own) {
        if (stopped) break;
        const cookie = cookies[turn++ % cookies.length];
        const bytes = f.binary ? f.binary.stamp(++stamps * 1000 + w) : f.bytes;
        try {
          const r = await uploadBytes(port, cookie, f.name, bytes, agent);
          if (r.status === 429) {
            rateLimited++;
            await sleep(Math.min(10_000, 1000 * r.retryAfterS));
            continue;
          }
          if (r.status !== 201) {
            fail(`${f.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
            continue;
          }
          const t = tally.get(f.name);
          t.uploads++;
          t.bytes += bytes.length;
          t.ms.push(r.ms);
          if (!sendTo) continue;
          const body = { to: sendTo, text: f.name, attachments: [r.body.upload.id] };
          const sent = await api(port, 'POST', '/api/v1/messages', body, { cookie, agent });
          if (sent.status !== 201) fail(`send ${f.name}: ${sent.status}`);
          if (pauseMs > 0) await sleep(pauseMs);
        } catch (err) {
          fail(`${f.name}: ${err.message}`);
          await sleep(100);
        }
      }
    }
  };
  const running = Array.from({ length: workers }, (_, w) => worker(w));
  return {
    async stop() {
      stopped = true;
      await Promise.all(running);
      const seconds = (performance.now() - t0) / 1000;
      const out = { seconds: round(seconds, 2), rate_limited: rateLimited, errors, firstError };
      for (const [name, t] of tally) {
        const sorted = t.ms.sort((a, b) => a - b);
        out[name] = {
          uploads: t.uploads,
          bytes: t.bytes,
          p50_ms: round(percentile(sorted, 50)),
          p99_ms: round(percentile(sorted, 99)),
        };
      }
      return out;
    },
  };
}
