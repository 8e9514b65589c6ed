import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../src/config.js';
import type { RunningServer } from '../src/main.js';
import { api, get, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';

/**
 * Identity over the real wire (issue 16): names nobody owns, budgets keyed by a claimed nick,
 * credentials passed where a ticket goes, addresses of one IPv6 block, and the Origin check.
 */

const dir = mkdtempSync(join(tmpdir(), 'ssechat-identity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'correct horse';

/** A session's requests as `nick`. */
type Caller = (method: string, path: string, body?: unknown) => ReturnType<typeof api>;

function caller(base: string, cookie: Record<string, string>): Caller {
  return (method, path, body) => api(base, method, `/api/v1${path}`, body, cookie);
}

/** Opens a JSON stream and waits for its hello (after any replay and mailbox). */
async function stream(
  base: string,
  cookie: Record<string, string>,
  lastEventId?: string,
): Promise<SseClient> {
  const query = lastEventId === undefined ? '' : `?lastEventId=${lastEventId}`;
  const s = await SseClient.open(base, `/api/v1/events${query}`, cookie);
  await s.waitFor((c) => c.of('hello').length > 0);
  return s;
}

describe('names nobody owns (accounts mode)', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, auth: 'accounts' });
    base = server.url;
  });
  after(() => server.close());

  test('a direct message to an unregistered nick is refused with 404, on both doors', async () => {
    const ann = await session(base, 'ann', PASSWORD, true);
    const as = caller(base, ann);
    const dm = await as('POST', '/messages', { to: 'nobody', text: 'for whoever registers' });
    assert.equal(dm.status, 404, dm.body);
    assert.equal(dm.json.error.code, 'CHAT_USER_NOT_FOUND');
    // Another case of a registered nick is not that user: nobody could ever read it.
    const cased = await as('POST', '/messages', { to: 'ANN', text: 'x' });
    assert.equal(cased.json.error.code, 'CHAT_USER_NOT_FOUND');
    const classic = await get(base, '/msg/ann/nobody%20hello', ann);
    assert.equal(classic.status, 404, classic.body);
    assert.match(classic.body, /CHAT_USER_NOT_FOUND|no registered user/);
    // Registered users, oneself and everyone still get theirs.
    await session(base, 'bea', PASSWORD, true);
    assert.equal((await as('POST', '/messages', { to: 'bea', text: 'hi' })).status, 201);
    assert.equal((await as('POST', '/messages', { to: 'ann', text: 'note' })).status, 201);
    assert.equal((await as('POST', '/messages', { to: 'all', text: 'hi all' })).status, 201);
    assert.equal((await get(base, '/msg/ann/bea%20classic', ann)).status, 204);

    // Whoever registers the nick later finds nothing addressed to it.
    const nobody = await session(base, 'nobody', PASSWORD, true);
    const page = await caller(base, nobody)('GET', '/messages?with=ann');
    assert.deepEqual(page.json.messages, []);
  });

  test('an invitation to an unregistered nick is refused with 404', async () => {
    const owner = caller(base, await session(base, 'owner', PASSWORD, true));
    await session(base, 'guest', PASSWORD, true);
    assert.equal(
      (await owner('POST', '/rooms', { name: '#den', visibility: 'private' })).status,
      201,
    );
    const ghost = await owner('POST', '/rooms/den/invite', { user: 'ghost' });
    assert.equal(ghost.status, 404, ghost.body);
    assert.equal(ghost.json.error.code, 'CHAT_USER_NOT_FOUND');
    assert.equal((await owner('POST', '/rooms/den/invite', { user: 'guest' })).status, 201);

    const later = caller(base, await session(base, 'ghost', PASSWORD, true));
    const rooms = await later('GET', '/rooms');
    assert.deepEqual(
      rooms.json.rooms.filter((r: { name: string }) => r.name === '#den'),
      [],
    );
    assert.equal((await later('POST', '/rooms/den/join', {})).json.error.code, 'CHAT_FORBIDDEN');
  });
});

