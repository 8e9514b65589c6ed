// bench/lib/sse-load.mjs -- the client side of the fan-out and idle benchmarks: many SSE
// streams over raw loopback sockets, spread over several child processes (a process may hold
// at most ~20,000 files here, so each child keeps at most MAX_PER_CHILD streams), each child
// on its own 127.0.0.x source address with client ports it picks itself (see PORT_LO).
//
// The parent imports SseFleet; each child is this file run with `--child`, driven over IPC.
// A stream is "up" once its `hello` frame arrived. Broadcasts are recognised by a marker the
// sender puts in the message text, `~B<seq>~T<µs>~`: <seq> counts broadcasts from 1 within a
// phase, and <µs> is the send time on the system's monotonic clock (process.hrtime, shared by
// every process on the box), so each child measures publish→deliver latency for every frame.
// Frames are found by scanning bytes; nothing is JSON-parsed on the hot path.
//
// Peers (bench/lib/peers.mjs): a stream may be "up" on another first frame (`hello`: Nchan
// sends `: hi`), and in `socketio` mode a child holds socket.io-client sockets (WebSocket
// transport) instead, up on their `hello` event, each `message` event's text scanned for the
// same marker: the same counts, per subscriber, in the same report.
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startLoadChild } from './load-child.mjs';
import { cpuNs } from './measure.mjs';
import { socketIoClient } from './peers.mjs';

/** Streams per client process; the file limit is 20,000 per process. */
export const MAX_PER_CHILD = 9000;
/**
 * Client ports are chosen here, not by the kernel: bind() to an address with port 0 scans for a
 * free port and gets slow (quadratic) past a few thousand sockets, while bind() to a given port
 * is a lookup. Each child has its own 127.0.0.x address, so every child may use the whole range,
 * which lies below the ephemeral range (32768-60999) that the kernel picks servers' ports from.
 */
const PORT_LO = 20000;
const PORT_HI = 32767;
/** Latency histogram: 10 µs buckets up to 100 ms, 1 ms buckets up to 120 s, then overflow. */
const FINE_US = 10;
const FINE = 10_000;
const COARSE_US = 1000;
const BUCKETS = FINE + 120_000 - 100;
const bucketOf = (us) => {
  if (us < FINE * FINE_US) return Math.max(0, Math.floor(us / FINE_US));
  return Math.min(BUCKETS, FINE + Math.floor((us - FINE * FINE_US) / COARSE_US));
};
/** The upper bound (µs) of a bucket. */
const bucketTop = (b) =>
  b < FINE ? (b + 1) * FINE_US : FINE * FINE_US + (b - FINE + 1) * COARSE_US;

/** Monotonic microseconds, comparable across processes of this box. */
export const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** The marker a broadcast's text carries: see the file comment. */
export const marker = (seq) => `~B${seq}~T${nowUs()}~`;

// ------------------------------------------------------------------------------------------
// Parent side.

/** A set of client processes holding SSE streams, driven together. */
export class SseFleet {
  constructor(children) {
    this.children = children;
  }

  /** Starts `n` client processes, pinned to the load CPU. */
  static async start(n) {
    const self = fileURLToPath(import.meta.url);
    const kids = [];
    for (let i = 0; i < n; i++) {
      kids.push(startLoadChild(self));
    }
    return new SseFleet(kids);
  }

  /** Children needed for `total` streams. */
  static childrenFor(total) {
    return Math.max(1, Math.ceil(total / MAX_PER_CHILD));
  }

  /**
   * Opens `total` streams to `GET path` on 127.0.0.1:port, split evenly over the children,
   * each from its own 127.0.0.x address. `cookies` are used round-robin (several streams per
   * user are allowed); given at least one per stream, each stream gets its own. Resolves with { ok, failed, ms, errors } once every stream got `hello`
   * or failed. `mode` 'socketio' opens socket.io-client sockets instead (path and cookies
   * unused); `hello` is the text that marks a stream up (default `event: hello`).
   */
  async connect(
    total,
    { port, path = '/api/v1/events', cookies = [], concurrency = 200, mode = 'sse', hello },
  ) {
    const t0 = Date.now();
    const n = this.children.length;
    // With a cookie per stream (one user each), every child takes its own slice.
    const own = cookies.length >= total;
    let offset = 0;
    const replies = await Promise.all(
      this.children.map((c, i) => {
        const count = Math.floor(total / n) + (i < total % n ? 1 : 0);
        offset += count;
        return c.ask(
          {
            op: 'connect',
            count,
            port,
            path,
            cookies: own ? cookies.slice(offset - count, offset) : cookies,
            localAddress: c.address,
            mode,
            hello,
            concurrency: Math.max(1, Math.floor(concurrency / n)),
          },
          'connected',
        );
      }),
    );
    return {
      ok: replies.reduce((a, r) => a + r.ok, 0),
      failed: replies.reduce((a, r) => a + r.failed, 0),
      errors: replies.flatMap((r) => r.errors),
      ms: Date.now() - t0,
    };
  }

