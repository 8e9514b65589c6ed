// Exact resume over the real wire, with the `eventsource` package as the client: receivers
// whose connections die at random points (during a replay too) and come back with their
// Last-Event-ID get every message they see exactly once, in id order; across a graceful
// restart and a kill -9 as well.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventSource } from 'eventsource';
import type { RunningServer } from '../src/main.js';
import { api, session, startTestServer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A message the server acknowledged with 201. */
interface Sent {
  readonly id: number;
  readonly from: string;
  readonly to: string;
}

function randInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/**
 * One user's view of the stream, over successive EventSource connections. It records the id
 * of every `message` event that carried an `id:` (replayed or live) and resumes from the last
 * `id:` it saw. Events of a connection it killed are ignored, as if they never arrived.
 */
class Receiver {
  /** Ids of the `message` events received with an `id:`, in arrival order. */
  readonly ids: number[] = [];
  /** The id of the first `hello` ever received: the user's view starts after it. */
  firstHello: number | undefined;
  /** The last `id:` seen, sent as Last-Event-ID on the next connection. */
  lastId: string | undefined;
  readonly problems: string[] = [];
  connects = 0;
  hellos = 0;
  /** Requests made, the package's own reconnects included. */
  requests = 0;
  /** Kills that landed after a replayed message and before that connection's `hello`. */
  midReplayKills = 0;
  private es: EventSource | undefined;
  private generation = 0;

  constructor(
    readonly nick: string,
    private readonly cookie: string,
    private readonly url: string,
  ) {}

  /**
   * Opens a new connection, replacing any current one. `killAfter` kills it from inside the
   * handler of its n-th event (so possibly in the middle of a replay chunk). `stallMs` keeps
   * the connection from reading for that long after the headers: with a replay bigger than
   * the socket buffers, the server then waits for the socket to drain while live messages
   * are held behind the replay.
   */
  open({ killAfter, stallMs }: { killAfter?: number; stallMs?: number } = {}): void {
    this.kill();
    const generation = ++this.generation;
    const live = (): boolean => generation === this.generation;
    let events = 0;
    let hello = false;
    const counted = (): void => {
      events++;
      if (killAfter !== undefined && events >= killAfter) {
        if (!hello && events > 1) this.midReplayKills++;
        this.kill();
      }
    };
    this.connects++;
    const es = new EventSource(this.url, {
      fetch: async (input, init) => {
        this.requests++;
        // The package's own reconnects send the last id it saw: it must be ours.
        const own = init.headers['Last-Event-ID'];
        if (own !== undefined && own !== this.lastId) {
          this.problems.push(`package sent Last-Event-ID ${own}, expected ${this.lastId}`);
        }
        const headers: Record<string, string> = { ...init.headers, Cookie: this.cookie };
        if (this.lastId !== undefined) headers['Last-Event-ID'] = this.lastId;
        const res = await fetch(input, { ...init, headers });
        if (stallMs === undefined || res.body === null) return res;
        const body = stall(res.body, stallMs);
        return new Response(body, { status: res.status, headers: res.headers });
      },
    });
    es.addEventListener('hello', (e) => {
      if (!live()) return;
      const id = JSON.parse(e.data).id as number;
      if (e.lastEventId !== String(id)) this.problems.push(`hello id: ${e.lastEventId} != ${id}`);
      this.firstHello ??= id;
      this.hellos++;
      this.lastId = e.lastEventId;
      hello = true;
      counted();
    });
    es.addEventListener('message', (e) => {
      if (!live()) return;
      const m = JSON.parse(e.data) as { id: number; offline?: boolean };
      if (e.lastEventId === '') {
        // A fresh connect's mailbox: older than its hello, so not part of the resumed view.
        if (!m.offline) this.problems.push(`message ${m.id} without id: and not offline`);
      } else {
        if (e.lastEventId !== String(m.id)) this.problems.push(`id: ${e.lastEventId} != ${m.id}`);
        this.ids.push(m.id);
        this.lastId = e.lastEventId;
      }
      counted();
    });
    es.addEventListener('read', (e) => {
      if (live()) this.problems.push(`unexpected read receipt ${e.data}`);
    });
    es.addEventListener('reset', (e) => {
      if (live()) this.problems.push(`reset ${e.data}`);
    });
    this.es = es;
  }

  /** False once the current connection was killed. */
  get connected(): boolean {
    return this.es !== undefined;
  }

  /** Drops the current connection (aborts the fetch, which destroys the socket). */
  kill(): void {
    this.generation++;
    this.es?.close();
    this.es = undefined;
  }

  /** Resolves once `predicate` holds; fails after `timeoutMs` with the state. */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) {
        const tail = this.ids.slice(-5).join(',');
        throw new Error(`${this.nick}: timed out waiting for ${what}; last ids ${tail}`);
      }
      await sleep(10);
    }
  }
}