describe('names nobody owns: a store that switches from open to accounts mode', () => {
  test('open-mode messages and invitations to a nick never registered do not reach its later registrant', async () => {
    const dataDir = join(dir, 'switch');
    const settings: Partial<Config> = { ...NO_LIMITS, store: 'sqlite', dataDir };
    const open = await startTestServer({ ...settings, auth: 'open' });
    let secretId = 0;
    try {
      const alice = caller(open.url, await session(open.url, 'alice'));
      const sent = await alice('POST', '/messages', { to: 'bob', text: 'the door code is 1234' });
      assert.equal(sent.status, 201, sent.body);
      secretId = sent.json.id;
      assert.equal((await alice('POST', '/messages', { to: 'bob', text: 'bob?' })).status, 201);
      await alice('POST', '/rooms', { name: '#vault', visibility: 'private' });
      assert.equal((await alice('POST', '/rooms/vault/invite', { user: 'bob' })).status, 201);
      // A classic send lands in the mailbox too.
      assert.equal((await get(open.url, '/msg/carol/bob%20classic%20secret')).status, 204);
    } finally {
      await open.close();
    }

    const accounts = await startTestServer({ ...settings, auth: 'accounts' });
    try {
      const base = accounts.url;
      await session(base, 'alice', PASSWORD, true);
      const bobCookie = await session(base, 'bob', PASSWORD, true);
      const bob = caller(base, bobCookie);
      // Not in the mailbox of a fresh stream…
      const fresh = await stream(base, bobCookie);
      assert.deepEqual(fresh.of('message'), []);
      fresh.close();
      // …nor in a replay from the start, nor in history.
      const replay = await stream(base, bobCookie, '0');
      assert.deepEqual(
        replay.of('message').map((m: { text: string }) => m.text),
        [],
      );
      assert.deepEqual(
        replay.of('member').filter((m: { user: string }) => m.user === 'bob'),
        [],
      );
      replay.close();
      assert.deepEqual((await bob('GET', '/messages?with=alice')).json.messages, []);
      assert.deepEqual((await bob('GET', '/messages?with=carol')).json.messages, []);
      // The invitation is gone: no listing, no way into the private room.
      const listed = (await bob('GET', '/rooms')).json.rooms.map((r: { name: string }) => r.name);
      assert.ok(!listed.includes('#vault'), String(listed));
      // alice had no account at the switch either, so her membership ended there and her
      // room, left empty, is gone (test/switch.test.ts): no way in.
      const join = await bob('POST', '/rooms/vault/join', {});
      assert.equal(join.status, 404, join.body);
      assert.equal(join.json.error.code, 'CHAT_ROOM_NOT_FOUND');
      // Nor can he mark it read: a receipt would tell alice "bob read it".
      const read = await bob('POST', '/read', { upTo: secretId });
      assert.equal(read.status, 400, read.body);
      assert.equal(read.json.error.code, 'CHAT_RECEIPT_INVALID');

      // What alice sent is still hers, and what reaches bob from now on is his.
      const aliceCookie = await session(base, 'alice', PASSWORD);
      const aliceCalls = caller(base, aliceCookie);
      const mine = (await aliceCalls('GET', '/messages?with=bob')).json.messages;
      assert.equal(mine.length, 2);
      assert.equal((await aliceCalls('POST', '/messages', { to: 'bob', text: 'now' })).status, 201);
      const after = (await bob('GET', '/messages?with=alice')).json.messages;
      assert.deepEqual(
        after.map((m: { text: string }) => m.text),
        ['now'],
      );
    } finally {
      await accounts.close();
    }
  });
});

describe('open-mode budgets are not keyed by the claimed nick alone', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, trustProxy: 'yes' });
    base = server.url;
  });
  after(() => server.close());

  /** A session of `nick` claimed from `ip`, whose requests all come from `ip`. */
  const from = async (ip: string, nick: string): Promise<Caller> => {
    const forwarded = { 'X-Forwarded-For': ip };
    const login = await api(base, 'POST', '/api/v1/session', { nick }, forwarded);
    assert.equal(login.status, 201, login.body);
    const cookie = String(login.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    return (method, path, body) =>
      api(base, method, `/api/v1${path}`, body, { Cookie: cookie, ...forwarded });
  };

  test('read receipts: one address cannot use up another user their budget', async () => {
    const poster = await from('10.1.0.1', 'poster');
    const id = (await poster('POST', '/messages', { to: 'all', text: 'read me' })).json.id;
    const mallory = await from('10.1.0.66', 'victim');
    let refused = 0;
    for (let i = 0; i < 121; i++) {
      if ((await mallory('POST', '/read', { upTo: id })).status === 429) refused++;
    }
    assert.ok(refused > 0, 'the claimed nick still has a budget from that address');
    const victim = await from('10.1.0.2', 'victim');
    const mine = await victim('POST', '/read', { upTo: id });
    assert.equal(mine.status, 201, mine.body);
  });

  test('tokens: another address cannot use up a nick, tokens expire, an address is bounded', async () => {
    const mallory = await from('10.2.0.66', 'tok');
    const statuses: number[] = [];
    for (let i = 0; i < 101; i++) statuses.push((await mallory('POST', '/tokens', {})).status);
    assert.ok(statuses.includes(429), 'one address may create only so many tokens');
    const victim = await from('10.2.0.2', 'tok');
    const made = await victim('POST', '/tokens', { label: 'bot' });
    assert.equal(made.status, 201, made.body);
    // Open mode: a token has a lifetime, stated when it is made.
    const day = 24 * 60 * 60 * 1000;
    assert.equal(made.json.expires - made.json.created, 30 * day);
  });

  test('tickets: another address cannot use up a nick', async () => {
    const mallory = await from('10.3.0.66', 'tix');
    for (let i = 0; i < 30; i++) await mallory('POST', '/tickets', {});
    const victim = await from('10.3.0.2', 'tix');
    const ticket = await victim('POST', '/tickets', {});
    assert.equal(ticket.status, 201, ticket.body);
  });

  test('login attempts from one IPv6 /64 share one budget', async () => {
    let last = 0;
    for (let i = 1; i <= 101; i++) {
      const reply = await api(
        base,
        'POST',
        '/api/v1/session',
        { nick: `v6user${i}` },
        { 'X-Forwarded-For': `2001:db8:6:1::${i.toString(16)}` },
      );
      last = reply.status;
    }
    assert.equal(last, 429);
    // Another /64 is another client.
    const other = await api(
      base,
      'POST',
      '/api/v1/session',
      { nick: 'v6other' },
      { 'X-Forwarded-For': '2001:db8:6:2::1' },
    );
    assert.equal(other.status, 201);
  });
});