  /** Starts a phase: zeroes the counters; every stream should then get `expected` broadcasts. */
  async arm(expected) {
    await Promise.all(this.children.map((c) => c.ask({ op: 'arm', expected }, 'armed')));
  }

  /**
   * Waits until every stream got the phase's broadcasts, or `timeoutMs`, and merges the
   * children's reports: frames, losses, duplicates, streams closed, the last delivery time
   * (µs), latency percentiles (µs) and the children's CPU time (ns) during the phase.
   */
  async wait(timeoutMs) {
    const rs = await Promise.all(
      this.children.map((c) => c.ask({ op: 'wait', timeoutMs }, 'report')),
    );
    const hist = new Map();
    for (const r of rs) for (const [b, n] of r.hist) hist.set(b, (hist.get(b) ?? 0) + n);
    const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
    return {
      streams: sum('streams'),
      frames: sum('frames'),
      lost: sum('lost'),
      dups: sum('dups'),
      closed: sum('closed'),
      complete: rs.every((r) => r.complete),
      lastUs: Math.max(...rs.map((r) => r.lastUs)),
      firstUs: Math.min(...rs.map((r) => r.firstUs)),
      maxLatUs: Math.max(...rs.map((r) => r.maxLatUs)),
      p50: histPercentile(hist, 50),
      p99: histPercentile(hist, 99),
      loadCpuNs: this.children.reduce((a, c) => a + cpuNs(c.proc.pid), 0),
    };
  }

  /** CPU time of every client process so far, ns. */
  cpuNs() {
    return this.children.reduce((a, c) => a + cpuNs(c.proc.pid), 0);
  }

  /** Closes every stream and ends the children. */
  async close() {
    await Promise.all(
      this.children.map(async (c) => {
        if (c.proc.exitCode !== null) return;
        const gone = new Promise((r) => c.proc.once('exit', r));
        try {
          c.proc.send({ op: 'close' });
        } catch {}
        const t = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }),
    );
  }
}

/** Percentile (µs, bucket upper bound) of a Map bucket -> count. */
function histPercentile(hist, p) {
  const keys = [...hist.keys()].sort((a, b) => a - b);
  const total = keys.reduce((a, k) => a + hist.get(k), 0);
  if (total === 0) return NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const k of keys) {
    seen += hist.get(k);
    if (seen >= rank) return bucketTop(k);
  }
  return NaN;
}

// ------------------------------------------------------------------------------------------
// Child side.

const MARK = Buffer.from('~B');
const HELLO = 'event: hello';

