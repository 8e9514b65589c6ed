// bench/lib/send-load.mjs -- the keep-alive send load of bench/send.mjs, for every scenario
// that measures it (send.mjs alone; uploads.mjs alone and beside uploads): wrk POSTs
// /api/v1/messages (a DM from `tx` to one SSE receiver `rx`) over keep-alive connections for a
// fixed time, and the receiver must get every id stored between a start and an end marker.
import { join } from 'node:path';
import { api, login, openReceiver } from './http.mjs';
import { cpuWatch, round } from './measure.mjs';
import { run, SERVER_CPU, sleep, withBenchLock } from './process.mjs';
import { parseWrk, wrkPostScript } from './wrk.mjs';

/** The text wrk sends unless told otherwise: three words. */
export const SEND_TEXT = 'hello from wrk';

/**
 * Logs `tx` and `rx` in on `port` (over `agent`), opens rx's stream and waits for its hello
 * (at most 5 s), and writes wrk's Lua script into `dir`, which sends `text`. Returns the load:
 * `{ tx, rx, send(text), wrk(conns, duration) }`; `send` is one DM to rx (its id), `wrk` one
 * wrk run (killed at its duration + 30 s). Close `rx` when done.
 */
export async function prepareSendLoad(port, dir, agent, text = SEND_TEXT) {
  const tx = await login(port, 'tx', { agent });
  const rxCookie = await login(port, 'rx', { agent });
  const rx = openReceiver(port, rxCookie);
  await Promise.race([
    rx.ready,
    sleep(5000).then(() => Promise.reject(new Error('receiver got no hello in 5 s'))),
  ]);
  const send = async (text) => {
    const r = await api(
      port,
      'POST',
      '/api/v1/messages',
      { to: 'rx', text },
      { cookie: tx, agent },
    );
    if (r.status !== 201)
      throw new Error(`POST /api/v1/messages: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id;
  };
  const script = wrkPostScript(join(dir, 'post.lua'), { to: 'rx', text }, tx);
  const url = `http://127.0.0.1:${port}/api/v1/messages`;
  const wrk = (c, d) =>
    run(
      'wrk',
      ['-t1', `-c${c}`, `-d${d}`, '--latency', '-s', script, url],
      (Number.parseFloat(d) + 30) * 1000,
    );
  return { tx, rx, send, wrk };
}

/**
 * One measured run of `load` against `server` ({pid}): `wrk -c conns -d duration` between a
 * start and an end marker, then a wait (at most 15 s) for the end marker on rx. `lock` wraps
 * the timed part (default: take /tmp/bench.lock; a caller that already holds it passes
 * `(fn) => fn()`). Returns msgs/s (2xx only), latency p50/p99/max, server µs per message and CPU %, the
 * other load on the server's CPU, and delivery: every id stored between the markers (any
 * sender's) must reach rx once.
 */
export async function measureSend(load, server, conns, duration, { lock = withBenchLock } = {}) {
  const first = await load.send('start');
  const { res, cpu } = await lock(async () => {
    const stop = cpuWatch(server.pid, SERVER_CPU);
    const res = await load.wrk(conns, duration);
    return { res, cpu: stop() };
  });
  const w = parseWrk(res.out);
  if (!Number.isFinite(w.rps)) throw new Error(`wrk output not understood:\n${res.out}`);
  const lastId = await load.send('end');
  await load.rx.waitFor(lastId, 15_000);
  const inRange = load.rx.ids.filter((id) => id >= first && id <= lastId);
  const unique = new Set(inRange).size;
  const ok = w.requests - w.non2xx;
  return {
    msgs_per_s: round(w.rps * (ok / Math.max(1, w.requests))),
    requests: w.requests,
    non2xx: w.non2xx,
    socket_errors: w.socketErrors,
    p50_ms: round(w.latencyMs.p50, 3),
    p99_ms: round(w.latencyMs.p99, 3),
    max_ms: round(w.latencyMs.max, 3),
    us_per_msg: round(cpu.server_cpu_ns / 1000 / Math.max(1, ok)),
    server_cpu_pct: round((100 * cpu.server_cpu_ns) / 1e9 / cpu.wall_s, 0),
    other_cpu0_pct: cpu.other_cpu_pct,
    // Everything stored between the two markers, markers included, must have arrived.
    stored: lastId - first + 1,
    delivered: unique,
    lost: lastId - first + 1 - unique,
    duplicates: inRange.length - unique,
  };
}
