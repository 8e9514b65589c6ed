import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, configWith } from '../src/config.js';
import { type LogFields, type Logger, silentLogger } from '../src/logger.js';
import { type RunningServer, startServer } from '../src/main.js';

/** The data directories of running test servers, removed at exit if a test left one open. */
const tempDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts a real ssechat on 127.0.0.1 and a free port, silent, on the default engine: SQLite,
 * in a fresh temporary directory (never the CLI's `./data` in the repository) that goes when
 * the server closes, unless `overrides` names a store or a data directory of its own.
 */
export async function startTestServer(
  overrides: Partial<Config> = {},
  logger: Logger = silentLogger,
): Promise<RunningServer> {
  const ownDir =
    (overrides.store ?? 'sqlite') === 'sqlite' && overrides.dataDir === undefined
      ? mkdtempSync(join(tmpdir(), 'ssechat-test-'))
      : undefined;
  const config = configWith({
    port: 0,
    store: 'sqlite',
    logLevel: 'silent',
    ...(ownDir !== undefined && { dataDir: ownDir }),
    ...overrides,
  });
  if (ownDir === undefined) return startServer(config, logger);
  tempDirs.add(ownDir);
  const removeDir = (): void => {
    rmSync(ownDir, { recursive: true, force: true });
    tempDirs.delete(ownDir);
  };
  let running: RunningServer;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    removeDir();
    throw err;
  }
  return {
    ...running,
    close: () => running.close().finally(removeDir),
  };
}

/**
 * Every per-user and per-address rate and stream limit off, for tests that send or connect
 * fast or hold many streams of one user from one address (loopback).
 */
export const NO_LIMITS = {
  sendLimitUser: null,
  sendLimitIp: null,
  connectLimitUser: null,
  connectLimitIp: null,
  maxStreamsPerUser: 0,
  maxConnectionsPerIp: 0,
} as const satisfies Partial<Config>;

/** The same as command-line flags, for a server started as a child process. */
export const NO_LIMIT_FLAGS: readonly string[] = [
  ...['--send-limit-user', '0', '--send-limit-ip', '0'],
  ...['--connect-limit-user', '0', '--connect-limit-ip', '0'],
  ...['--max-streams-per-user', '0'],
  ...['--max-connections-per-ip', '0'],
];

/** A logged line, as a recording logger keeps it. */
export interface LoggedLine {
  readonly level: 'warn' | 'error';
  readonly msg: string;
  readonly fields?: LogFields;
}

/** A silent logger that keeps what was logged at warn and error level. */
export function recordingLogger(): Logger & { readonly lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  return {
    ...silentLogger,
    lines,
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, fields }),
  };
}

/** A raw connection to `port` that keeps what it received; `closed` once the server closed it. */
export function rawSocket(port: number): {
  sock: Socket;
  text: () => string;
  closed: () => boolean;
} {
  const sock = connect(port, '127.0.0.1');
  let got = '';
  let closed = false;
  sock.setEncoding('latin1');
  sock.on('data', (d: string) => {
    got += d;
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    closed = true;
  });
  return { sock, text: () => got, closed: () => closed };
}

/** An ssechat child process. */
export interface ChildServer {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  /** Everything the child wrote on stdout so far (its JSON log lines). */
  output(): string;
}

/**
 * Starts `ssechat` (bin/ssechat.js) as a child process on a free port with `args`; with
 * `fileLimit`, under that limit on open files (`ulimit -n`, soft and hard: node raises its
 * soft limit to the hard one at start). `nodeArgs` go to node itself, before the script (V8
 * flags such as `--max-semi-space-size`).
 */
export function spawnServer(
  dataDir: string,
  args: readonly string[] = [],
  { fileLimit, nodeArgs = [] }: { fileLimit?: number; nodeArgs?: readonly string[] } = {},
): Promise<ChildServer> {
  const bin = new URL('../../bin/ssechat.js', import.meta.url).pathname;
  const argv = [process.execPath, ...nodeArgs, bin, '--port', '0', '--data-dir', dataDir, ...args];
  const [cmd, ...rest] =
    fileLimit === undefined
      ? argv
      : ['sh', '-c', `ulimit -n ${fileLimit} && exec "$@"`, 'sh', ...argv];
  const child = spawn(cmd as string, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    // The "listening" line is logged at info: a --log-level above it never shows it.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening" line: ${out}`));
    }, 10_000);
    let listening = false;
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const url = listening ? undefined : /"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(out)?.[1];
      if (url) {
        listening = true;
        clearTimeout(timer);
        resolve({ child, url, port: Number(new URL(url).port), output: () => out });
      }
    });
    child.on('exit', (code) => reject(new Error(`ssechat exited early (${code}): ${out}`)));
  });
}

/** Kills a child with `signal` and resolves with its exit code once it is gone. */
export function killChild(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  child.kill(signal);
  return exited;
}

/** VmRSS of a process, in KiB, from /proc. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
}

/**
 * Writes `bytes` to a fresh loopback connection and resolves with every byte the server sent
 * back (as latin1) once it closed the connection, or once it has been silent for `idleMs`, or
 * after `maxMs` in all. `end` half-closes after writing, as a client with nothing more to send.
 */
