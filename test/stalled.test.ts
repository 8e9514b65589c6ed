// 1,000 stalled readers while broadcasts flow: streams that are opened and never read again.
// The server (a child process, --max-queue-bytes 65536) must close every one of them as a slow
// reader, keep its memory within what that bound allows, and keep delivering to a reader that
// does read, promptly and completely.
//
// The stalled clients are a python3 child (CI has it: better-sqlite3's build needs it), since
// node cannot set a socket's buffers: each socket gets a small receive buffer and, above all, a
// small MSS (TCP_MAXSEG 536). On loopback the MSS is 64 KiB, and Linux sizes a connection's send
// buffer from it, to tcp_wmem's maximum (4 MiB): 1,000 stalled loopback streams would pin about
// 4 GB of kernel memory on this shared box before node's own queue even starts to grow. With
// the small MSS a stalled stream holds about 100 KB in the kernel.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { killChild, NO_LIMIT_FLAGS, rssKiB, session, spawnServer } from './helpers.js';
import { waitUntil } from './wait-until.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-stalled-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const STALLED = 1000;
/** Users of the stalled streams (100 streams each): few users keep join/leave traffic small. */
const STALLED_USERS = 10;
const MAX_QUEUE_BYTES = 65_536;
/**
 * Broadcasts sent, of TEXT_BYTES each. Concurrent sends share a commit and reach a stream in
 * one write, and a write the kernel does not take at once counts against the stream's queue:
 * CONCURRENCY × TEXT_BYTES stays well under MAX_QUEUE_BYTES, so that a reader that does read
 * is never over it.
 */
const BROADCASTS = 6000;
const TEXT_BYTES = 8_000;
/** Broadcasts in flight at once. */
const CONCURRENCY = 4;
/**
 * The server's V8 semi-space, pinned (--max-semi-space-size, in MiB) so that the garbage
 * collector's slack is a number this test states rather than the runtime's choice. V8 grows
 * its young generation (two semi-spaces) under a high allocation rate, as this flood is, up to
 * a maximum that Node 20 fixes at 16 MiB a semi-space but newer V8s derive from the heap limit,
 * hence from the machine's memory (Node's docs for --max-semi-space-size): on a 24 GB machine
 * Node 24 grew it to 64 MiB a semi-space, 96 MiB more RSS than Node 20 for garbage that is
 * already dead, and failed the bound. 16 is Node 20's default, so pinning changes nothing there.
 */
const SEMI_SPACE_MIB = 16;
/**
 * The memory bound: every stalled stream may queue up to --max-queue-bytes before it is cut,
 * so RSS may grow by STALLED × MAX_QUEUE_BYTES (62.5 MiB) over its level once all streams are
 * open, plus the young generation (2 × SEMI_SPACE_MIB = 32 MiB) for the garbage collector's
 * slack. A server that kept queueing for the stalled streams would cross it: 6,000 broadcasts ×
 * 1,000 streams is 6 million queued writes of about 100 bytes of bookkeeping each, on top of
 * the 48 MB of messages they hold.
 */
const RSS_BOUND_KIB = (STALLED * MAX_QUEUE_BYTES) / 1024 + 2 * SEMI_SPACE_MIB * 1024;
/** p99 from POST to arrival at the reading client, with CONCURRENCY broadcasts in flight. */
const P99_BOUND_MS = 250;

// The stalled clients. stdin: a JSON list of raw requests, one socket each. Prints "ready N"
// (N = sockets answered 200), then waits for stdin to close, then reads every socket to its
// end (for at most 20 s) and prints "closed N" (N = sockets the server closed).
const PYTHON = `
import json, select, socket, sys, time
port = int(sys.argv[1])
socks = []
for raw in json.loads(sys.stdin.readline()):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    s.connect(('127.0.0.1', port))
    s.sendall(raw.encode())
    socks.append(s)
ok = 0
for s in socks:
    head = b''
    while b'\\r\\n\\r\\n' not in head:
        head += s.recv(1)
    ok += head.startswith(b'HTTP/1.1 200 ')
print('ready', ok, flush=True)
sys.stdin.read()
open_ = set(socks)
deadline = time.time() + 20
while open_ and time.time() < deadline:
    readable, _, _ = select.select(list(open_), [], [], 1)
    for s in readable:
        try:
            data = s.recv(65536)
        except OSError:
            data = b''
        if not data:
            open_.discard(s)
print('closed', len(socks) - len(open_), flush=True)
`;

/** The reading client: a JSON API stream; records each broadcast's delivery latency. */
class Reader {
  readonly latencies: number[] = [];
  readonly leaves = new Set<string>();
  hello = false;
  closed = false;
  private buffer = '';

  constructor(port: number, cookie: string) {
    const sock = connect(port, '127.0.0.1', () =>
      sock.write(
        `GET /api/v1/events HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nAccept: text/event-stream\r\n\r\n`,
      ),
    );
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.receive(d));
    sock.on('close', () => {
      this.closed = true;
    });
    this.close = () => sock.destroy();
  }

  readonly close: () => void;

  private receive(chunk: string): void {
    const now = performance.now();
    this.buffer += chunk;
    let end = this.buffer.indexOf('\n\n');
    while (end !== -1) {
      const frame = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const type = /^event: (\w+)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '';
      if (type === 'hello') this.hello = true;
      if (type === 'leave') this.leaves.add(JSON.parse(data).user);
      if (type === 'message') {
        // The text starts with the send time (this process's clock): `<ms>|xxxx…`.
        const text: string = JSON.parse(data).text;
        this.latencies.push(now - Number(text.slice(0, text.indexOf('|'))));
      }
      end = this.buffer.indexOf('\n\n');
    }
  }
}

