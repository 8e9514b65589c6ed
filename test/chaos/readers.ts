/**
 * The chaos run's readers: one user each, holding one /api/v1/events stream at a time, and
 * coming back with `Last-Event-ID` whenever the stream ends, fails or goes silent (no byte for
 * a few heartbeats: a stopped node or a dead connection). Half of them wander: they pick a
 * random node each time, move every few seconds for no reason, and now and then stay away
 * longer than the grace window before coming back (a real leave and join). The others stay
 * put: each has a home node, which it goes back to after a stream elsewhere, and keeps its
 * stream until it fails, so that one stream outlives each outage of its node's Redis. A reader
 * records what it checks later (checks.ts): every stored event it received, in segments that
 * begin at its first `hello` and at each `reset`, and its view of who is online (`hello`, then
 * `join`, `leave` and the `presence` snapshot).
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
  /** Who this reader's stream says is online (hello, then join, leave and presence). */
  view = new Set<string>();
  resets = 0;
  /** `presence` snapshots received. */
  snapshots = 0;
  streams = 0;
  received = 0;
  /** Mailbox messages (no `id:`) received on fresh or reset streams. */
  offline = 0;
  /** True once the current stream's hello arrived, until it ends. */
  live = false;
  /** When the current stream went live (0 while it is not). */
  liveSince = 0;
  /** The node of the current stream, while it is live. */
  url: string | undefined;
  /** False while the run holds every reader where it is (see pause). */
  private moving = true;
  private last = -1;
  private req: ClientRequest | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Ends the current stream (the next one starts as after any end). */
  private endStream: (() => void) | undefined;
  /** True after a stream attempt on the home node that never went live. */
  private homeFailed = false;
  /** The node of the stream attempt in progress. */
  private current: string | undefined;

  /**
   * Without a `home` (an index into `urls()`), the reader wanders (see the file comment);
   * with one it stays put: it keeps its stream until it fails, as most real clients do, and
   * comes back to its home node (after one attempt elsewhere when home refused it), so that
   * every node holds a stream that lives through that node's outages, which is what tests
   * presence healing. `breakMs` is how long a wanderer's longer absences last (more than the
   * nodes' grace window).
   */
  constructor(
    readonly nick: string,
    private readonly cookie: string,
    private readonly urls: () => string[],
    private readonly rng: Prng,
    private readonly opts: {
      readonly home?: number;
      readonly silenceMs: number;
      readonly breakMs: readonly [number, number];
    },
  ) {}

  /** True for a reader without a home node. */
  get wanders(): boolean {
    return this.opts.home === undefined;
  }

  /** The home node's URL, for a reader that stays put. */
  get homeUrl(): string | undefined {
    return this.opts.home === undefined ? undefined : this.urls()[this.opts.home];
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

  /**
   * Holds the reader where it is: no moves and no long absences (the stream itself stays,
   * and one that fails comes back at once), so that who is online holds still.
   */
  pause(): void {
    this.moving = false;
  }

  /** Ends a pause. */
  resume(): void {
    this.moving = true;
  }

  /** A reader that stays put and is live elsewhere than home goes home now. */
  goHome(): void {
    if (this.live && this.homeUrl !== undefined && this.url !== this.homeUrl) this.endStream?.();
  }

  /** Closes the stream and stops reconnecting. */
  async stop(): Promise<void> {
    this.running = false;
    this.req?.destroy();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const home = this.homeUrl;
      const url = home !== undefined && !this.homeFailed ? home : this.rng.pick(this.urls());
      const wentLive = await this.once(url);
      if (url === home) this.homeFailed = !wentLive;
      else this.homeFailed = false;
      this.live = false;
      this.liveSince = 0;
      this.url = undefined;
      if (!this.running) break;
      // A wanderer now and then stays away past the grace window: a real leave, then a join.
      const away =
        this.wanders && this.moving && this.rng.next() < 0.25
          ? this.rng.int(this.opts.breakMs[0], this.opts.breakMs[1])
          : this.rng.int(100, 600);
      await sleep(away);
    }
  }

  /** One stream, until it ends for whatever reason; true if it went live (got its hello). */
  private once(url: string): Promise<boolean> {
    this.current = url;
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
        this.endStream = undefined;
        resolve(this.live);
      };
      this.endStream = finish;
      const watchdog = setInterval(() => {
        const now = Date.now();
        const wander = this.wanders && this.moving;
        if (now - lastByte > this.opts.silenceMs) finish();
        else if (wander && this.live && now > wanderAt) finish();
        else if (!wander) wanderAt = now + 2000;
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
      this.url = this.current;
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
    else if (type === 'presence') {
      // Who is online now (docs/api.md): it replaces the list.
      this.snapshots++;
      const online = Array.isArray(body.online) ? (body.online as string[]) : undefined;
      if (!online || online.length !== body.onlineCount) {
        this.disorder.push(`presence snapshot not a full list: ${JSON.stringify(body)}`);
      }
      this.view = new Set(online ?? []);
    }
  }
}
