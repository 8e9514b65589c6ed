// bench/lib/http.mjs -- the HTTP side of a benchmark: free ports and waiting for a listener,
// JSON API calls and logins, a lean SSE frame reader, and one SSE receiver that counts the
// messages it gets. Loopback only (127.0.0.1).
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { sleep } from './process.mjs';

/**
 * A loopback port nothing listens on now (the kernel picks it, in the ephemeral range). Other
 * benchmarks run on this box at the same time, so fixed ports collide; a tiny race remains
 * until the server binds.
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** True if something accepts TCP connections on host:port. */
export function portOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = connect({ port, host }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Rejects when something accepts connections on host:port: it would be measured in our place. */
export async function assertPortFree(port, host = '127.0.0.1') {
  if (await portOpen(port, host))
    throw new Error(`port ${port} is already in use: refusing to benchmark whatever is there`);
}

/**
 * Resolves once something accepts TCP connections on host:port; rejects after `timeoutMs`, or
 * as soon as `proc` (the server meant to listen there) has exited.
 */
export async function waitForPort(port, host = '127.0.0.1', timeoutMs = 10_000, proc) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode})`);
    if (await portOpen(port, host)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port}`);
    await sleep(100);
  }
}

/**
 * One HTTP request with a JSON body; resolves `{ status, headers, body }` (body parsed when it
 * is JSON, else the text). `opts` may carry `cookie`, `agent`, `localAddress`, `headers` (more
 * request headers) and `timeoutMs` (socket idle time, default 30 s).
 */
export function api(port, method, path, json, opts = {}) {
  const body = json === undefined ? undefined : JSON.stringify(json);
  const headers = { ...opts.headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  if (opts.cookie) headers.Cookie = opts.cookie;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers,
        agent: opts.agent,
        localAddress: opts.localAddress,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          let parsed = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () =>
      req.destroy(new Error(`${method} ${path}: timeout`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Logs `nick` in (open mode) and returns the `ssechat_session=…` cookie pair. `opts` are api()'s
 * (an `agent`, a `localAddress`, or `headers` such as X-Forwarded-For for a --trust-proxy
 * server: logins are limited per address).
 */
export async function login(port, nick, opts = {}) {
  const r = await api(port, 'POST', '/api/v1/session', { nick }, opts);
  if (r.status !== 201)
    throw new Error(`POST /api/v1/session ${nick}: ${r.status} ${JSON.stringify(r.body)}`);
  const set = [].concat(r.headers['set-cookie'] ?? []);
  const pair = set.map((c) => c.split(';')[0]).find((c) => c.startsWith('ssechat_session='));
  if (!pair) throw new Error(`POST /api/v1/session ${nick}: no session cookie`);
  return pair;
}

/**
 * A lean reader of one SSE response: calls `onFrame(event, id, data)` per frame, where `id` is
 * the frame's `id:` as a number (undefined when absent) and `data` the joined data lines. Only
 * what the benchmarks need: no BOM or bare-CR handling (ssechat writes LF only). Keeps a scan
 * offset so that a large frame arriving in many chunks is not rescanned from its start.
 */
export class SseReader {
  constructor(onFrame, { wantData = true } = {}) {
    this.onFrame = onFrame;
    this.wantData = wantData;
    this.buf = '';
    this.scan = 0;
    /** The last `retry:` value seen, in ms. */
    this.retry = undefined;
  }

  /** Feeds one chunk of the response; calls onFrame for every frame it completes. */
  push(chunk) {
    this.buf += chunk;
    for (;;) {
      const end = this.buf.indexOf('\n\n', this.scan);
      if (end === -1) {
        this.scan = Math.max(0, this.buf.length - 1);
        return;
      }
      const frame = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + 2);
      this.scan = 0;
      this.frame(frame);
    }
  }

  /** Parses one frame's text (without its blank line) and hands it to onFrame. */
  frame(text) {
    let event = 'message';
    let id;
    let data;
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl === -1) nl = text.length;
      const c = text.charCodeAt(pos);
      if (c === 58 /* ':' comment */) {
        // heartbeat
      } else if (text.startsWith('id: ', pos)) {
        id = Number(text.slice(pos + 4, nl));
      } else if (text.startsWith('event: ', pos)) {
        event = text.slice(pos + 7, nl);
      } else if (text.startsWith('retry: ', pos)) {
        this.retry = Number(text.slice(pos + 7, nl));
      } else if (this.wantData && text.startsWith('data: ', pos)) {
        const d = text.slice(pos + 6, nl);
        data = data === undefined ? d : `${data}\n${d}`;
      }
      pos = nl + 1;
    }
    if (id === undefined && event === 'message' && data === undefined) return; // comment only
    this.onFrame(event, id, data);
  }
}

/**
 * One SSE stream on `port` with `cookie`, keeping the id of every message it gets. With `lags`
 * it also parses each message's `ts` and keeps its delivery lag (ms resolution: from the
 * server's timestamp, taken when the message was appended, to its arrival here); without, the
 * data lines are not even read, so that the receiver costs the load CPU as little as it can.
 */
export function openReceiver(port, cookie, { lags: withLags = false } = {}) {
  let ids = [];
  let lags = [];
  let last = 0;
  let waiter = null;
  let hello;
  const helloSeen = new Promise((resolve) => {
    hello = resolve;
  });
  const reader = new SseReader(
    (event, id, data) => {
      if (event === 'hello') hello();
      if (event !== 'message' || id === undefined) return;
      ids.push(id);
      if (withLags) {
        const ts = /"ts":(\d+)/.exec(data ?? '');
        if (ts) lags.push(Date.now() - Number(ts[1]));
      }
      if (id > last) last = id;
      if (waiter && last >= waiter.id) {
        waiter.resolve();
        waiter = null;
      }
    },
    { wantData: withLags },
  );
  const req = request(
    {
      host: '127.0.0.1',
      port,
      path: '/api/v1/events',
      headers: { Cookie: cookie, Accept: 'text/event-stream' },
      agent: false,
    },
    (res) => {
      if (res.statusCode !== 200) throw new Error(`receiver: GET /api/v1/events ${res.statusCode}`);
      res.setEncoding('utf8');
      res.on('data', (d) => reader.push(d));
    },
  );
  req.on('error', (err) => {
    if (!req.destroyed || err.code !== 'ECONNRESET')
      process.stderr.write(`receiver ${port}: ${err.message}\n`);
  });
  req.end();
  return {
    port,
    /** Resolves when the stream's `hello` arrived. */
    ready: helloSeen,
    /** Every message id received since the last take(). */
    get ids() {
      return ids;
    },
    /** Resolves once message `id` arrived, or after `ms` (the caller then counts the loss). */
    waitFor(id, ms) {
      if (last >= id) return Promise.resolve();
      return Promise.race([
        new Promise((resolve) => {
          waiter = { id, resolve };
        }),
        sleep(ms),
      ]);
    },
    /** The ids and delivery lags received so far, forgetting them. */
    take() {
      const out = { ids, lags };
      ids = [];
      lags = [];
      return out;
    },
    /** Closes the stream. */
    close: () => req.destroy(),
  };
}