/**
 * Passes `body` through after `ms`: meanwhile fetch stops reading the socket once its own
 * buffers are full (a few MB on loopback), and the server's writes back up.
 */
function stall(body: ReadableStream<Uint8Array>, ms: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let first = true;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (first) await sleep(ms);
        first = false;
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** The ids `nick` sees among `sent`, from its first hello on, in order. */
function expectedFor(r: Receiver, sent: readonly Sent[]): number[] {
  return sent
    .filter((m) => m.to === 'all' || m.to === r.nick || m.from === r.nick)
    .map((m) => m.id)
    .filter((id) => id > (r.firstHello ?? Number.POSITIVE_INFINITY))
    .sort((a, b) => a - b);
}

/** Checks that `r` received exactly `expected`: first a readable diff, then the whole list. */
function assertExactly(r: Receiver, expected: readonly number[]): void {
  assert.deepEqual(r.problems, [], r.nick);
  const want = new Set(expected);
  const seen = new Set<number>();
  const duplicates: number[] = [];
  let outOfOrder = 0;
  r.ids.forEach((id, i) => {
    if (seen.has(id)) duplicates.push(id);
    seen.add(id);
    if (i > 0 && id <= (r.ids[i - 1] as number)) outOfOrder++;
  });
  assert.deepEqual(
    {
      missing: expected.filter((id) => !seen.has(id)),
      extra: [...seen].filter((id) => !want.has(id)),
      duplicates,
      outOfOrder,
    },
    { missing: [], extra: [], duplicates: [], outOfOrder: 0 },
    `${r.nick} (first hello ${r.firstHello})`,
  );
  assert.deepEqual(r.ids, expected, r.nick);
}

async function send(base: string, cookie: Record<string, string>, to: string, text: string) {
  return api(base, 'POST', '/api/v1/messages', { to, text }, cookie);
}

for (const store of ['memory', 'sqlite'] as const) {
  describe(`resume under a burst, ${store} store`, () => {
    test('receivers killed at random points get every message once, in order', async (t) => {
      const server: RunningServer = await startTestServer({
        store,
        dataDir: join(dir, `burst-${store}`),
      });
      const base = server.url;
      const receivers: Receiver[] = [];
      try {
        const senderNicks = ['s1', 's2', 's3'];
        const senders = await Promise.all(senderNicks.map((n) => session(base, n)));
        const names = ['r1', 'r2', 'r3', 'r4'];
        for (const nick of names) {
          const { Cookie } = await session(base, nick);
          receivers.push(new Receiver(nick, Cookie ?? '', `${base}/api/v1/events`));
        }
        for (const r of receivers) r.open();
        for (const r of receivers) await r.waitFor(() => r.firstHello !== undefined, 'hello');

        const sent: Sent[] = [];
        let sending = true;
        const perSender = 300;
        const burst = Promise.all(
          senders.map(async (cookie, si) => {
            let next = 0;
            // A few requests in flight per sender.
            const lane = async (): Promise<void> => {
              while (next < perSender) {
                const i = next++;
                const to = i % 3 === 0 ? 'all' : (names[(i + si) % names.length] as string);
                const text = `${senderNicks[si]} ${i} ${'x'.repeat(randInt(0, 400))}`;
                const reply = await send(base, cookie, to, text);
                assert.equal(reply.status, 201, reply.body);
                sent.push({ id: reply.json.id, from: senderNicks[si] as string, to });
              }
            };
            await Promise.all([lane(), lane(), lane()]);
          }),
        ).finally(() => {
          sending = false;
        });

        // Each receiver: drop the connection, stay away a little while sends pile up, come
        // back with its last id, and sometimes die again a few events into the replay.
        const chaos = receivers.map(async (r) => {
          while (sending) {
            r.kill();
            // Now and then long enough to miss dozens of messages.
            await sleep(Math.random() < 0.15 ? randInt(100, 300) : randInt(0, 30));
            r.open({ killAfter: Math.random() < 0.6 ? randInt(1, 12) : undefined });
            await sleep(randInt(0, 25));
          }
          r.open();
        });
        await Promise.all([burst, ...chaos]);

        const last = await send(base, senders[0] as Record<string, string>, 'all', 'barrier');
        assert.equal(last.status, 201);
        sent.push({ id: last.json.id, from: 's1', to: 'all' });
        for (const r of receivers) {
          await r.waitFor(() => r.ids.includes(last.json.id), `barrier ${last.json.id}`);
        }
        for (const r of receivers) assertExactly(r, expectedFor(r, sent));
        const stats = receivers.map(
          (r) =>
            `${r.nick}: ${r.connects} connects, ${r.midReplayKills} mid-replay kills, ${r.ids.length} ids`,
        );
        t.diagnostic(`${sent.length} messages; ${stats.join('; ')}`);
      } finally {
        for (const r of receivers) r.kill();
        await server.close();
      }
    });

    test('a replay that waits for a slow reader hands over to live exactly', async (t) => {
      // Loopback and fetch buffer a few MB: a bigger replay makes the server wait for the
      // reader while live messages are held behind it.
      const server = await startTestServer({
        store,
        dataDir: join(dir, `handover-${store}`),
        maxMessageLength: 100_000,
        maxQueueBytes: 64 * 1024 * 1024,
      });
      const base = server.url;
      const r = new Receiver(
        'lag',
        (await session(base, 'lag')).Cookie ?? '',
        `${base}/api/v1/events`,
      );
      try {
        const cookie = await session(base, 'snd');
        const sent: Sent[] = [];
        const sendAs = async (to: string, text: string): Promise<void> => {
          const reply = await send(base, cookie, to, text);
          assert.equal(reply.status, 201, reply.body);
          sent.push({ id: reply.json.id, from: 'snd', to });
        };
        r.open();
        await r.waitFor(() => r.firstHello !== undefined, 'hello');
        const big = 'x'.repeat(20_000);
        for (let round = 0; round < 3; round++) {
          r.kill();
          // 300 messages of 20 kB: more than one replay page, and more than the buffers hold.
          for (let i = 0; i < 300; i += 10) {
            await Promise.all(
              Array.from({ length: 10 }, (_, j) =>
                sendAs(j % 2 ? 'all' : 'lag', `${round} ${big}`),
              ),
            );
          }
          // The first round dies partway into the replay and resumes from where it got to.
          if (round === 0) r.open({ stallMs: 200, killAfter: randInt(2, 250) });
          else r.open({ stallMs: 300 });
          for (let i = 0; i < 30; i++) await sendAs(i % 2 ? 'all' : 'lag', `live ${round} ${i}`);
          if (round === 0) {
            await r.waitFor(() => !r.connected, 'the kill in the replay');
            r.open({ stallMs: 300 });
            for (let i = 0; i < 30; i++) await sendAs('all', `live again ${i}`);
          }
        }
        await sendAs('all', 'barrier');
        const last = sent[sent.length - 1]?.id as number;
        await r.waitFor(() => r.ids.includes(last), `barrier ${last}`);
        assertExactly(r, expectedFor(r, sent));
        t.diagnostic(`${sent.length} messages, ${r.connects} connects`);
      } finally {
        r.kill();
        await server.close();
      }
    });
  });
}

/** A child-process ssechat on the sqlite store; resolves with its base URL and port. */
function spawnServer(
  dataDir: string,
  port: number,
): Promise<{ child: ChildProcess; url: string; port: number }> {
  const bin = new URL('../../bin/ssechat.js', import.meta.url).pathname;
  const args = [bin, '--store', 'sqlite', '--data-dir', dataDir, '--port', String(port)];
  // Its senders go as fast as the server answers, through two restarts: on a fast run they
  // emptied the send bucket (1,000 and 50/s) and the final barrier got 429. The flood guard
  // has tests of its own (limits.test.ts); here it is off.
  args.push('--send-limit-user', '0', '--send-limit-ip', '0');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let listening = false;
    const timer = setTimeout(() => reject(new Error(`no "listening" line: ${out}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (listening) return;
      out += d.toString();
      const url = /"url":"([^"]+)"[^\n]*"msg":"listening"/.exec(out)?.[1];
      if (url) {
        listening = true;
        clearTimeout(timer);
        resolve({ child, url, port: Number(new URL(url).port) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ssechat exited early (${code}): ${out}`));
    });
  });
}

