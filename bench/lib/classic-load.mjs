// bench/lib/classic-load.mjs -- the client side of bench/classic-crowd.mjs: many classic
// streams (`GET /<nick>`, the seed's protocol) of distinct nicks over raw loopback sockets,
// spread over child processes, each on its own 127.0.0.x source address with client ports it
// picks itself (as bench/lib/sse-load.mjs does, and for the same reasons).
//
// Every nick is `c` and 5 digits, so that every `data: cNNNNN has joined.\n\n` frame is
// JOIN_BYTES long: after its greeting, a stream counts joins by stepping from frame to frame
// (one byte looked at per frame; a heartbeat comment `:\n\n` is stepped over), not by parsing.
// The greeting's `now online: a, b, …` line gives how many were online before it, by its
// length. A stream has everyone once joins + online >= N - 1. One stream in SAMPLE keeps its
// bytes and is checked exactly at the end: every other nick named once, in the greeting or
// in a join, and no join twice.
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startLoadChild } from './load-child.mjs';
import { cpuNs } from './measure.mjs';

/** Streams per client process (a process may hold at most ~20,000 files here). */
export const MAX_PER_CHILD = 5000;
/** Every SAMPLE-th stream keeps its bytes for the exact check. */
const SAMPLE = 100;
/** The nick of stream `i`: fixed width, so that every join frame has the same length. */
export const nickOf = (i) => `c${String(i).padStart(5, '0')}`;
const JOIN_BYTES = `data: ${nickOf(0)} has joined.\n\n`.length;
/** `c00000, ` in the online list. */
const LISTED_BYTES = nickOf(0).length + 2;
const ONLINE = Buffer.from('data: now online: ');
const END = Buffer.from('\n\n');
const PORT_LO = 20000;
const PORT_HI = 32767;

/** Monotonic microseconds, comparable across processes of this box. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

// ------------------------------------------------------------------------------------------
// Parent side.

/** Client processes holding classic streams. */
export class ClassicFleet {
  constructor(children) {
    this.children = children;
  }

  /** Starts enough client processes for `total` streams, pinned to the load CPU. */
  static async start(total) {
    const self = fileURLToPath(import.meta.url);
    const kids = [];
    for (let i = 0; i < Math.max(1, Math.ceil(total / MAX_PER_CHILD)); i++) {
      kids.push(startLoadChild(self));
    }
    return new ClassicFleet(kids);
  }