export function rawExchange(
  port: number,
  bytes: Buffer,
  { end = true, idleMs = 200, maxMs = 3000 } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    let idle: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(idle);
      clearTimeout(cap);
      sock.destroy();
      resolve(got);
    };
    const quiet = (): void => {
      clearTimeout(idle);
      idle = setTimeout(done, idleMs);
    };
    const cap = setTimeout(done, maxMs);
    sock.setEncoding('latin1');
    sock.on('connect', () => {
      sock.write(bytes);
      if (end) sock.end();
      quiet();
    });
    sock.on('data', (d: string) => {
      got += d;
      quiet();
    });
    sock.on('close', done);
    // A reset (the server cut a request it refused) ends the exchange like a close.
    sock.on('error', done);
  });
}

/** A complete HTTP response. */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request over a fresh connection; `path` is sent exactly as given. */
export function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * One GET of `url` over `agent` (keep-alive, for floods of sends), its body discarded; resolves
 * with the status.
 */
export function getVia(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An event as a client sees it: the joined `data:` lines and the last `id:`, if any. */
export interface SseEvent {
  readonly id: string | undefined;
  /** The `event:` field, 'message' when absent (as EventSource does). */
  readonly type: string;
  readonly data: string;
}

/**
 * A raw SSE client over node:http. It keeps every byte received, so tests can check framing
 * byte for byte, and parses events as the EventSource spec does.
 */
export class SseClient {
  raw = '';
  readonly events: SseEvent[] = [];
  comments = 0;
  private buffer = '';
  private waiters: Array<() => void> = [];
  private ended = false;

  private constructor(
    readonly status: number,
    readonly headers: Record<string, string | string[] | undefined>,
    private readonly destroy: () => void,
  ) {}

  /** Opens `GET path` with `Accept: text/event-stream`; resolves once headers arrived. */
  static open(
    base: string,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${base}/`,
        { path, agent: false, headers: { Accept: 'text/event-stream', ...headers } },
        (res) => {
          const client = new SseClient(res.statusCode ?? 0, res.headers, () => req.destroy());
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => client.receive(chunk));
          res.on('end', () => client.finish());
          res.on('error', () => client.finish());
          res.on('close', () => client.finish());
          resolve(client);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** The `data` of every event so far. */
  get lines(): string[] {
    return this.events.map((e) => e.data);
  }

  /** The parsed JSON data of every event of this type so far (JSON API streams). */
  // biome-ignore lint/suspicious/noExplicitAny: test assertions check the shape themselves
  of(type: string): any[] {
    return this.events.filter((e) => e.type === type).map((e) => JSON.parse(e.data));
  }

  /** True once the server ended the stream. */
  get closed(): boolean {
    return this.ended;
  }

  /** Resolves when `predicate` holds; rejects after `timeoutMs` with what was received. */
  async waitFor(predicate: (c: SseClient) => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out; received so far:\n${JSON.stringify(this.raw)}`);
      }
      await new Promise<void>((ok) => {
        const timer = setTimeout(ok, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          ok();
        });
      });
    }
  }

  /** Waits until an event with exactly this data has arrived. */
  waitForLine(data: string, timeoutMs?: number): Promise<void> {
    return this.waitFor((c) => c.lines.includes(data), timeoutMs);
  }

  /** Drops the connection, as a closed browser tab would. */
  close(): void {
    this.destroy();
  }

  private receive(chunk: string): void {
    this.raw += chunk;
    this.buffer += chunk;
    // Our server only writes LF line endings; a frame ends at a blank line.
    let end = this.buffer.indexOf('\n\n');
    while (end !== -1) {
      this.parse(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end + 2);
      end = this.buffer.indexOf('\n\n');
    }
    this.wake();
  }

  private parse(frame: string): void {
    let id: string | undefined;
    let type = 'message';
    const data: string[] = [];
    let comment = true;
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue;
      comment = false;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      if (field === 'id') id = value;
      if (field === 'event') type = value;
    }
    if (comment) this.comments++;
    else if (data.length > 0) this.events.push({ id, type, data: data.join('\n') });
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Sends a broadcast and waits until every given client has it. Whatever a client shows before
 * the marker was delivered before it, so a test can assert that something did *not* arrive.
 */
export async function barrier(base: string, clients: SseClient[], tag: string): Promise<void> {
  const reply = await get(base, `/msg/barrier/all%20${encodeURIComponent(tag)}`);
  if (reply.status !== 204) throw new Error(`barrier send failed: ${reply.status} ${reply.body}`);
  await Promise.all(clients.map((c) => c.waitForLine(`barrier to all: ${tag}`)));
}

/** A JSON API response. */
export interface JsonReply extends Reply {
  /** The parsed body; undefined when it was empty. */
  // biome-ignore lint/suspicious/noExplicitAny: test assertions check the shape themselves
  readonly json: any;
}

/**
 * One JSON API request over a fresh connection. A body is sent as application/json unless
 * `headers` set another Content-Type.
 */
export function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const all: Record<string, string> = { ...headers };
    if (payload !== undefined) {
      all['Content-Type'] ??= 'application/json';
      all['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const req = request(`${base}/`, { method, path, headers: all, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json: text === '' ? undefined : JSON.parse(text),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Opens a session for `nick` (open mode: the nick alone; accounts mode: registers it with
 * `password` first when `register` is set) and returns the Cookie header to send.
 */
export async function session(
  base: string,
  nick: string,
  password?: string,
  register = false,
): Promise<Record<string, string>> {
  if (register) {
    const reply = await api(base, 'POST', '/api/v1/users', { nick, password });
    if (reply.status !== 201) throw new Error(`register failed: ${reply.status} ${reply.body}`);
  }
  const reply = await api(base, 'POST', '/api/v1/session', { nick, password });
  if (reply.status !== 201) throw new Error(`login failed: ${reply.status} ${reply.body}`);
  const cookie = String(reply.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
  return { Cookie: cookie };
}
