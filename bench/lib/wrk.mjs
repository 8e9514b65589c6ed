// bench/lib/wrk.mjs -- driving wrk: the Lua script of a POST load, and reading its output.
import { writeFileSync } from 'node:fs';

const UNIT = { us: 1e-3, ms: 1, s: 1e3, m: 60e3 };

/** Parses a wrk duration such as `812.00us`, `1.20ms`, `2.00s` into milliseconds. */
export function wrkMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT[m[2]] : NaN;
}

/**
 * The figures of `wrk --latency` output: requests, seconds, req/s, non-2xx responses, socket
 * errors, and latency avg/p50/p75/p90/p99/max in ms.
 */
export function parseWrk(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const lat = {};
  for (const p of ['50', '75', '90', '99']) {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    lat[`p${p}`] = m ? wrkMs(m[1]) : NaN;
  }
  const stats = /^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)/m.exec(out);
  const err = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: num(/^\s*(\d+) requests in/m),
    seconds: wrkMs(/requests in ([\d.]+\w+),/.exec(out)?.[1] ?? '') / 1000,
    rps: num(/^Requests\/sec:\s+([\d.]+)/m),
    non2xx: Number.isFinite(num(/Non-2xx or 3xx responses: (\d+)/))
      ? num(/Non-2xx or 3xx responses: (\d+)/)
      : 0,
    socketErrors: err ? err.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    latencyMs: {
      avg: stats ? wrkMs(stats[1]) : NaN,
      max: stats ? wrkMs(stats[3]) : NaN,
      ...lat,
    },
  };
}

/**
 * Writes a wrk Lua script to `file` that POSTs `body` (an object, sent as JSON) with the
 * session `cookie`, and returns `file`: how the send benchmarks load POST /api/v1/messages.
 */
export function wrkPostScript(file, body, cookie) {
  // JSON.stringify never writes a single quote, so it fits in a Lua '...' string as is.
  writeFileSync(
    file,
    [
      'wrk.method = "POST"',
      `wrk.body = '${JSON.stringify(body)}'`,
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.headers["Cookie"] = "${cookie}"`,
      '',
    ].join('\n'),
  );
  return file;
}
