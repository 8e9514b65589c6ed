/**
 * The chaos run's senders: each one a user who sends broadcasts and DMs to the readers with a
 * `clientId`, on a random node, and retries the same `clientId` (on another random node) after
 * any failure or a timeout, as our page does, until it gets 201. Every send's text is unique
 * (it carries the clientId), so that a second row for one send shows up in the database even
 * if it bypassed the clientId.
 */
import { request } from 'node:http';
import type { Prng } from './prng.js';
import { sleep } from './prng.js';

/** How long one attempt may take before it is abandoned and retried. */
const ATTEMPT_TIMEOUT_MS = 4000;

/** One send, across its attempts. */
export interface SendRecord {
  readonly sender: string;
  readonly clientId: string;
  readonly to: string;
  readonly text: string;
  attempts: number;
  /** Every id a 201 answered for this clientId; more than one is a finding. */
  readonly ackIds: Set<number>;
}

/** A POST /api/v1/messages attempt's outcome: the id on 201, else undefined. */
export function postMessage(
  url: string,
  cookie: string,
  body: { to: string; text: string; clientId: string },
  timeoutMs = ATTEMPT_TIMEOUT_MS,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = request(
      `${url}/api/v1/messages`,
      {
        method: 'POST',
        agent: false,
        headers: {
          Cookie: cookie,
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(payload)),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          clearTimeout(timer);
          if (res.statusCode !== 201) return resolve(undefined);
          try {
            const id = Number(JSON.parse(text).id);
            resolve(Number.isSafeInteger(id) ? id : undefined);
          } catch {
            resolve(undefined);
          }
        });
        res.on('error', () => resolve(undefined));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      resolve(undefined);
    }, timeoutMs);
    req.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    req.end(payload);
  });
}

/** Logs in (open mode: the nick alone) on `url` and returns the Cookie header's value. */
export async function login(url: string, nick: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const cookie = await new Promise<string | undefined>((resolve) => {
      const payload = JSON.stringify({ nick });
      const req = request(
        `${url}/api/v1/session`,
        {
          method: 'POST',
          agent: false,
          timeout: 5000,
          headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length },
        },
        (res) => {
          res.resume();
          const set = res.headers['set-cookie']?.[0];
          res.on('end', () =>
            resolve(res.statusCode === 201 && set ? set.split(';')[0] : undefined),
          );
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
      req.end(payload);
    });
    if (cookie) return cookie;
    await sleep(200);
  }
  throw new Error(`cannot log in as ${nick} on ${url}`);
}

/** The senders, their sends, and the loop that drives them. */
export class Senders {
  readonly sends: SendRecord[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private counter = 0;

  constructor(
    private readonly users: ReadonlyArray<{ nick: string; cookie: string }>,
    private readonly readers: readonly string[],
    private readonly urls: () => string[],
    private readonly rng: Prng,
  ) {}

  /** Starts one send loop per user. */
  start(): void {
    this.running = true;
    this.loops = this.users.map((u) => this.loop(u));
  }

  /** Stops starting new sends; resolves once every loop has finished its current send. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Sends not acknowledged yet. */
  pending(): SendRecord[] {
    return this.sends.filter((s) => s.ackIds.size === 0);
  }

  /** Retries every unacknowledged send until each is acknowledged or `deadline` passes. */
  async drain(deadline: number): Promise<void> {
    const byUser = new Map(this.users.map((u) => [u.nick, u.cookie]));
    await Promise.all(
      this.pending().map(async (send) => {
        while (send.ackIds.size === 0 && Date.now() < deadline) {
          await this.attempt(send, byUser.get(send.sender) as string);
          if (send.ackIds.size === 0) await sleep(300);
        }
      }),
    );
  }

  /** One new acknowledged broadcast from the first sender (a marker); undefined on timeout. */
  async marker(deadline: number): Promise<number | undefined> {
    const user = this.users[0];
    if (!user) return undefined;
    const send = this.record(user.nick, 'all', 'marker');
    while (send.ackIds.size === 0 && Date.now() < deadline) {
      await this.attempt(send, user.cookie);
      if (send.ackIds.size === 0) await sleep(300);
    }
    return [...send.ackIds][0];
  }

  private async loop(user: { nick: string; cookie: string }): Promise<void> {
    while (this.running) {
      const to = this.rng.next() < 0.5 ? 'all' : this.rng.pick(this.readers);
      const send = this.record(user.nick, to, 'm');
      while (send.ackIds.size === 0 && this.running) {
        await this.attempt(send, user.cookie);
        if (send.ackIds.size === 0) await sleep(this.rng.int(100, 400));
      }
      // Now and then the same send again, as a client that lost the answer would: it must be
      // answered with the same id.
      if (send.ackIds.size > 0 && this.rng.next() < 0.05) await this.attempt(send, user.cookie);
      await sleep(this.rng.int(20, 120));
    }
  }

  /** A new send, recorded before its first attempt. */
  record(sender: string, to: string, kind: string): SendRecord {
    const clientId = `${kind}-${sender}-${++this.counter}`;
    const send: SendRecord = {
      sender,
      clientId,
      to,
      text: `chaos ${clientId}`,
      attempts: 0,
      ackIds: new Set(),
    };
    this.sends.push(send);
    return send;
  }

  private async attempt(send: SendRecord, cookie: string): Promise<void> {
    send.attempts++;
    const url = this.rng.pick(this.urls());
    const id = await postMessage(url, cookie, {
      to: send.to,
      text: send.text,
      clientId: send.clientId,
    });
    if (id !== undefined) send.ackIds.add(id);
  }
}
