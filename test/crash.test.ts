// kill -9 under sustained load loses nothing acknowledged. Several senders keep sending over
// keep-alive (JSON API POSTs and classic /msg GETs) to receivers with open streams; the server
// (a child process on SQLite) is killed with SIGKILL in the middle, twice, and restarted on
// the same data dir each time. Every message that got its 2xx must then be in history and must
// reach its recipients: live before the kill, or in the replay when they resume with
// Last-Event-ID, in id order and once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  api,
  type ChildServer,
  killChild,
  NO_LIMIT_FLAGS,
  SseClient,
  session,
  spawnServer,
} from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const RECEIVERS = ['rx1', 'rx2'];
const API_SENDERS = ['api1', 'api2', 'api3', 'api4'];
const CLASSIC_SENDERS = ['cl1', 'cl2'];
/** Load before each kill: at least this long, then a random extra of up to as much again. */
const LOAD_MS = 800;

/** A message that got its 2xx: its text is unique, so the classic ones (204, no id) count too. */
interface Acked {
  readonly from: string;
  readonly to: string;
  readonly text: string;
}

/** One receiver's view over successive streams: texts by id, and the last id seen. */
class Receiver {
  readonly seen = new Map<number, string>();
  lastId: string | undefined;
  stream: SseClient | undefined;
  readonly problems: string[] = [];

  constructor(
    readonly nick: string,
    readonly cookie: Record<string, string>,
  ) {}

  /** Opens a stream (resuming from the last id seen), and waits for its hello. */
  async open(url: string): Promise<void> {
    const headers = { ...this.cookie, ...(this.lastId ? { 'Last-Event-ID': this.lastId } : {}) };
    const s = await SseClient.open(url, '/api/v1/events', headers);
    assert.equal(s.status, 200);
    this.stream = s;
    await s.waitFor((c) => c.events.some((e) => e.type === 'hello'), 10_000);
  }

  /** Takes in what the current stream carried, checking order and uniqueness. */
  collect(): void {
    for (const e of this.stream?.events ?? []) {
      if (e.type === 'reset') this.problems.push(`reset: ${e.data}`);
      if (e.id === undefined) continue;
      if (e.type === 'message') {
        const m = JSON.parse(e.data) as { id: number; text: string };
        if (this.seen.has(m.id)) this.problems.push(`message ${m.id} twice`);
        const last = Math.max(0, ...this.seen.keys());
        if (m.id < last) this.problems.push(`message ${m.id} after ${last}`);
        this.seen.set(m.id, m.text);
      }
      this.lastId = e.id;
    }
    this.stream = undefined;
  }

  /** Texts of every message seen. */
  texts(): Set<string> {
    return new Set(this.seen.values());
  }
}

/** Sends until `stop()` is true; returns every message that got its 2xx. */
async function sendLoop(
  url: string,
  from: string,
  cookie: Record<string, string> | undefined,
  round: number,
  stop: () => boolean,
): Promise<Acked[]> {
  // One keep-alive connection per sender, as a client that sends message after message.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const acked: Acked[] = [];
  for (let n = 0; !stop(); n++) {
    const to = n % 5 === 0 ? 'all' : (RECEIVERS[n % RECEIVERS.length] as string);
    const text = `${from}-r${round}-${n}`;
    const status = await (cookie
      ? post(url, agent, cookie, { to, text, clientId: text })
      : getStatus(url, agent, `/msg/${from}/${to}%20${text}`)
    ).catch(() => 0); // the kill cuts requests in flight: they were not acknowledged
    if (status === 201 || status === 204) acked.push({ from, to, text });
    else if (status !== 0) throw new Error(`${from}: unexpected status ${status}`);
  }
  agent.destroy();
  return acked;
}

function post(url: string, agent: Agent, cookie: Record<string, string>, body: object) {
  const payload = JSON.stringify(body);
  const headers = { ...cookie, 'Content-Type': 'application/json' };
  return exchange(url, agent, 'POST', '/api/v1/messages', headers, payload);
}

function getStatus(url: string, agent: Agent, path: string): Promise<number> {
  return exchange(url, agent, 'GET', path, {}, undefined);
}