function child() {
  /** Per-stream state: { sock, up, count, seen (a byte per broadcast of the phase), tail, pre } */
  const streams = [];
  let expected = 0;
  let hist = new Uint32Array(BUCKETS + 1);
  let frames = 0;
  let dups = 0;
  let closed = 0;
  let lastUs = 0;
  let firstUs = Infinity;
  let maxLatUs = 0;
  let done = 0; // streams that have all `expected` broadcasts
  let onDone = null;

  const record = (st, seq, latUs, now) => {
    // Broadcasts from concurrent senders may arrive in any order: remember each one seen.
    if (st.seen === null) return; // before the first phase
    if (seq > expected || st.seen[seq] === 1) {
      dups++;
      return;
    }
    st.seen[seq] = 1;
    frames++;
    if (now > lastUs) lastUs = now;
    if (now < firstUs) firstUs = now;
    if (latUs > maxLatUs) maxLatUs = latUs;
    hist[bucketOf(latUs)]++;
    if (++st.count === expected) {
      done++;
      if (done === streams.length && onDone) onDone();
    }
  };

  // Finds every broadcast marker in the bytes that arrived; a marker cut by the end of a read
  // is kept and completed by the next one.
  const scan = (st, chunk, now) => {
    let buf = chunk;
    if (st.tail !== null) {
      buf = Buffer.concat([st.tail, chunk]);
      st.tail = null;
    }
    const n = buf.length;
    let i = 0;
    for (;;) {
      const m = buf.indexOf(MARK, i);
      if (m === -1) {
        if (buf[n - 1] === 0x7e) st.tail = Buffer.from(buf.subarray(n - 1));
        return;
      }
      let j = m + 2;
      let seq = 0;
      while (j < n && buf[j] >= 48 && buf[j] <= 57) seq = seq * 10 + (buf[j++] - 48);
      if (j + 1 >= n) {
        st.tail = Buffer.from(buf.subarray(m));
        return;
      }
      j += 2; // "~T"
      let t = 0;
      while (j < n && buf[j] >= 48 && buf[j] <= 57) t = t * 10 + (buf[j++] - 48);
      if (j >= n) {
        st.tail = Buffer.from(buf.subarray(m));
        return;
      }
      record(st, seq, now - t, now);
      i = j + 1;
    }
  };

  let port = PORT_LO;
  const open = async (opts, cookie) => {
    if (opts.mode === 'socketio') return openSocketIo(opts);
    for (let tries = 0; ; tries++) {
      if (port > PORT_HI) return { err: 'out of client ports' };
      const r = await open1(opts, cookie, port++);
      // The port is taken (by another socket, or a TIME_WAIT 4-tuple): try the next one.
      if (r.bindErr && tries < 1000) continue;
      return r;
    }
  };
  const open1 = (opts, cookie, localPort) =>
    new Promise((resolve) => {
      const st = { sock: null, up: false, count: 0, seen: null, tail: null, pre: null };
      const hello = Buffer.from(opts.hello ?? HELLO);
      let settled = false;
      let connected = false;
      const settle = (err, code) => {
        if (settled) return;
        settled = true;
        const bindErr = !connected && (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL');
        resolve(err ? { err, bindErr } : { st });
      };
      const sock = connect({
        port: opts.port,
        host: '127.0.0.1',
        localAddress: opts.localAddress,
        localPort,
      });
      st.sock = sock;
      sock.setTimeout(60_000, () => sock.destroy(new Error('no hello within 60 s')));
      sock.on('connect', () => {
        connected = true;
        sock.write(
          `GET ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1:${opts.port}\r\nAccept: text/event-stream\r\n${
            cookie ? `Cookie: ${cookie}\r\n` : ''
          }\r\n`,
        );
      });
      sock.on('data', (chunk) => {
        if (st.up) {
          scan(st, chunk, nowUs());
          return;
        }
        st.pre = st.pre ? Buffer.concat([st.pre, chunk]) : chunk;
        if (st.pre.indexOf(hello) === -1) {
          if (st.pre.length > 65536) sock.destroy(new Error('no hello in the first 64 KiB'));
          return;
        }
        const head = st.pre.subarray(0, 16).toString('latin1');
        if (!head.startsWith('HTTP/1.1 200')) {
          sock.destroy(new Error(`status ${head}`));
          return;
        }
        st.pre = null;
        st.up = true;
        sock.setTimeout(0);
        settle();
      });
      sock.on('error', (err) => settle(err.message, err.code));
      sock.on('close', () => {
        if (st.up) closed++;
        settle('closed before hello');
      });
    });

  // A socket.io-client socket of its own (forceNew: no shared Manager), WebSocket only, no
  // reconnection; the kernel picks its client port (ws binds no local address here).
  let io;
  const openSocketIo = (opts) =>
    new Promise((resolve) => {
      io ??= socketIoClient().io;
      const st = { sock: null, up: false, count: 0, seen: null, tail: null, pre: null };
      const socket = io(`http://127.0.0.1:${opts.port}`, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        timeout: 60_000,
      });
      st.sock = { destroy: () => socket.disconnect() };
      let settled = false;
      const settle = (err) => {
        if (settled) return;
        settled = true;
        resolve(err ? { err } : { st });
      };
      socket.on('hello', () => {
        st.up = true;
        settle();
      });
      socket.on('message', (msg) => {
        const text = msg?.text;
        if (typeof text !== 'string') return;
        const now = nowUs();
        const m = /~B(\d+)~T(\d+)~/.exec(text);
        if (m) record(st, Number(m[1]), now - Number(m[2]), now);
      });
      socket.on('connect_error', (err) => settle(err.message));
      socket.on('disconnect', () => {
        if (st.up) closed++;
        settle('closed before hello');
      });
    });

  const handlers = {
    async connect(msg) {
      const errors = [];
      let ok = 0;
      let failed = 0;
      let next = 0;
      const worker = async () => {
        while (next < msg.count) {
          const k = next++;
          const cookie = msg.cookies.length ? msg.cookies[k % msg.cookies.length] : undefined;
          const r = await open(msg, cookie);
          if (r.st) {
            streams.push(r.st);
            ok++;
          } else {
            failed++;
            if (errors.length < 5) errors.push(r.err);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(msg.concurrency, msg.count) }, worker));
      return { op: 'connected', ok, failed, errors };
    },
    async arm(msg) {
      expected = msg.expected;
      hist = new Uint32Array(BUCKETS + 1);
      frames = dups = closed = done = 0;
      lastUs = maxLatUs = 0;
      firstUs = Infinity;
      for (const st of streams) {
        st.count = 0;
        st.seen = new Uint8Array(expected + 1);
      }
      return { op: 'armed' };
    },
    async wait(msg) {
      let complete = done === streams.length;
      if (!complete) {
        complete = await new Promise((resolve) => {
          const t = setTimeout(() => resolve(false), msg.timeoutMs);
          onDone = () => {
            clearTimeout(t);
            resolve(true);
          };
        });
        onDone = null;
      }
      let lost = 0;
      for (const st of streams) if (st.count < expected) lost += expected - st.count;
      const out = [];
      for (let b = 0; b <= BUCKETS; b++) if (hist[b]) out.push([b, hist[b]]);
      return {
        op: 'report',
        streams: streams.length,
        frames,
        lost,
        dups,
        closed,
        complete,
        lastUs,
        firstUs: firstUs === Infinity ? 0 : firstUs,
        maxLatUs,
        hist: out,
      };
    },
    async close() {
      for (const st of streams) st.sock.destroy();
      process.exit(0);
    },
  };

  process.on('message', (msg) => {
    handlers[msg.op](msg).then((reply) => process.send(reply));
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--child')) child();
