// Property: whatever sequence of sends, room joins and leaves, edits, deletes, connects,
// disconnects, resumes and server restarts happens, every stream that resumes with its last
// id ends up with exactly the events the Store says its user sees after the stream's first
// hello: in id order, none twice, none left. Two truths: the conversations' history pages
// (messages to everyone and direct ones), and one replay of everything from that hello.
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
import { api, SseClient, session, startTestServer } from './helpers.js';

const NICKS = ['a', 'b', 'c'] as const;
/** Streams: a user may have two tabs, each with its own resume point. */
const TABS = ['a0', 'a1', 'b0', 'b1', 'c0'] as const;
// The JSON API refuses an empty or blank text (CHAT_TEXT_EMPTY, issue 22): '.' is the
// shortest it takes.
const TEXTS = ['hi', '.', 'two\nlines', 'ünïcode ✓', 'x'.repeat(300)];
/** Public rooms made at the start, by a and b; members come and go. */
const ROOMS = ['#r1', '#r2'] as const;
/** The events with an `id:` that a tab records (hello aside). */
const LOGGED = ['message', 'read', 'member', 'edit', 'delete'] as const;

type Nick = (typeof NICKS)[number];
type Room = (typeof ROOMS)[number];
type TabName = (typeof TABS)[number];
type Send = { readonly from: Nick; readonly to: Nick | Room | 'all'; readonly text: string };
type Command =
  | ({ readonly kind: 'send' } & Send)
  | { readonly kind: 'join' | 'leave'; readonly nick: Nick; readonly room: Room }
  /** Edits or deletes the `pick`-th (modulo) message `by` sent so far, if any. */
  | { readonly kind: 'edit' | 'delete'; readonly by: Nick; readonly pick: number }
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
  /** Every logged event's id, in arrival order. */
  readonly ids: number[] = [];
  /** The ids of the messages to everyone or to one user (not to a room). */
  readonly direct: number[] = [];
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
    for (const type of LOGGED) {
      es.addEventListener(type, (e) => {
        if (!live()) return;
        const m = JSON.parse(e.data) as { id: number; offline?: boolean; to?: string };
        if (e.lastEventId === '') {
          // A fresh connect's mailbox, which the hello's id already covers.
          if (type !== 'message' || !m.offline || hello === undefined || m.id > hello) {
            this.problems.push(`${type} ${m.id} without id: after hello ${hello}`);
          }
          return;
        }
        if (e.lastEventId !== String(m.id)) this.problems.push(`id: ${e.lastEventId} != ${m.id}`);
        this.ids.push(m.id);
        if (type === 'message' && !m.to?.startsWith('#')) this.direct.push(m.id);
        this.lastId = e.lastEventId;
      });
    }
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

/** The ids of every logged event `nick` sees in (after, upTo], replayed by one fresh stream. */
async function replayed(
  base: string,
  cookie: Record<string, string>,
  after: number,
  upTo: number,
): Promise<number[]> {
  const stream = await SseClient.open(base, '/api/v1/events', {
    ...cookie,
    'Last-Event-ID': String(after),
  });
  try {
    await stream.waitFor((c) => c.events.some((e) => e.type === 'hello'), 5_000);
    const replay = stream.events.slice(
      0,
      stream.events.findIndex((e) => e.type === 'hello'),
    );
    assert.ok(!replay.some((e) => e.type === 'reset'), 'the truth replay was reset');
    return replay.map((e) => Number(e.id)).filter((id) => id <= upTo);
  } finally {
    stream.close();
  }
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
    /** What each user sent, for edits and deletes to pick from. */
    const sent = new Map<Nick, number[]>(NICKS.map((n) => [n, []]));
    const send = async ({ from, to, text }: Send): Promise<number> => {
      const reply = await api(server.url, 'POST', '/api/v1/messages', { to, text }, cookie(from));
      // A room the sender is not in (or that is gone: its last member left) refuses the
      // message, and stores nothing.
      if (to.startsWith('#') && (reply.status === 403 || reply.status === 404)) return 0;
      assert.equal(reply.status, 201, reply.body);
      sent.get(from)?.push(reply.json.id);
      return reply.json.id;
    };
    const call = async (nick: Nick, method: string, path: string, body?: unknown) =>
      api(server.url, method, `/api/v1${path}`, body ?? {}, cookie(nick));
    for (const [i, room] of ROOMS.entries()) {
      const made = await call(NICKS[i] as Nick, 'POST', '/rooms', { name: room });
      assert.equal(made.status, 201, made.body);
    }

    for (const c of commands) {
      switch (c.kind) {
        case 'send':
          await send(c);
          break;
        case 'burst':
          await Promise.all(c.sends.map(send));
          break;
        case 'join':
        case 'leave': {
          const path = `/rooms/${c.room.slice(1)}`;
          let reply = await call(c.nick, 'POST', `${path}/${c.kind}`);
          // Its last member left, so the room is gone: joining makes it again (a new life of
          // the name, which must replay apart from the old one), unless the creation rate
          // says no.
          if (c.kind === 'join' && reply.status === 404) {
            reply = await call(c.nick, 'POST', '/rooms', { name: c.room });
            assert.ok([201, 429].includes(reply.status), reply.body);
            break;
          }
          // Leaving a room one is not in (or that is gone) is refused; joining twice changes
          // nothing.
          assert.ok([200, 201, 403, 404].includes(reply.status), reply.body);
          break;
        }
        case 'edit':
        case 'delete': {
          const mine = sent.get(c.by) ?? [];
          if (mine.length === 0) break;
          const id = mine[c.pick % mine.length];
          const reply =
            c.kind === 'edit'
              ? await call(c.by, 'PATCH', `/messages/${id}`, { text: `edited ${c.pick}` })
              : await api(server.url, 'DELETE', `/api/v1/messages/${id}`, undefined, cookie(c.by));
          // Deleted already, or in a room its sender has left since: not found.
          assert.ok([200, 404].includes(reply.status), reply.body);
          break;
        }
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
      assert.deepEqual(t.direct, truth, `${t.name}: messages (first hello ${first}) vs history`);
      const all = await replayed(server.url, cookie(t.nick), first, barrier);
      assert.deepEqual(t.ids, all, `${t.name}: events (first hello ${first}) vs one replay`);
    }
  } finally {
    for (const t of tabs.values()) t.drop();
    await server.close();
  }
}

const nick = fc.constantFrom(...NICKS);
const tabName = fc.constantFrom(...TABS);
const room = fc.constantFrom(...ROOMS);
const sendArb: fc.Arbitrary<Send> = fc.record({
  from: nick,
  to: fc.constantFrom<Nick | Room | 'all'>('all', ...NICKS, ...ROOMS),
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
    weight: 2,
    arbitrary: fc
      .record({ kind: fc.constantFrom('join' as const, 'leave' as const), nick, room })
      .map((c): Command => c),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        kind: fc.constantFrom('edit' as const, 'delete' as const),
        by: nick,
        pick: fc.nat(20),
      })
      .map((c): Command => c),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 20 }).map((ms): Command => ({ kind: 'wait', ms })),
  },
);

test('resumed streams match the Store exactly, across rooms, edits, deletes, disconnects and restarts', async () => {
  await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), check), {
    numRuns: 25,
    interruptAfterTimeLimit: 50_000,
    // Show the assertion that failed, not only the counterexample.
    includeErrorInReport: true,
  });
});
