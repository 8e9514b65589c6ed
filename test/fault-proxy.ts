/**
 * A TCP proxy that injects network faults between ssechat and PostgreSQL or Redis, for the
 * fault tests and `npm run chaos`. Each accepted connection gets its own upstream connection;
 * bytes flow both ways untouched until a fault is set:
 *
 * - `pause()` holds every byte in both directions, of open connections and of new ones (whose
 *   upstream connection waits too), as a partition or a stopped peer looks to TCP: nothing is
 *   lost, and `heal()` delivers everything held, in order. Held bytes stay in the kernel (the
 *   sockets are paused), so a long pause costs no memory here.
 * - `silenceOpen()` makes the connections open now go silent forever, both ways (a NAT or a
 *   firewall that dropped their state): their bytes are discarded and they never close, while
 *   new connections work. The half-open case.
 * - `reset()` ends every open connection with a TCP RST on both sides.
 * - `latency(ms)` delays every chunk by `ms` in both directions, keeping order.
 *
 * Loopback only; a test harness, not a product: no limits beyond what the tests open.
 */
import { createServer, type Server, Socket } from 'node:net';

/** One direction of one proxied connection. */
class Pipe {
  private queue: Array<{ chunk: Buffer; due: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  silent = false;

  constructor(
    from: Socket,
    private readonly to: Socket,
    private readonly proxy: FaultProxy,
  ) {
    from.on('data', (chunk: Buffer) => this.take(chunk));
    from.on('end', () => this.whenDrained(() => to.end()));
  }

  private take(chunk: Buffer): void {
    if (this.silent) return;
    const delay = this.proxy.latencyMs;
    if (delay === 0 && this.queue.length === 0) {
      this.to.write(chunk);
      return;
    }
    this.queue.push({ chunk, due: Date.now() + delay });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, (this.queue[0]?.due ?? 0) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      while (this.queue.length > 0 && (this.queue[0]?.due ?? 0) <= now) {
        const next = this.queue.shift();
        if (next && !this.silent) this.to.write(next.chunk);
      }
      this.schedule();
    }, wait);
  }

  private whenDrained(fn: () => void): void {
    if (this.queue.length === 0) fn();
    else setTimeout(() => this.whenDrained(fn), 5);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.queue = [];
  }
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly pipes: Pipe[];
  connected: boolean;
}

/** The proxy; see the file comment for the faults. */
export class FaultProxy {
  /** The port clients connect to, on 127.0.0.1. */
  port = 0;
  /** Current added delay per chunk, ms. */
  latencyMs = 0;
  private paused = false;
  private readonly links = new Set<Link>();
  private readonly server: Server;

  private constructor(
    private targetPort: number,
    private readonly targetHost: string,
  ) {
    this.server = createServer({ pauseOnConnect: true }, (client) => this.accept(client));
  }

  /** Listens on a free loopback port and forwards to `targetHost:targetPort`. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetPort, targetHost);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  /** Forwards to another target from now on (a restarted server on a new port). */
  retarget(port: number): void {
    this.targetPort = port;
  }

  /** Connections open now. */
  get open(): number {
    return this.links.size;
  }

  /** Holds every byte, both ways, until heal(). */
  pause(): void {
    this.paused = true;
    for (const link of this.links) {
      link.client.pause();
      link.upstream.pause();
    }
  }

  /** Ends pause(): held bytes flow, in order, and waiting connections connect. */
  heal(): void {
    this.paused = false;
    for (const link of this.links) {
      if (!link.connected) {
        this.connect(link);
        continue;
      }
      link.client.resume();
      link.upstream.resume();
    }
  }

  /** The connections open now go silent forever, both ways; new ones work. */
  silenceOpen(): void {
    for (const link of this.links) for (const pipe of link.pipes) pipe.silent = true;
  }

  /** Ends every open connection with an RST on both sides. */
  reset(): void {
    for (const link of [...this.links]) this.drop(link, true);
  }

  /** Delays every chunk by `ms` from now on (0 ends it). */
  latency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    for (const link of [...this.links]) this.drop(link, true);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = new Socket();
    const link: Link = { client, upstream, pipes: [], connected: false };
    this.links.add(link);
    client.on('error', () => this.drop(link, true));
    upstream.on('error', () => this.drop(link, true));
    client.on('close', () => this.drop(link, false));
    upstream.on('close', () => this.drop(link, false));
    if (!this.paused) this.connect(link);
  }

  private connect(link: Link): void {
    link.connected = true;
    link.upstream.connect(this.targetPort, this.targetHost, () => {
      link.pipes.push(
        new Pipe(link.client, link.upstream, this),
        new Pipe(link.upstream, link.client, this),
      );
      if (this.paused) link.upstream.pause();
      else link.client.resume();
    });
  }

  private drop(link: Link, rst: boolean): void {
    if (!this.links.delete(link)) return;
    for (const pipe of link.pipes) pipe.stop();
    for (const socket of [link.client, link.upstream]) {
      // Only on a connection open both ways: an RST on one still connecting, or one its peer
      // has half-closed, is a plain close (the latter made node 20 spin at 100 % CPU).
      if (rst && link.pipes.length > 0 && socket.readyState === 'open') {
        socket.resetAndDestroy();
      } else socket.destroy();
    }
  }
}