  /**
   * Opens streams for nicks 0..total-1, split over the children, at most `concurrency` of
   * them awaiting their greeting at once (over all children), and waits until every stream
   * has every other nick, or `timeoutMs`. Times are µs after the start.
   */
  async run({ port, total, concurrency, timeoutMs }) {
    const n = this.children.length;
    const t0 = nowUs();
    const cpu0 = this.cpuNs();
    let lo = 0;
    const rs = await Promise.all(
      this.children.map((c, i) => {
        const count = Math.floor(total / n) + (i < total % n ? 1 : 0);
        lo += count;
        return c.ask(
          {
            op: 'run',
            port,
            lo: lo - count,
            hi: lo,
            total,
            t0,
            localAddress: c.address,
            concurrency: Math.max(1, Math.floor(concurrency / n)),
            timeoutMs,
          },
          'report',
        );
      }),
    );
    const sum = (k) => rs.reduce((a, r) => a + r[k], 0);
    return {
      greeted: sum('greeted'),
      settled: sum('settled'),
      failed: sum('failed'),
      closed: sum('closed'),
      bad: sum('bad'),
      joins: sum('joins'),
      sampled: sum('sampled'),
      sampleMissing: sum('sampleMissing'),
      sampleDups: sum('sampleDups'),
      connectUs: Math.max(...rs.map((r) => r.connectUs)),
      settleUs: Math.max(...rs.map((r) => r.settleUs)),
      errors: rs.flatMap((r) => r.errors),
      loadCpuNs: this.cpuNs() - cpu0,
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

// ------------------------------------------------------------------------------------------
// Child side.

function child() {
  const socks = [];
  let port = PORT_LO;

  async function run(msg) {
    const { lo, hi, total, t0 } = msg;
    const count = hi - lo;
    const errors = [];
    let greeted = 0;
    let settled = 0;
    let failed = 0;
    let closed = 0;
    let bad = 0;
    let joins = 0;
    let connectUs = 0;
    let settleUs = 0;
    const sampled = [];
    let finish;
    const finished = new Promise((r) => {
      finish = r;
    });
    const maybeDone = () => {
      if (settled + failed + closed >= count) finish();
    };
    const settle = (st) => {
      if (st.settled || st.online + st.joins < total - 1) return;
      st.settled = true;
      settled++;
      settleUs = Math.max(settleUs, nowUs() - t0);
      maybeDone();
    };

    // Counts the join frames of bytes after the greeting: one byte looked at per frame.
    const count1 = (st, buf, from) => {
      if (st.keep) st.keep.push(Buffer.from(buf.subarray(from)));
      const n = buf.length;
      let i = from + st.skip;
      while (i < n) {
        const b = buf[i];
        if (b === 0x64) {
          st.joins++;
          joins++;
          i += JOIN_BYTES;
        } else if (b === 0x3a) {
          i += 3; // a heartbeat comment
        } else {
          bad++;
          st.sock.destroy();
          return;
        }
      }
      st.skip = i - n;
      settle(st);
    };

    const greeting = (st, chunk) => {
      st.pre = st.pre ? Buffer.concat([st.pre, chunk]) : chunk;
      const at = st.pre.indexOf(ONLINE);
      if (at === -1) return;
      const end = st.pre.indexOf(END, at);
      if (end === -1) return;
      if (!st.pre.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 200')) {
        st.sock.destroy(new Error(`status ${st.pre.subarray(0, 40).toString('latin1')}`));
        return;
      }
      const list = end - at - ONLINE.length;
      st.online = list === 0 ? 0 : (list + 2) / LISTED_BYTES;
      if (st.keep) st.keep.push(Buffer.from(st.pre.subarray(at, end + 2)));
      const rest = st.pre;
      st.pre = null;
      st.up = true;
      greeted++;
      connectUs = Math.max(connectUs, nowUs() - t0);
      st.sock.setTimeout(0);
      st.opened();
      count1(st, rest, end + 2);
    };

    const open1 = (i, localPort) =>
      new Promise((resolve) => {
        const st = {
          sock: null,
          nick: nickOf(i),
          up: false,
          settled: false,
          pre: null,
          online: 0,
          joins: 0,
          skip: 0,
          keep: i % SAMPLE === 0 ? [] : null,
          opened: resolve,
        };
        let connected = false;
        const sock = connect({
          port: msg.port,
          host: '127.0.0.1',
          localAddress: msg.localAddress,
          localPort,
        });
        st.sock = sock;
        socks.push(sock);
        sock.setTimeout(msg.timeoutMs, () => sock.destroy(new Error('no greeting in time')));
        sock.on('connect', () => {
          connected = true;
          sock.write(
            `GET /${st.nick} HTTP/1.1\r\nHost: 127.0.0.1:${msg.port}\r\nAccept: text/event-stream\r\n\r\n`,
          );
        });
        sock.on('data', (chunk) => (st.up ? count1(st, chunk, 0) : greeting(st, chunk)));
        sock.on('error', (err) => {
          if (!st.up) {
            const again = !connected && (err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL');
            resolve({ again, err: err.message });
          }
        });
        sock.on('close', () => {
          if (st.up) {
            closed++;
            maybeDone();
          } else resolve({ err: 'closed before the greeting' });
        });
        if (st.keep) sampled.push(st);
      });

    let next = lo;
    let late = false;
    const worker = async () => {
      // Past the time limit, no new stream: the run ends and reports what it has.
      while (next < hi && !late) {
        const i = next++;
        for (let tries = 0; ; tries++) {
          if (port > PORT_HI) {
            failed++;
            break;
          }
          const r = await open1(i, port++);
          if (r === undefined) break;
          if (r.again && tries < 1000) continue;
          failed++;
          if (errors.length < 5) errors.push(r.err);
          maybeDone();
          break;
        }
      }
    };
    const timer = setTimeout(() => {
      late = true;
      finish();
    }, msg.timeoutMs);
    await Promise.all(Array.from({ length: Math.min(msg.concurrency, count) }, worker));
    await finished;
    clearTimeout(timer);

    // The exact check of the sampled streams: every other nick once, in the greeting's list
    // or in a join; a join of a nick already joined is a duplicate. (A nick both listed and
    // joined is not: it was online when the stream logged in, and its join was announced
    // after the stream had joined the Hub.)
    let sampleMissing = 0;
    let sampleDups = 0;
    for (const st of sampled) {
      if (!st.up) continue;
      const text = Buffer.concat(st.keep).toString('latin1');
      const listed = new Uint8Array(total);
      const joined = new Uint8Array(total);
      const [online, ...frames] = text.split('\n\n');
      const names = online.slice('data: now online: '.length);
      if (names !== '') for (const nm of names.split(', ')) listed[Number(nm.slice(1))] = 1;
      for (const f of frames) {
        const m = /^data: c(\d+) has joined\.$/.exec(f);
        if (!m) continue;
        const k = Number(m[1]);
        if (joined[k]) sampleDups++;
        joined[k] = 1;
      }
      const self = Number(st.nick.slice(1));
      for (let k = 0; k < total; k++) if (k !== self && !listed[k] && !joined[k]) sampleMissing++;
    }
    return {
      op: 'report',
      greeted,
      settled,
      failed,
      closed,
      bad,
      joins,
      sampled: sampled.length,
      sampleMissing,
      sampleDups,
      connectUs,
      settleUs,
      errors,
    };
  }

  process.on('message', (msg) => {
    if (msg.op === 'close') {
      for (const s of socks) s.destroy();
      process.exit(0);
    }
    run(msg).then((reply) => process.send(reply));
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--child')) child();