describe('credentials where a ticket goes', () => {
  for (const auth of ['open', 'accounts'] as const) {
    test(`a session secret or token as ?ticket= is refused and keeps working (${auth})`, async () => {
      const server = await startTestServer({ ...NO_LIMITS, auth });
      try {
        const base = server.url;
        const cookie = await session(base, 'tess', PASSWORD, auth === 'accounts');
        const secret = String(cookie.Cookie).split('=')[1] ?? '';
        const made = await api(base, 'POST', '/api/v1/tokens', {}, cookie);
        const token = made.json.token as string;
        for (const wrong of [secret, token]) {
          const api1 = await get(base, `/api/v1/events?ticket=${wrong}`, {
            Accept: 'text/event-stream',
          });
          assert.equal(api1.status, 401);
          if (auth === 'accounts') {
            const classic = await get(base, `/tess?ticket=${wrong}`, {
              Accept: 'text/event-stream',
            });
            assert.equal(classic.status, 401);
          }
        }
        assert.equal((await api(base, 'GET', '/api/v1/session', undefined, cookie)).status, 200);
        const bearer = { Authorization: `Bearer ${token}` };
        assert.equal((await api(base, 'GET', '/api/v1/session', undefined, bearer)).status, 200);
      } finally {
        await server.close();
      }
    });
  }
});

describe('the Origin check compares scheme, host and port', () => {
  let server: RunningServer;
  let proxied: RunningServer;
  before(async () => {
    server = await startTestServer(NO_LIMITS);
    proxied = await startTestServer({ ...NO_LIMITS, trustProxy: 'yes' });
  });
  after(() => Promise.all([server.close(), proxied.close()]));

  const login = (base: string, headers: Record<string, string>) =>
    api(base, 'POST', '/api/v1/session', { nick: 'orin' }, headers);

  test('another scheme on the same host and port is another origin', async () => {
    const host = new URL(server.url).host;
    const https = await login(server.url, { Origin: `https://${host}` });
    assert.equal(https.status, 403, https.body);
    assert.equal(https.json.error.code, 'AUTH_CROSS_SITE');
    const referer = await get(server.url, '/msg/orin/all%20hi', {
      Referer: `https://${host}/page`,
    });
    assert.equal(referer.status, 403);
    assert.equal((await login(server.url, { Origin: `http://${host}` })).status, 201);
    assert.equal((await login(server.url, { Origin: 'http://127.0.0.1:1' })).status, 403);
  });

  test('a default port compares equal to an absent one', async () => {
    for (const [host, origin] of [
      ['chat.example:80', 'http://chat.example'],
      ['chat.example', 'http://chat.example:80'],
    ] as const) {
      const reply = await login(server.url, { Host: host, Origin: origin });
      assert.equal(reply.status, 201, `${host} ${origin}: ${reply.body}`);
    }
    const other = await login(server.url, {
      Host: 'chat.example:80',
      Origin: 'http://chat.example:81',
    });
    assert.equal(other.status, 403);
  });

  test('behind a trusted proxy the scheme is X-Forwarded-Proto', async () => {
    const headers = { Host: 'chat.example', 'X-Forwarded-Proto': 'https' };
    const ok = await login(proxied.url, { ...headers, Origin: 'https://chat.example' });
    assert.equal(ok.status, 201, ok.body);
    const plain = await login(proxied.url, { ...headers, Origin: 'http://chat.example' });
    assert.equal(plain.status, 403);
    // Without --trust-proxy the header is the client's word, not the proxy's.
    const untrusted = await login(server.url, { ...headers, Origin: 'https://chat.example' });
    assert.equal(untrusted.status, 403);
  });
});
