// bench/lib/send-load.mjs -- the keep-alive send load of bench/send.mjs, for every scenario
// that measures it (send.mjs alone; uploads.mjs alone and beside uploads): wrk POSTs
// /api/v1/messages (a DM from `tx` to one SSE receiver `rx`) over keep-alive connections for a
// fixed time, and the receiver must get every id stored between a start and an end marker.
import { request } from 'node:http';
import { join } from 'node:path';
import { api, login, openReceiver } from './http.mjs';
import { cpuWatch, round } from './measure.mjs';
import { socketIoClient } from './peers.mjs';
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
 * The same load against a peer (bench/lib/peers.mjs), whose messages have no ids to check: the
 * receiver (an SSE stream, or a socket.io-client socket for `socketio`) counts every message
 * carrying `text` between a start and an end marker (`~M<n>~`, sent one at a time around the
 * wrk run), and `delivery` compares that count with what was published (below): fewer is loss,
 * more are duplicates. Nchan publishes the POSTed body as is: wrk's JSON is the message.
 */
export async function preparePeerSendLoad(peer, port, dir, agent, text = SEND_TEXT) {
  const tx = await login(port, 'tx', { agent });
  const rx = peerReceiver(peer, port, text);
  await Promise.race([
    rx.ready,
    sleep(5000).then(() => Promise.reject(new Error(`${peer} receiver not up in 5 s`))),
  ]);
  let n = 0;
  const ids = new Map(); // marker -> the id the server gave it (the node peers count messages)
  const send = async () => {
    const mark = ++n;
    const r = await api(
      port,
      'POST',
      '/api/v1/messages',
      { to: 'rx', text: `~M${mark}~` },
      {
        cookie: tx,
        agent,
      },
    );
    if (r.status !== 201 && r.status !== 202)
      throw new Error(`${peer} POST /api/v1/messages: ${r.status} ${JSON.stringify(r.body)}`);
    ids.set(mark, r.body?.id);
    return mark;
  };
  const script = wrkPostScript(join(dir, 'post.lua'), { to: 'rx', text }, tx);
  const url = `http://127.0.0.1:${port}/api/v1/messages`;
  const wrk = (c, d) =>
    run(
      'wrk',
      ['-t1', `-c${c}`, `-d${d}`, '--latency', '-s', script, url],
      (Number.parseFloat(d) + 30) * 1000,
    );
  // Messages counted between marker `first` and marker `last`, against what was published:
  // the node peers number their messages, so the markers' ids give it exactly; Nchan's ids are
  // not a count, so there it is wrk's 2xx answers, plus up to `conns` requests wrk had in
  // flight when it stopped (published, but not counted by wrk): only more than that is a dup.
  const delivery = (first, last, ok, conns) => {
    let got = 0;
    for (let m = first; m < last; m++) got += rx.counts.get(m) ?? 0;
    const a = ids.get(first);
    const b = ids.get(last);
    const exact = Number.isInteger(a) && Number.isInteger(b);
    const published = exact ? b - a - 1 : ok;
    return {
      published: exact ? published : null,
      delivered: got,
      lost: Math.max(0, published - got),
      duplicates: Math.max(0, got - published - (exact ? 0 : conns)),
    };
  };
  return { tx, rx, send, wrk, delivery };
}

/**
 * A peer's receiver: `counts` maps each marker seen to the messages carrying `text` after it;
 * `waitFor(mark, ms)` resolves once that marker arrived (or after ms).
 */
function peerReceiver(peer, port, text) {
  const counts = new Map();
  let mark = 0;
  let waiter = null;
  const onText = (s) => {
    if (typeof s !== 'string') return;
    const m = /~M(\d+)~/.exec(s);
    if (m) {
      mark = Number(m[1]);
      counts.set(mark, 0);
      if (waiter && mark >= waiter.mark) {
        waiter.resolve();
        waiter = null;
      }
    } else if (mark && s.includes(text)) counts.set(mark, counts.get(mark) + 1);
  };
  let up;
  const ready = new Promise((r) => {
    up = r;
  });
  let close;
  if (peer === 'socketio') {
    const socket = socketIoClient().io(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
    });
    socket.on('hello', up);
    socket.on('message', (msg) => onText(msg?.text));
    close = () => socket.disconnect();
  } else {
    // Line by line: better-sse writes `data:` without a space, and each message is one line.
    let partial = '';
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/events',
        headers: { Accept: 'text/event-stream' },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) throw new Error(`${peer} receiver: ${res.statusCode}`);
        res.setEncoding('utf8');
        res.on('data', (d) => {
          const lines = (partial + d).split('\n');
          partial = lines.pop();
          for (const line of lines) if (line.startsWith('data:')) onText(line);
        });
        up(); // the stream is subscribed once its head is sent (Nchan has no hello)
      },
    );
    req.on('error', (err) => {
      if (!req.destroyed) process.stderr.write(`${peer} receiver: ${err.message}\n`);
    });
    req.end();
    close = () => req.destroy();
  }
  return {
    ready,
    counts,
    waitFor(m, ms) {
      if (mark >= m) return Promise.resolve();
      return Promise.race([
        new Promise((resolve) => {
          waiter = { mark: m, resolve };
        }),
        sleep(ms),
      ]);
    },
    close,
  };
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
    ...(load.delivery
      ? load.delivery(first, lastId, ok, conns)
      : idDelivery(load.rx, first, lastId)),
  };
}

/** Everything stored between the two markers, markers included, must have arrived once. */
function idDelivery(rx, first, lastId) {
  const inRange = rx.ids.filter((id) => id >= first && id <= lastId);
  const unique = new Set(inRange).size;
  return {
    stored: lastId - first + 1,
    delivered: unique,
    lost: lastId - first + 1 - unique,
    duplicates: inRange.length - unique,
  };
}