function exchange(
  url: string,
  agent: Agent,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Every message text `reader` may see in its history with `peer`, paging to the start. */
async function historyTexts(
  url: string,
  reader: Record<string, string>,
  peer: string,
): Promise<Set<string>> {
  const texts = new Set<string>();
  let before = '';
  for (;;) {
    const path = `/api/v1/messages?with=${peer}&limit=200${before ? `&before=${before}` : ''}`;
    const page = await api(url, 'GET', path, undefined, reader);
    assert.equal(page.status, 200);
    for (const m of page.json.messages as Array<{ text: string }>) texts.add(m.text);
    if (page.json.before === null) return texts;
    before = String(page.json.before);
  }
}

test('kill -9 during sustained sends loses no acknowledged message', {
  timeout: 90_000,
}, async () => {
  let server: ChildServer = await spawnServer(dir, NO_LIMIT_FLAGS);
  const acked: Acked[] = [];
  try {
    const cookies = new Map<string, Record<string, string>>();
    for (const nick of [...RECEIVERS, ...API_SENDERS]) {
      cookies.set(nick, await session(server.url, nick));
    }
    const receivers = RECEIVERS.map((nick) => new Receiver(nick, cookies.get(nick) ?? {}));
    for (const round of [1, 2]) {
      for (const r of receivers) await r.open(server.url);
      let stopped = false;
      const loops = [
        ...API_SENDERS.map((s) => sendLoop(server.url, s, cookies.get(s), round, () => stopped)),
        ...CLASSIC_SENDERS.map((s) => sendLoop(server.url, s, undefined, round, () => stopped)),
      ];
      // The kill lands at a random point of the load, with requests in flight.
      await sleep(LOAD_MS + Math.random() * LOAD_MS);
      assert.equal(await killChild(server.child, 'SIGKILL'), null);
      stopped = true;
      const roundAcked = (await Promise.all(loops)).flat();
      assert.ok(roundAcked.length >= 50, `only ${roundAcked.length} sends acknowledged`);
      acked.push(...roundAcked);
      for (const r of receivers) {
        await r.stream?.waitFor((c) => c.closed, 5_000);
        r.collect();
      }
      server = await spawnServer(dir, NO_LIMIT_FLAGS);
    }

    // Resume once more on the restarted server: the replay brings what the kill cut off.
    for (const r of receivers) {
      await r.open(server.url);
      // Everything the replay carries comes before hello; one more send marks the end.
      const mark = `mark-${r.nick}`;
      const cookie = cookies.get('api1') ?? {};
      const sent = await api(
        server.url,
        'POST',
        '/api/v1/messages',
        { to: r.nick, text: mark },
        cookie,
      );
      assert.equal(sent.status, 201);
      await r.stream?.waitFor((c) => c.raw.includes(mark), 10_000);
      r.stream?.close();
      r.collect();
      assert.deepEqual(r.problems, [], `${r.nick}: ${r.problems.join('; ')}`);
      const got = r.texts();
      const missing = acked
        .filter((m) => m.to === r.nick || m.to === 'all')
        .filter((m) => !got.has(m.text));
      assert.deepEqual(missing, [], `${r.nick} never got ${missing.length} acknowledged messages`);
    }

    // History has every acknowledged message, as its recipient sees it.
    const rx = cookies.get('rx1') ?? {};
    const all = await historyTexts(server.url, rx, 'all');
    for (const nick of RECEIVERS) {
      const reader = cookies.get(nick) ?? {};
      for (const from of [...API_SENDERS, ...CLASSIC_SENDERS]) {
        const texts = await historyTexts(server.url, reader, from);
        const missing = acked.filter((m) => m.from === from && m.to === nick && !texts.has(m.text));
        assert.deepEqual(missing, [], `history of ${nick} with ${from}`);
      }
    }
    const missingAll = acked.filter((m) => m.to === 'all' && !all.has(m.text));
    assert.deepEqual(missingAll, [], 'broadcast history');
  } finally {
    await killChild(server.child, 'SIGKILL');
  }
});
