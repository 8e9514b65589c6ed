/**
 * The chaos run's readers: one user each, holding one /api/v1/events stream at a time on a
 * random node, and coming back on a random node with `Last-Event-ID` whenever the stream ends,
 * fails, goes silent (no byte for a few heartbeats: a stopped node or a dead connection) and,
 * for half of them, while the run is in its fault phase, every few seconds for no reason. A reader records what
 * it checks later (checks.ts): every stored event it received, in segments that begin at its
 * first `hello` and at each `reset`, and its view of who is online (hello, join, leave).
 */
import { type ClientRequest, request } from 'node:http';
import type { Prng } from './prng.js';
import { sleep } from './prng.js';

/** Stored event types: they carry an `id:` and are replayed on resume. */
const STORED = new Set(['message', 'read', 'member', 'edit', 'delete']);

/** Events seen from one starting point: the first hello's id, or a reset's. */
export interface Segment {
  readonly start: number;
  readonly ids: number[];
}

/** One reader; see the file comment. */
export class Reader {
  readonly segments: Segment[] = [];
  /** Repeats and steps back in id order, as found on arrival. */
  readonly disorder: string[] = [];
  /** Who this reader's stream says is online (hello, then join and leave). */
  view = new Set<string>();
  resets = 0;
  streams = 0;
  received = 0;
  /** Mailbox messages (no `id:`) received on fresh or reset streams. */
  offline = 0;
  /** True once the current stream's hello arrived, until it ends. */
  live = false;
  /** When the current stream went live (0 while it is not). */
  liveSince = 0;
  private last = -1;
  private req: ClientRequest | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wander: boolean;

  /**
   * A reader that `wanders` also moves to a random node every few seconds; one that does not
   * keeps its stream until it fails, as most real clients do, so that it stays on a node
   * through that node's outages (which is what tests presence healing).
   */
  constructor(
    readonly nick: string,
    readonly wanders: boolean,
    private readonly cookie: string,
    private readonly urls: () => string[],
    private readonly rng: Prng,
    private readonly silenceMs: number,
  ) {
    this.wander = wanders;
  }

  /** The id to resume from, if any. */
  get lastEventId(): number | undefined {
    return this.last >= 0 ? this.last : undefined;
  }

  /** Starts the connect loop. */
  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops the random reconnects (the stream itself stays). */
  settle(): void {
    this.wander = false;
  }

  /** Closes the stream and stops reconnecting. */
  async stop(): Promise<void> {
    this.running = false;
    this.req?.destroy();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.once(this.rng.pick(this.urls()));
      this.live = false;
      this.liveSince = 0;
      if (this.running) await sleep(this.rng.int(100, 600));
    }
  }

  /** One stream, until it ends for whatever reason. */
  private once(url: string): Promise<void> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = { Accept: 'text/event-stream', Cookie: this.cookie };
      if (this.last >= 0) headers['Last-Event-ID'] = String(this.last);
      let lastByte = Date.now();
      let wanderAt = Date.now() + this.rng.int(2000, 9000);
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearInterval(watchdog);
        req.destroy();
        resolve();
      };
      const watchdog = setInterval(() => {
        const now = Date.now();
        if (now - lastByte > this.silenceMs) finish();
        else if (this.wander && this.live && now > wanderAt) finish();
        else if (!this.wander) wanderAt = now + 2000;
      }, 200);
      const req = request(`${url}/api/v1/events`, { agent: false, headers }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          res.on('end', finish);
          res.on('error', finish);
          return;
        }
        this.streams++;
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          lastByte = Date.now();
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            this.frame(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
          }
        });
        res.on('end', finish);
        res.on('error', finish);
        res.on('close', finish);
      });
      this.req = req;
      req.on('error', finish);
      req.end();
    });
  }

  private frame(frame: string): void {
    let id: string | undefined;
    let type = 'message';
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
      else if (field === 'event') type = value;
    }
    if (data.length === 0) return;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(data.join('\n'));
    } catch {
      this.disorder.push(`unparsable ${type} frame: ${data.join('\n').slice(0, 80)}`);
      return;
    }
    this.event(type, id, body);
  }

  private event(type: string, id: string | undefined, body: Record<string, unknown>): void {
    if (type === 'reset') {
      this.resets++;
      const at = Number(body.id);
      this.segments.push({ start: at, ids: [] });
      this.last = at;
      return;
    }
    if (type === 'hello') {
      const at = Number(id);
      if (this.segments.length === 0) this.segments.push({ start: at, ids: [] });
      else if (at < this.last) this.disorder.push(`hello id ${at} after id ${this.last}`);
      this.last = Math.max(this.last, at);
      this.view = new Set(Array.isArray(body.online) ? (body.online as string[]) : []);
      this.live = true;
      this.liveSince = Date.now();
      return;
    }
    if (STORED.has(type) && id !== undefined) {
      const at = Number(id);
      this.received++;
      if (this.segments.length === 0) {
        this.disorder.push(`${type} ${at} before any hello`);
        return;
      }
      if (at <= this.last) {
        this.disorder.push(`${type} ${at} after ${this.last} (repeat or out of order)`);
        return;
      }
      this.last = at;
      this.segments.at(-1)?.ids.push(at);
      return;
    }
    if (type === 'message' && body.offline === true) {
      this.offline++;
      return;
    }
    if (type === 'join' && typeof body.user === 'string') this.view.add(body.user);
    else if (type === 'leave' && typeof body.user === 'string') this.view.delete(body.user);
    else if (Array.isArray(body.online)) {
      // A presence snapshot of a kind this harness does not know by name: apply it.
      this.view = new Set(body.online as string[]);
    }
  }
}
