// Issue 21 over the wire: GET /api/v1/search and the pages around a message, against users
// who try to read what is not theirs and queries written to break the engine.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { Actors } from './actors.js';
import { api, NO_LIMITS, startTestServer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-search-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  message: { id: number; from: string; to: string; text: string };
  snippet: string;
}

describe('search over the wire (sqlite)', () => {
  let server: RunningServer;
  const actors = new Actors();
  const { call, say } = actors;
  const search = async (nick: string, params: Record<string, string>) => {
    const reply = await call(nick, 'GET', `/search?${new URLSearchParams(params)}`);
    assert.equal(reply.status, 200, reply.body);
    return reply.json as { results: Result[]; next: number | null };
  };
  const found = async (nick: string, q: string, more: Record<string, string> = {}) =>
    (await search(nick, { q, ...more })).results.map((r) => r.message.id).sort((a, b) => a - b);

  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, store: 'sqlite', dataDir: dir });
    actors.base = server.url;
  });
  after(async () => {
    actors.closeStreams();
    await server.close();
  });

  test("another pair's DM, a room before joining and after leaving are never found", async () => {
    const dm = await say('alice', 'bob', 'the walrus plan');
    assert.deepEqual(await found('carol', 'walrus'), []);
    assert.deepEqual(await found('bob', 'walrus'), [dm]);
    assert.deepEqual(await found('carol', 'walrus', { with: 'bob' }), []);
    assert.deepEqual(await found('carol', 'walrus from:alice'), []);

    assert.equal((await call('alice', 'POST', '/rooms', { name: '#den' })).status, 201);
    const early = await say('alice', '#den', 'walrus early');
    assert.equal((await call('carol', 'POST', '/rooms/den/join', {})).status, 201);
    const during = await say('alice', '#den', 'walrus during');
    assert.equal((await call('carol', 'POST', '/rooms/den/leave', {})).status, 201);
    await say('alice', '#den', 'walrus late');
    assert.deepEqual(await found('carol', 'walrus'), [during]);
    assert.deepEqual(await found('carol', 'walrus in:#den'), [during]);
    assert.ok((await found('alice', 'walrus in:den')).includes(early));
  });

  test('snippets are escaped before the marks are added', async () => {
    const id = await say('alice', 'all', '<img src=x onerror=alert(1)> & "quoted" otter');
    const { results } = await search('bob', { q: 'otter' });
    assert.equal(results[0]?.message.id, id);
    assert.equal(
      results[0]?.snippet,
      '&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot; <mark>otter</mark>',
    );
  });

  test('phrases, prefixes, from and with; an edited text is found by its new words only', async () => {
    const a = await say('alice', 'all', 'the quick brown heron');
    const b = await say('bob', 'all', 'brown quick heron');
    assert.deepEqual(await found('carol', '"quick brown"'), [a]);
    assert.deepEqual(await found('carol', 'her*'), [a, b]);
    assert.deepEqual(await found('carol', 'heron', { from: 'bob' }), [b]);
    assert.deepEqual(await found('carol', 'heron', { with: 'all' }), [a, b]);
    assert.equal(
      (await call('alice', 'PATCH', `/messages/${a}`, { text: 'a slow egret' })).status,
      200,
    );
    assert.deepEqual(await found('carol', 'heron'), [b]);
    assert.deepEqual(await found('carol', 'egret'), [a]);
    assert.equal((await call('bob', 'DELETE', `/messages/${b}`)).status, 200);
    assert.deepEqual(await found('carol', 'heron'), []);
  });

  test('hostile queries answer 200 or 400, never 500', async () => {
    await say('alice', 'all', 'near and or not');
    const queries = [
      '"',
      '*',
      'NEAR(',
      'NEAR(a b, 2)',
      '-',
      ':',
      'a:b',
      '^near',
      "'; DROP TABLE messages; --",
      '") OR 1=1 --',
      '{doc}: near',
      'near*****',
      '*near',
      'x'.repeat(10 * 1024),
      'x'.repeat(7 * 1024),
      'x'.repeat(7 * 1024),
      'near '.repeat(2000),
      '\u0000',
      '\ud800',
      'from:',
      'in:#',
      'with:%',
      'from:alice from:bob near',
    ];
    for (const q of queries) {
      const path = `/search?${new URLSearchParams({ q })}`;
      const reply = await call('bob', 'GET', path);
      // A request target past --max-url-length (8 KiB) is refused by the edge, before routing.
      const allowed = path.length > 8000 ? [400, 414] : [200, 400];
      assert.ok(
        allowed.includes(reply.status),
        `${JSON.stringify(q.slice(0, 40))}: ${reply.status} ${reply.body}`,
      );
      if (reply.status === 400) assert.match(reply.json.error.code, /^(CHAT_|API_)/);
    }
    const bad: Array<Record<string, string>> = [
      { q: 'near', limit: '0' },
      { q: 'near', before: '-1' },
      { q: 'near', with: '#Bad Room' },
      { q: 'near', from: 'a b' },
    ];
    for (const params of bad) {
      const reply = await call('bob', 'GET', `/search?${new URLSearchParams(params)}`);
      assert.equal(reply.status, 400, `${JSON.stringify(params)}: ${reply.body}`);
    }
    const none = await call('bob', 'GET', '/search?q=');
    assert.equal(none.json.error.code, 'CHAT_SEARCH_INVALID');
    assert.equal((await api(server.url, 'GET', '/api/v1/search?q=near')).status, 401);
  });

  test('a page around a message, and pages both ways from it', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(await say('dave', 'erin', `line ${i}`));
    await say('dave', 'frank', 'line elsewhere');
    const mid = ids[15] as number;
    const page = await call('erin', 'GET', `/messages?with=dave&around=${mid}&limit=11`);
    assert.equal(page.status, 200, page.body);
    const got = page.json.messages.map((m: { id: number }) => m.id);
    assert.deepEqual(got, ids.slice(10, 21));
    assert.equal(page.json.before, ids[10]);
    assert.equal(page.json.after, ids[20]);
    const older = await call(
      'erin',
      'GET',
      `/messages?with=dave&before=${page.json.before}&limit=50`,
    );
    assert.deepEqual(
      older.json.messages.map((m: { id: number }) => m.id),
      ids.slice(0, 10),
    );
    const newer = await call(
      'erin',
      'GET',
      `/messages?with=dave&after=${page.json.after}&limit=50`,
    );
    assert.deepEqual(
      newer.json.messages.map((m: { id: number }) => m.id),
      ids.slice(21),
    );
    assert.equal(newer.json.after, null);
    // Someone else, or the wrong conversation, cannot open it.
    const outsider = await call('frank', 'GET', `/messages?with=dave&around=${mid}`);
    assert.equal(outsider.status, 404);
    assert.equal(outsider.json.error.code, 'CHAT_MESSAGE_NOT_FOUND');
    assert.equal((await call('erin', 'GET', `/messages?with=all&around=${mid}`)).status, 404);
    assert.equal(
      (await call('erin', 'GET', `/messages?with=dave&around=${mid}&before=3`)).status,
      400,
    );
  });

  test('next is a sealed cursor: it pages on, and only for the same reader and query', async () => {
    const sent: number[] = [];
    for (let i = 0; i < 7; i++) sent.push(await say('alice', 'all', `kiwi ${i}`));
    const seen: number[] = [];
    let next: string | null = null;
    let first: string | null = null;
    for (let n = 0; n < 10; n++) {
      const params: Record<string, string> = { q: 'kiwi', limit: '3' };
      if (next !== null) params.before = next;
      const page = await search('bob', params);
      seen.push(...page.results.map((r) => r.message.id));
      next = page.next as unknown as string | null;
      if (first === null) first = next;
      if (next === null) break;
      assert.match(next, /^c\.[A-Za-z0-9_-]+$/);
    }
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      sent,
    );
    const cursor = first as unknown as string;
    const refused = async (nick: string, q: string, before: string) => {
      const reply = await call(nick, 'GET', `/search?${new URLSearchParams({ q, before })}`);
      assert.equal(reply.status, 400, reply.body);
      assert.ok(['CHAT_SEARCH_INVALID', 'API_QUERY_INVALID'].includes(reply.json.error.code));
    };
    await refused('carol', 'kiwi', cursor);
    await refused('bob', 'kiwis', cursor);
    await refused('bob', 'kiwi', `${cursor.slice(0, -2)}AA`);
    await refused('bob', 'kiwi', 'c.!!');
  });

  test('searches are rate-limited like sends', async () => {
    const limited = await startTestServer({ store: 'memory' });
    try {
      const other = new Actors();
      other.base = limited.url;
      let status = 200;
      for (let i = 0; i < 200 && status === 200; i++) {
        status = (await other.call('gina', 'GET', '/search?q=anything')).status;
      }
      assert.equal(status, 429);
    } finally {
      await limited.close();
    }
  });
});
