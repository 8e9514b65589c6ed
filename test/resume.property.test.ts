// Property: whatever sequence of sends, connects, disconnects, resumes and server restarts
// happens, every stream that resumes with its last id ends up with exactly the messages the
// Store says its user sees after the stream's first hello: in id order, none twice, none left.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventSource, type FetchLike, type FetchLikeResponse } from 'eventsource';
import fc from 'fast-check';
import type { RunningServer } from '../src/main.js';
import { api, session, startTestServer } from './helpers.js';

const NICKS = ['a', 'b', 'c'] as const;
/** Streams: a user may have two tabs, each with its own resume point. */
const TABS = ['a0', 'a1', 'b0', 'b1', 'c0'] as const;
const TEXTS = ['hi', '', 'two\nlines', 'ünïcode ✓', 'x'.repeat(300)];

type Nick = (typeof NICKS)[number];
type TabName = (typeof TABS)[number];
type Send = { readonly from: Nick; readonly to: Nick | 'all'; readonly text: string };
type Command =
  | ({ readonly kind: 'send' } & Send)
  /** Concurrent sends. */
  | { readonly kind: 'burst'; readonly sends: readonly Send[] }
  /** Opens the tab if it is not open: fresh the first time, else from its last id. */
  | { readonly kind: 'connect'; readonly tab: TabName }
  | { readonly kind: 'disconnect'; readonly tab: TabName }
  /** Drops the tab's connection if any and opens a new one from its last id. */
  | { readonly kind: 'reconnect'; readonly tab: TabName }
  /** Closes the server and starts a new one on the same data dir; open tabs come back. */
  | { readonly kind: 'restart' }
  | { readonly kind: 'wait'; readonly ms: number };

/**
 * The EventSource's requests over node:http, one connection each, destroyed on abort. (The
 * global fetch keeps a pool: a connection it opened for a request that was aborted before it
 * was sent stays open with no request, and holds the server's shutdown until its grace ends.)
 */
function nodeFetch(extra: () => Record<string, string>): FetchLike {
  return (url, init) =>
    new Promise<FetchLikeResponse>((resolve, reject) => {
      const headers = { ...init.headers, ...extra() };
      const req = request(url, { headers, agent: false, signal: init.signal }, (res) => {
        resolve({
          status: res.statusCode ?? 0,
          url: String(url),
          redirected: false,
          headers: { get: (name) => res.headers[name.toLowerCase()]?.toString() ?? null },
          body: Readable.toWeb(res) as ReadableStream<Uint8Array>,
        });
      });
      req.on('error', reject);
      req.end();
    });
}

/**
 * One tab's stream over successive EventSource connections (none of them reconnects on its
 * own: the server's URL changes on a restart). Records the id of every `message` with an
 * `id:`; resumes from the last `id:` seen.
 */
class Tab {
  readonly ids: number[] = [];
  firstHello: number | undefined;
  lastId: string | undefined;
  readonly problems: string[] = [];
  /** Whether the tab should be open: it was opened and not disconnected since. */
  wanted = false;
  opened = false;
  hellos = 0;
  private es: EventSource | undefined;
  private generation = 0;

  constructor(
    readonly name: TabName,
    readonly nick: Nick,
    private readonly cookie: string,
  ) {}

  get connected(): boolean {
    return this.es !== undefined;
  }

  open(base: string): void {
    this.drop();
    this.wanted = true;
    this.opened = true;
    const generation = ++this.generation;
    const live = (): boolean => generation === this.generation;
    let hello: number | undefined;
    const es = new EventSource(`${base}/api/v1/events`, {
      fetch: nodeFetch(() => {
        const headers: Record<string, string> = { Cookie: this.cookie };
        if (this.lastId !== undefined) headers['Last-Event-ID'] = this.lastId;
        return headers;
      }),
    });
    es.addEventListener('hello', (e) => {
      if (!live()) return;
      hello = JSON.parse(e.data).id as number;
      this.firstHello ??= hello;
      this.lastId = e.lastEventId;
      this.hellos++;
    });
    es.addEventListener('message', (e) => {
      if (!live()) return;
      const m = JSON.parse(e.data) as { id: number; offline?: boolean };
      if (e.lastEventId === '') {
        // A fresh connect's mailbox, which the hello's id already covers.
        if (!m.offline || hello === undefined || m.id > hello) {
          this.problems.push(`message ${m.id} without id: after hello ${hello}`);
        }
        return;
      }
      if (e.lastEventId !== String(m.id)) this.problems.push(`id: ${e.lastEventId} != ${m.id}`);
      this.ids.push(m.id);
      this.lastId = e.lastEventId;
    });
    es.addEventListener('reset', (e) => {
      if (live()) this.problems.push(`reset ${e.data}`);
    });
    // The server ended the stream or the connection failed: stay closed until told otherwise.
    es.addEventListener('error', () => {
      if (live()) this.drop();
    });
    this.es = es;
  }

  disconnect(): void {
    this.wanted = false;
    this.drop();
  }

  /** Closes the current connection, if any; events still in flight on it are ignored. */
  drop(): void {
    this.generation++;
    this.es?.close();
    this.es = undefined;
  }