function broadcast(port: number, agent: Agent, cookie: string): Promise<number> {
  const body = JSON.stringify({
    to: 'all',
    text: `${performance.now().toFixed(3)}|${'x'.repeat(TEXT_BYTES)}`,
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/messages',
        agent,
        headers: { Cookie: cookie, 'Content-Type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('1,000 stalled readers are cut at their queue bound; memory and a reader stay fine', {
  timeout: 90_000,
}, async (t) => {
  const server = await spawnServer(
    dir,
    [
      ...['--presence-grace-ms', '0'],
      ...['--max-queue-bytes', String(MAX_QUEUE_BYTES), '--max-message-length', '100000'],
      ...NO_LIMIT_FLAGS,
    ],
    { nodeArgs: [`--max-semi-space-size=${SEMI_SPACE_MIB}`] },
  );
  const pid = server.child.pid as number;
  const py = spawn('python3', ['-c', PYTHON, String(server.port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let pyOut = '';
  py.stdout.setEncoding('utf8');
  py.stdout.on('data', (d: string) => {
    pyOut += d;
  });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let reader: Reader | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const users = Array.from({ length: STALLED_USERS }, (_, i) => `stalled${i}`);
    const cookies = new Map<string, string>();
    for (const nick of [...users, 'reader', 'sender']) {
      cookies.set(nick, (await session(server.url, nick)).Cookie ?? '');
    }
    const requests = Array.from(
      { length: STALLED },
      (_, i) =>
        `GET /api/v1/events HTTP/1.1\r\nHost: x\r\nCookie: ${cookies.get(users[i % STALLED_USERS] as string)}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    py.stdin.write(`${JSON.stringify(requests)}\n`);
    await waitUntil('the stalled streams', () => pyOut.includes('ready'), 30_000, 50);
    assert.match(pyOut, new RegExp(`ready ${STALLED}\\n`), 'every stalled stream answered 200');

    reader = new Reader(server.port, cookies.get('reader') ?? '');
    const r = reader;
    await waitUntil('the reader', () => r.hello, 5_000, 50);
    await sleep(1000);
    const baseline = rssKiB(pid);
    let peak = baseline;
    sampler = setInterval(() => {
      peak = Math.max(peak, rssKiB(pid));
    }, 50);

    const started = performance.now();
    const sender = cookies.get('sender') ?? '';
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < BROADCASTS) {
          next++;
          statuses.push(await broadcast(server.port, agent, sender));
        }
      }),
    );
    await waitUntil(
      'every broadcast at the reader',
      () => r.latencies.length >= BROADCASTS || r.closed,
      20_000,
      50,
    );
    const floodMs = performance.now() - started;
    clearInterval(sampler);
    peak = Math.max(peak, rssKiB(pid));

    assert.ok(
      statuses.every((s) => s === 201),
      `statuses: ${[...new Set(statuses)]}`,
    );
    assert.ok(!r.closed, `the reader was cut off after ${r.latencies.length} broadcasts`);
    assert.equal(r.latencies.length, BROADCASTS, 'the reader got every broadcast, once');
    const sorted = [...r.latencies].sort((a, b) => a - b);
    const p = (q: number): number => sorted[Math.ceil(q * sorted.length) - 1] ?? Number.NaN;
    const growth = peak - baseline;
    t.diagnostic(
      `${BROADCASTS} broadcasts of ${TEXT_BYTES} B in ${(floodMs / 1000).toFixed(1)} s; ` +
        `reader latency p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms, max ${p(1).toFixed(1)} ms; ` +
        `server RSS ${(baseline / 1024).toFixed(1)} MiB with every stream open, peak ` +
        `${(peak / 1024).toFixed(1)} MiB (+${(growth / 1024).toFixed(1)} MiB, bound +${(RSS_BOUND_KIB / 1024).toFixed(1)} MiB)`,
    );
    assert.ok(growth <= RSS_BOUND_KIB, `RSS grew by ${growth} KiB, bound ${RSS_BOUND_KIB} KiB`);
    assert.ok(p(0.99) <= P99_BOUND_MS, `reader p99 ${p(0.99).toFixed(1)} ms > ${P99_BOUND_MS} ms`);
    const slowClosed = server.output().match(/"msg":"slow reader closed"/g)?.length ?? 0;
    assert.equal(slowClosed, STALLED, 'every stalled stream was closed as a slow reader');
    await waitUntil(
      'a leave for every stalled user',
      () => r.leaves.size === STALLED_USERS,
      5_000,
      50,
    );

    // The server really closed the stalled connections: each one reads to its end.
    py.stdin.end();
    await waitUntil('the stalled clients to drain', () => pyOut.includes('closed'), 30_000, 50);
    assert.match(pyOut, new RegExp(`closed ${STALLED}\\n`));
  } finally {
    clearInterval(sampler);
    reader?.close();
    agent.destroy();
    py.kill('SIGKILL');
    await killChild(server.child, 'SIGKILL');
  }
});