/** Sends `signal` and resolves with the exit code (null when killed by the signal). */
async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  child.kill(signal);
  return exited;
}

/** Every message `nick` sees, from the Store's history pages, in id order. */
async function history(base: string, cookie: Record<string, string>, peers: string[]) {
  const ids = new Set<number>();
  for (const peer of peers) {
    let before: number | null = null;
    do {
      const q: string = before === null ? '' : `&before=${before}`;
      const page = await api(
        base,
        'GET',
        `/api/v1/messages?with=${peer}&limit=200${q}`,
        undefined,
        cookie,
      );
      assert.equal(page.status, 200, page.body);
      for (const m of page.json.messages as Array<{ id: number }>) ids.add(m.id);
      before = page.json.before;
    } while (before !== null);
  }
  return [...ids].sort((a, b) => a - b);
}

test('resume across a graceful restart and a kill -9: every acknowledged message once', async (t) => {
  const dataDir = join(dir, 'restart');
  let server = await spawnServer(dataDir, 0);
  const { url: base, port } = server;
  const receivers: Receiver[] = [];
  try {
    const senderNicks = ['s1', 's2'];
    const senders = await Promise.all(senderNicks.map((n) => session(base, n)));
    const names = ['r1', 'r2', 'r3'];
    const cookies: Record<string, Record<string, string>> = {};
    for (const nick of names) {
      cookies[nick] = await session(base, nick);
      receivers.push(new Receiver(nick, cookies[nick]?.Cookie ?? '', `${base}/api/v1/events`));
    }
    for (const r of receivers) r.open();
    for (const r of receivers) await r.waitFor(() => r.firstHello !== undefined, 'hello');

    // Senders keep going through both restarts; only 201s count.
    const acked: Sent[] = [];
    let failed = 0;
    let sending = true;
    const loops = senders.flatMap((cookie, si) =>
      [0, 1].map(async () => {
        for (let i = 0; sending; i++) {
          const to = Math.random() < 0.4 ? 'all' : (names[randInt(0, names.length - 1)] as string);
          const reply = await send(base, cookie, to, `${senderNicks[si]} ${i}`).catch(
            () => undefined,
          );
          if (reply?.status === 201) {
            acked.push({ id: reply.json.id, from: senderNicks[si] as string, to });
          } else {
            failed++;
            await sleep(10);
          }
        }
      }),
    );

    // Waits until every receiver is back (the package retries after the server's `retry:`,
    // 1 to 3 s), with sends still going on.
    const back = async (what: string): Promise<void> => {
      const hellos = receivers.map((r) => r.hellos);
      await Promise.all(
        receivers.map((r, i) => r.waitFor(() => r.hellos > (hellos[i] as number), what, 15_000)),
      );
      await sleep(200);
    };
    await sleep(300);
    assert.equal(await stop(server.child, 'SIGTERM'), 0, 'SIGTERM exits cleanly');
    await sleep(100);
    server = await spawnServer(dataDir, port);
    await back('reconnect after SIGTERM');
    await stop(server.child, 'SIGKILL');
    await sleep(100);
    server = await spawnServer(dataDir, port);
    await back('reconnect after kill -9');
    sending = false;
    await Promise.all(loops);

    const last = await send(base, senders[0] as Record<string, string>, 'all', 'barrier');
    assert.equal(last.status, 201);
    acked.push({ id: last.json.id, from: 's1', to: 'all' });
    // The package reconnects on its own after the server's retry: (1 to 3 s).
    for (const r of receivers) {
      await r.waitFor(() => r.ids.includes(last.json.id), `barrier ${last.json.id}`, 15_000);
    }
    for (const r of receivers) {
      const truth = await history(base, cookies[r.nick] as Record<string, string>, [
        'all',
        r.nick,
        ...senderNicks,
      ]);
      const seen = new Set(truth);
      const lost = expectedFor(r, acked).filter((id) => !seen.has(id));
      assert.deepEqual(lost, [], `${r.nick}: acknowledged but not in the Store`);
      assertExactly(
        r,
        truth.filter((id) => id > (r.firstHello as number)),
      );
    }
    const stats = receivers.map(
      (r) => `${r.nick}: ${r.requests} requests, ${r.hellos} hellos, ${r.ids.length} ids`,
    );
    t.diagnostic(`${acked.length} acknowledged, ${failed} failed sends; ${stats.join('; ')}`);
  } finally {
    for (const r of receivers) r.kill();
    await stop(server.child, 'SIGTERM');
  }
});