  async waitFor(predicate: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: timed out waiting for ${what}; ids ${this.ids.join(',')}`);
      }
      await sleep(5);
    }
  }
}

/** Every message id `nick` sees, from the Store's history pages, in id order. */
async function seenByStore(base: string, cookie: Record<string, string>): Promise<number[]> {
  const ids = new Set<number>();
  for (const peer of ['all', ...NICKS]) {
    let before: number | null = null;
    do {
      const from: string = before === null ? '' : `&before=${before}`;
      const path = `/api/v1/messages?with=${peer}&limit=200${from}`;
      const page = await api(base, 'GET', path, undefined, cookie);
      assert.equal(page.status, 200, page.body);
      for (const m of page.json.messages as Array<{ id: number }>) ids.add(m.id);
      before = page.json.before;
    } while (before !== null);
  }
  return [...ids].sort((x, y) => x - y);
}

/** Runs `commands` against a fresh sqlite server, then checks every tab against the Store. */
async function check(commands: readonly Command[]): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ssechat-resume-prop-'));
  try {
    await run(commands, dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function run(commands: readonly Command[], dataDir: string): Promise<void> {
  const start = (): Promise<RunningServer> => startTestServer({ store: 'sqlite', dataDir });
  let server = await start();
  const tabs = new Map<TabName, Tab>();
  try {
    const cookies = new Map<Nick, Record<string, string>>();
    for (const nick of NICKS) cookies.set(nick, await session(server.url, nick));
    const cookie = (nick: Nick): Record<string, string> => cookies.get(nick) ?? {};
    const tab = (name: TabName): Tab => {
      let t = tabs.get(name);
      if (!t) {
        const nick = name[0] as Nick;
        t = new Tab(name, nick, cookie(nick).Cookie ?? '');
        tabs.set(name, t);
      }
      return t;
    };
    const send = async ({ from, to, text }: Send): Promise<number> => {
      const reply = await api(server.url, 'POST', '/api/v1/messages', { to, text }, cookie(from));
      assert.equal(reply.status, 201, reply.body);
      return reply.json.id;
    };

    for (const c of commands) {
      switch (c.kind) {
        case 'send':
          await send(c);
          break;
        case 'burst':
          await Promise.all(c.sends.map(send));
          break;
        case 'connect':
          if (!tab(c.tab).connected) tab(c.tab).open(server.url);
          break;
        case 'disconnect':
          tab(c.tab).disconnect();
          break;
        case 'reconnect':
          tab(c.tab).open(server.url);
          break;
        case 'restart': {
          const closing = server.close();
          // Let the server end the streams; a request it took but has not answered yet would
          // otherwise hold the close for its whole grace period.
          await Promise.race([
            Promise.all([...tabs.values()].map((t) => t.waitFor(() => !t.connected, 'close'))),
            sleep(200),
          ]).catch(() => {});
          for (const t of tabs.values()) t.drop();
          await closing;
          server = await start();
          for (const t of tabs.values()) if (t.wanted) t.open(server.url);
          break;
        }
        case 'wait':
          await sleep(c.ms);
          break;
      }
    }

    // Every tab that was ever opened comes back from its last id, then a broadcast marks the
    // end: whatever a tab shows before it is all it will ever show of the run.
    const open = [...tabs.values()].filter((t) => t.opened);
    const hellos = open.map((t) => t.hellos);
    for (const t of open) t.open(server.url);
    await Promise.all(
      open.map((t, i) => t.waitFor(() => t.hellos > (hellos[i] as number), 'hello')),
    );
    const barrier = await send({ from: 'a', to: 'all', text: 'barrier' });
    await Promise.all(open.map((t) => t.waitFor(() => t.ids.includes(barrier), 'barrier')));

    for (const t of open) {
      assert.deepEqual(t.problems, [], t.name);
      const first = t.firstHello as number;
      const truth = (await seenByStore(server.url, cookie(t.nick))).filter(
        (id) => id > first && id <= barrier,
      );
      assert.deepEqual(t.ids, truth, `${t.name}: received (first hello ${first}) vs Store`);
    }
  } finally {
    for (const t of tabs.values()) t.drop();
    await server.close();
  }
}

const nick = fc.constantFrom(...NICKS);
const tabName = fc.constantFrom(...TABS);
const sendArb: fc.Arbitrary<Send> = fc.record({
  from: nick,
  to: fc.constantFrom<Nick | 'all'>('all', ...NICKS),
  text: fc.constantFrom(...TEXTS),
});
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: sendArb.map((s): Command => ({ kind: 'send', ...s })) },
  {
    weight: 2,
    arbitrary: fc
      .array(sendArb, { minLength: 2, maxLength: 12 })
      .map((sends): Command => ({ kind: 'burst', sends })),
  },
  { weight: 3, arbitrary: tabName.map((tab): Command => ({ kind: 'connect', tab })) },
  { weight: 2, arbitrary: tabName.map((tab): Command => ({ kind: 'disconnect', tab })) },
  { weight: 2, arbitrary: tabName.map((tab): Command => ({ kind: 'reconnect', tab })) },
  { weight: 1, arbitrary: fc.constant<Command>({ kind: 'restart' }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 20 }).map((ms): Command => ({ kind: 'wait', ms })),
  },
);

test('resumed streams match the Store exactly, across disconnects and restarts', async () => {
  await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), check), {
    numRuns: 25,
    interruptAfterTimeLimit: 50_000,
    // Show the assertion that failed, not only the counterexample.
    includeErrorInReport: true,
  });
});
