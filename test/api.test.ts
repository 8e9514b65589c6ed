import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { api, get, SseClient, session, startTestServer } from './helpers.js';

describe('JSON API, open mode', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ presenceGraceMs: 300 });
    base = server.url;
  });
  after(() => server.close());

  test('a session is a nick alone, in an HttpOnly SameSite=Lax cookie', async () => {
    const reply = await api(base, 'POST', '/api/v1/session', { nick: 'ann' });
    assert.equal(reply.status, 201);
    assert.deepEqual(reply.json, { user: 'ann', auth: 'open', maxMessageLength: 2000 });
    const cookie = String(reply.headers['set-cookie']?.[0]);
    assert.match(
      cookie,
      /^ssechat_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
    );
    const who = await api(base, 'GET', '/api/v1/session', undefined, {
      Cookie: cookie.split(';')[0] ?? '',
    });
    assert.deepEqual(who.json, { user: 'ann', auth: 'open', maxMessageLength: 2000 });
  });

  test('the cookie is Secure behind TLS', async () => {
    const reply = await api(
      base,
      'POST',
      '/api/v1/session',
      { nick: 'tls' },
      {
        'X-Forwarded-Proto': 'https',
      },
    );
    assert.match(String(reply.headers['set-cookie']?.[0]), /; Secure$/);
  });

  test('no session gets 401 with a JSON error on every API route', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/messages', undefined],
      ['POST', '/api/v1/messages', { to: 'all', text: 'x' }],
      ['GET', '/api/v1/presence', undefined],
      ['POST', '/api/v1/read', { upTo: 1 }],
      ['POST', '/api/v1/tickets', {}],
      ['GET', '/api/v1/session', undefined],
    ] as const) {
      const reply = await api(base, method, path, body);
      assert.equal(reply.status, 401, `${method} ${path}`);
      assert.equal(reply.json.error.code, 'AUTH_REQUIRED');
    }
    const stream = await get(base, '/api/v1/events', { Accept: 'text/event-stream' });
    assert.equal(stream.status, 401);
    const forged = await api(base, 'GET', '/api/v1/presence', undefined, {
      Cookie: 'ssechat_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    });
    assert.equal(forged.status, 401);
  });

  test('send, stream and history; a stranger sees none of a DM', async () => {
    const ann = await session(base, 'ann');
    const bob = await session(base, 'bob');
    const cat = await session(base, 'cat');
    const bobStream = await SseClient.open(base, '/api/v1/events', bob);
    const catStream = await SseClient.open(base, '/api/v1/events', cat);
    assert.equal(bobStream.status, 200);
    await bobStream.waitFor((c) => c.of('hello').length === 1);
    await catStream.waitFor((c) => c.of('hello').length === 1);
    const hello = bobStream.events[0];
    assert.equal(hello?.type, 'hello');
    assert.equal(hello?.id, String(bobStream.of('hello')[0].id));

    const dm = await api(base, 'POST', '/api/v1/messages', { to: 'bob', text: 'secret' }, ann);
    assert.equal(dm.status, 201);
    assert.ok(Number.isSafeInteger(dm.json.id) && dm.json.ts > 0);
    const all = await api(
      base,
      'POST',
      '/api/v1/messages',
      { to: 'all', text: 'hi <b>all</b>\nline 2' },
      ann,
    );
    assert.equal(all.status, 201);

    await bobStream.waitFor((c) => c.of('message').length === 2);
    await catStream.waitFor((c) => c.of('message').length === 1);
    assert.deepEqual(
      bobStream.of('message').map((m) => [m.from, m.to, m.text]),
      [
        ['ann', 'bob', 'secret'],
        ['ann', 'all', 'hi <b>all</b>\nline 2'],
      ],
    );
    assert.deepEqual(
      catStream.of('message').map((m) => m.text),
      ['hi <b>all</b>\nline 2'],
    );
    assert.equal(bobStream.events.find((e) => e.type === 'message')?.id, String(dm.json.id));

    const bobHistory = await api(base, 'GET', '/api/v1/messages?with=ann', undefined, bob);
    assert.deepEqual(
      bobHistory.json.messages.map((m: { text: string }) => m.text),
      ['secret'],
    );
    const catHistory = await api(base, 'GET', '/api/v1/messages?with=ann', undefined, cat);
    assert.deepEqual(catHistory.json.messages, []);
    const catWithBob = await api(base, 'GET', '/api/v1/messages?with=bob', undefined, cat);
    assert.deepEqual(catWithBob.json.messages, []);
    const broadcasts = await api(base, 'GET', '/api/v1/messages?with=all&limit=1', undefined, cat);
    assert.equal(broadcasts.json.messages.length, 1);
    assert.equal(broadcasts.json.before, all.json.id);
    bobStream.close();
    catStream.close();
  });

  test('a retry with the same clientId returns the same id and delivers once', async () => {
    const dan = await session(base, 'dan');
    const eve = await session(base, 'eve');
    const stream = await SseClient.open(base, '/api/v1/events', eve);
    await stream.waitFor((c) => c.of('hello').length === 1);
    const send = () =>
      api(base, 'POST', '/api/v1/messages', { to: 'eve', text: 'once', clientId: 'c-1' }, dan);
    const [a, b] = await Promise.all([send(), send()]);
    const c = await send();
    assert.equal(a.status, 201);
    assert.equal(a.json.id, b.json.id);
    assert.equal(a.json.id, c.json.id);
    assert.equal(c.headers['idempotent-replayed'], 'true');
    // The same clientId from another sender is another message.
    const other = await api(
      base,
      'POST',
      '/api/v1/messages',
      { to: 'eve', text: 'x', clientId: 'c-1' },
      eve,
    );
    assert.notEqual(other.json.id, a.json.id);
    await stream.waitFor((s) => s.of('message').some((m) => m.text === 'x'));
    assert.equal(stream.of('message').filter((m) => m.text === 'once').length, 1);
    stream.close();
  });

  test('bad bodies get clear errors', async () => {
    const ann = await session(base, 'ann');
    const cases: Array<[unknown, Record<string, string>, number, string]> = [
      [{ to: 'all', text: 'x' }, { 'Content-Type': 'text/plain' }, 415, 'API_JSON_REQUIRED'],
      [{ to: 'all' }, {}, 400, 'API_BODY_INVALID'],
      [{ to: 'all', text: 'a\u0000b' }, {}, 400, 'CHAT_TEXT_INVALID'],
      [{ to: 'al l', text: 'x' }, {}, 400, 'CHAT_NICK_INVALID'],
      [{ to: 'all', text: 'x', clientId: 'a b' }, {}, 400, 'CHAT_CLIENT_ID_INVALID'],
      [{ to: 'all', text: 'x'.repeat(2001) }, {}, 413, 'CHAT_TEXT_TOO_LONG'],
      [[1, 2], {}, 400, 'API_BODY_INVALID'],
    ];
    for (const [body, headers, status, code] of cases) {
      const reply = await api(base, 'POST', '/api/v1/messages', body, { ...ann, ...headers });
      assert.equal(reply.status, status, JSON.stringify(body).slice(0, 50));
      assert.equal(reply.json.error.code, code);
    }
    const huge = await api(
      base,
      'POST',
      '/api/v1/messages',
      { to: 'all', text: 'x'.repeat(100_000) },
      ann,
    );
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error.code, 'API_BODY_TOO_LARGE');
    const query = await api(base, 'GET', '/api/v1/messages?limit=0', undefined, ann);
    assert.equal(query.json.error.code, 'API_QUERY_INVALID');
    const method = await api(base, 'PUT', '/api/v1/messages', {}, ann);
    assert.equal(method.status, 405);
    assert.equal(method.headers.allow, 'GET, POST');
    assert.equal((await api(base, 'GET', '/api/v1/nothing', undefined, ann)).status, 404);
  });

  test('cross-site requests are refused, same-origin and non-browser ones pass', async () => {
    const ann = await session(base, 'ann');
    const host = new URL(base).host;
    const send = (headers: Record<string, string>) =>
      api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'csrf?' }, { ...ann, ...headers });
    const refused: Array<Record<string, string>> = [
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
      { Origin: 'http://evil.example' },
      { Origin: 'null' },
    ];
    for (const headers of refused) {
      const reply = await send(headers);
      assert.equal(reply.status, 403, JSON.stringify(headers));
      assert.equal(reply.json.error.code, 'AUTH_CROSS_SITE');
    }
    assert.equal((await send({ 'Sec-Fetch-Site': 'same-origin' })).status, 201);
    assert.equal((await send({ Origin: `http://${host}` })).status, 201);
    assert.equal((await send({})).status, 201);
    // The classic send changes state through a GET: the same rule applies.
    const classic = await get(base, '/msg/ann/all%20csrf', { 'Sec-Fetch-Site': 'cross-site' });
    assert.equal(classic.status, 403);
    // Logging in from another site is refused too (login CSRF).
    const login = await api(
      base,
      'POST',
      '/api/v1/session',
      { nick: 'x' },
      { Origin: 'http://evil.example' },
    );
    assert.equal(login.status, 403);
  });

  test('tickets open one stream once; tokens work as bearer until revoked', async () => {
    const ann = await session(base, 'ann');
    const ticket = await api(base, 'POST', '/api/v1/tickets', {}, ann);
    assert.equal(ticket.status, 201);
    const url = `/api/v1/events?ticket=${ticket.json.ticket}`;
    const first = await SseClient.open(base, url);
    assert.equal(first.status, 200);
    await first.waitFor((c) => c.of('hello').length === 1);
    assert.equal(first.of('hello')[0].user, 'ann');
    const second = await get(base, url, { Accept: 'text/event-stream' });
    assert.equal(second.status, 401);
    assert.equal(JSON.parse(second.body).error.code, 'AUTH_TICKET_INVALID');
    first.close();
    // A ticket is not a session.
    const asCookie = await api(base, 'GET', '/api/v1/session', undefined, {
      Cookie: `ssechat_session=${ticket.json.ticket}`,
    });
    assert.equal(asCookie.status, 401);

    const token = await api(base, 'POST', '/api/v1/tokens', { label: 'bot' }, ann);
    assert.equal(token.status, 201);
    const bearer = { Authorization: `Bearer ${token.json.token}` };
    const sent = await api(
      base,
      'POST',
      '/api/v1/messages',
      { to: 'all', text: 'beep' },
      {
        ...bearer,
        Origin: 'http://bot.example',
      },
    );
    assert.equal(sent.status, 201);
    const listed = await api(base, 'GET', '/api/v1/tokens', undefined, ann);
    assert.deepEqual(
      listed.json.tokens.map((t: { label: string }) => t.label),
      ['bot'],
    );
    assert.equal(listed.body.includes(token.json.token), false);
    // A token is not a cookie.
    const tokenAsCookie = await api(base, 'GET', '/api/v1/session', undefined, {
      Cookie: `ssechat_session=${token.json.token}`,
    });
    assert.equal(tokenAsCookie.status, 401);
    const revoked = await api(base, 'DELETE', `/api/v1/tokens/${token.json.id}`, undefined, ann);
    assert.equal(revoked.status, 204);
    assert.equal((await api(base, 'GET', '/api/v1/presence', undefined, bearer)).status, 401);
  });

  test('a read receipt reaches the sender as an event', async () => {
    const ann = await session(base, 'rita');
    const bob = await session(base, 'sam');
    const annStream = await SseClient.open(base, '/api/v1/events', ann);
    await annStream.waitFor((c) => c.of('hello').length === 1);
    const sent = await api(base, 'POST', '/api/v1/messages', { to: 'sam', text: 'read me' }, ann);
    const read = await api(base, 'POST', '/api/v1/read', { upTo: sent.json.id }, bob);
    assert.equal(read.status, 201);
    await annStream.waitFor((c) => c.of('read').length === 1);
    assert.deepEqual(
      { ...annStream.of('read')[0], id: 0, ts: 0 },
      { id: 0, from: 'sam', to: 'rita', upTo: sent.json.id, ts: 0 },
    );
    // A message the reader never received cannot be acknowledged.
    const other = await api(base, 'POST', '/api/v1/messages', { to: 'rita', text: 'private' }, bob);
    const cat = await session(base, 'cat');
    const forged = await api(base, 'POST', '/api/v1/read', { upTo: other.json.id }, cat);
    assert.equal(forged.json.error.code, 'CHAT_RECEIPT_INVALID');
    annStream.close();
  });

  test('presence lists who is online; a quick reconnect announces nothing', async () => {
    const viewer = await session(base, 'viewer');
    const flaky = await session(base, 'flaky');
    const watch = await SseClient.open(base, '/api/v1/events', viewer);
    await watch.waitFor((c) => c.of('hello').length === 1);
    const first = await SseClient.open(base, '/api/v1/events', flaky);
    await watch.waitFor((c) => c.of('join').some((j) => j.user === 'flaky'));
    const online = await api(base, 'GET', '/api/v1/presence', undefined, viewer);
    assert.ok(online.json.online.includes('flaky'));
    first.close();
    const again = await SseClient.open(base, '/api/v1/events', flaky);
    await again.waitFor((c) => c.of('hello').length === 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(watch.of('leave').filter((l) => l.user === 'flaky').length, 0);
    assert.equal(watch.of('join').filter((j) => j.user === 'flaky').length, 1);
    again.close();
    await watch.waitFor((c) => c.of('leave').some((l) => l.user === 'flaky'), 2000);
    watch.close();
  });

  test('Last-Event-ID replays what was missed, then hello; a bad id gets a reset', async () => {
    const ann = await session(base, 'ann');
    const zed = await session(base, 'zed');
    const one = await SseClient.open(base, '/api/v1/events', zed);
    await one.waitFor((c) => c.of('hello').length === 1);
    const from = one.events[0]?.id as string;
    one.close();
    const texts = ['m1', 'm2', 'm3'];
    for (const text of texts) await api(base, 'POST', '/api/v1/messages', { to: 'zed', text }, ann);
    const two = await SseClient.open(base, '/api/v1/events', { ...zed, 'Last-Event-ID': from });
    await two.waitFor((c) => c.of('hello').length === 1);
    assert.deepEqual(
      two.events.map((e) => e.type),
      ['message', 'message', 'message', 'hello'],
    );
    assert.deepEqual(
      two.of('message').map((m) => m.text),
      texts,
    );
    two.close();
    // The query parameter works too, for polyfills.
    const three = await SseClient.open(base, `/api/v1/events?lastEventId=${from}`, zed);
    await three.waitFor((c) => c.of('hello').length === 1);
    assert.deepEqual(
      three.of('message').map((m) => m.text),
      texts,
    );
    three.close();
    for (const [id, reason] of [
      ['banana', 'invalid'],
      ['99999999', 'unknown'],
    ]) {
      // Past the grace window zed is offline: this DM waits in the mailbox.
      await new Promise((r) => setTimeout(r, 350));
      await api(base, 'POST', '/api/v1/messages', { to: 'zed', text: `kept ${reason}` }, ann);
      const s = await SseClient.open(base, '/api/v1/events', {
        ...zed,
        'Last-Event-ID': id as string,
      });
      await s.waitFor((c) => c.of('hello').length === 1 && c.of('message').length === 1);
      assert.deepEqual(
        s.events.map((e) => e.type),
        ['reset', 'hello', 'message'],
      );
      assert.equal(s.of('reset')[0].reason, reason);
      // A reset still hands over what waited in the mailbox.
      assert.equal(s.of('message')[0].text, `kept ${reason}`);
      assert.equal(s.of('message')[0].offline, true);
      s.close();
    }
  });
});

describe('JSON API and classic protocol, accounts mode', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ auth: 'accounts' });
    base = server.url;
  });
  after(() => server.close());

  test('register, log in, change password, log out', async () => {
    const weak = await api(base, 'POST', '/api/v1/users', { nick: 'alice', password: 'short' });
    assert.equal(weak.json.error.code, 'AUTH_PASSWORD_WEAK');
    const alice = await session(base, 'alice', 'correct horse', true);
    const dup = await api(base, 'POST', '/api/v1/users', {
      nick: 'ALICE',
      password: 'another one',
    });
    assert.equal(dup.status, 409);
    const other = await session(base, 'alice', 'correct horse');
    const wrong = await api(base, 'POST', '/api/v1/session', {
      nick: 'alice',
      password: 'nope nope',
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error.code, 'AUTH_FAILED');
    const noPassword = await api(base, 'POST', '/api/v1/session', { nick: 'alice' });
    assert.equal(noPassword.status, 401);
    const change = await api(
      base,
      'POST',
      '/api/v1/password',
      { current: 'correct horse', password: 'battery staple' },
      alice,
    );
    assert.equal(change.status, 204);
    // Other sessions end; this one stays.
    assert.equal((await api(base, 'GET', '/api/v1/session', undefined, other)).status, 401);
    assert.equal((await api(base, 'GET', '/api/v1/session', undefined, alice)).status, 200);
    await session(base, 'alice', 'battery staple');
    const out = await api(base, 'DELETE', '/api/v1/session', undefined, alice);
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    assert.equal((await api(base, 'GET', '/api/v1/session', undefined, alice)).status, 401);
  });

  test('guessing from one address does not lock the owner out from another', async () => {
    const proxied = await startTestServer({ auth: 'accounts', trustProxy: 'yes' });
    try {
      await session(proxied.url, 'owner', 'owner password', true);
      const from = (ip: string, password: string) =>
        api(
          proxied.url,
          'POST',
          '/api/v1/session',
          { nick: 'owner', password },
          {
            'X-Forwarded-For': ip,
          },
        );
      for (let i = 0; i < 10; i++)
        assert.equal((await from('10.0.0.66', `guess ${i}`)).status, 401);
      assert.equal((await from('10.0.0.66', 'owner password')).status, 429);
      assert.equal((await from('10.0.0.7', 'owner password')).status, 201);
    } finally {
      await proxied.close();
    }
  });

  test('a wrong password is rate-limited per account', async () => {
    await session(base, 'target', 'the real one', true);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const reply = await api(base, 'POST', '/api/v1/session', {
        nick: 'target',
        password: `guess ${i}`,
      });
      statuses.push(reply.status);
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.deepEqual(statuses.slice(10), [429, 429]);
    // Even the right password waits now: the account is locked for the window.
    const right = await api(base, 'POST', '/api/v1/session', {
      nick: 'target',
      password: 'the real one',
    });
    assert.equal(right.status, 429);
    assert.ok(Number(right.headers['retry-after']) > 0);
  });

  test('the classic protocol needs the matching session', async () => {
    const mary = await session(base, 'mary', 'mary password', true);
    const john = await session(base, 'john', 'john password', true);
    const anon = await get(base, '/msg/mary/all%20hi');
    assert.equal(anon.status, 403);
    const impersonation = await get(base, '/msg/mary/all%20hi', john);
    assert.equal(impersonation.status, 403);
    assert.equal(JSON.parse(impersonation.body).error.code, 'AUTH_FORBIDDEN');
    const stolen = await get(base, '/mary', { ...john, Accept: 'text/event-stream' });
    assert.equal(stolen.status, 403);
    const noSession = await get(base, '/mary', { Accept: 'text/event-stream' });
    assert.equal(noSession.status, 403);

    const stream = await SseClient.open(base, '/mary', mary);
    assert.equal(stream.status, 200);
    await stream.waitForLine('Welcome mary!');
    assert.equal((await get(base, '/msg/mary/all%20hello', mary)).status, 204);
    await stream.waitForLine('mary to all: hello');
    // A ticket works for the classic stream too.
    const ticket = await api(base, 'POST', '/api/v1/tickets', {}, john);
    const viaTicket = await SseClient.open(base, `/john?ticket=${ticket.json.ticket}`);
    assert.equal(viaTicket.status, 200);
    await viaTicket.waitForLine('Welcome john!');
    viaTicket.close();
    stream.close();
  });

  test('login attempts are rate-limited per client address', async () => {
    const limited = await startTestServer({ auth: 'accounts' });
    try {
      const statuses = new Set<number>();
      // 100 attempts per address per window; each a different account, so only the address
      // limit applies.
      for (let i = 0; i < 101; i++) {
        const reply = await api(limited.url, 'POST', '/api/v1/session', {
          nick: `u${i}`,
          password: 'whatever1',
        });
        statuses.add(reply.status);
        if (i === 100) assert.equal(reply.status, 429);
      }
      assert.deepEqual([...statuses].sort(), [401, 429]);
    } finally {
      await limited.close();
    }
  });

  test('logging out or changing the password ends the streams of the old sessions', async () => {
    const mine = await session(base, 'revoker', 'first password', true);
    const other = await session(base, 'revoker', 'first password');
    const third = await session(base, 'revoker', 'first password');
    const a = await SseClient.open(base, '/api/v1/events', mine);
    const b = await SseClient.open(base, '/api/v1/events', other);
    const c = await SseClient.open(base, '/api/v1/events', third);
    for (const s of [a, b, c]) await s.waitFor((x) => x.of('hello').length === 1);
    assert.equal((await api(base, 'DELETE', '/api/v1/session', undefined, third)).status, 204);
    await c.waitFor((x) => x.closed);
    const change = await api(
      base,
      'POST',
      '/api/v1/password',
      {
        current: 'first password',
        password: 'second password',
      },
      mine,
    );
    assert.equal(change.status, 204);
    await b.waitFor((x) => x.closed);
    assert.equal(a.closed, false);
    a.close();
  });

  test('a malformed path encoding is a 404, not a crash', async () => {
    const mine = await session(base, 'encoder', 'some password', true);
    for (const path of ['/api/v1/tokens/%E0%A4', '/api/v1/tokens/%zz']) {
      const reply = await api(base, 'DELETE', path, undefined, mine);
      assert.equal(reply.status, 404, path);
    }
  });

  test('a page from another site cannot send through a Referer-only browser', async () => {
    const mine = await session(base, 'referred', 'some password', true);
    const host = new URL(base).host;
    const evil = await get(base, '/msg/referred/all%20x', {
      ...mine,
      Referer: 'http://evil.example/',
    });
    assert.equal(evil.status, 403);
    const ok = await get(base, '/msg/referred/all%20x', {
      ...mine,
      Referer: `http://${host}/classic`,
    });
    assert.equal(ok.status, 204);
  });

  test('open-mode sessions are refused', async () => {
    const reply = await api(base, 'POST', '/api/v1/session', { nick: 'nobody' });
    assert.equal(reply.status, 401);
  });
});

test('an idle JSON stream gets a ping event every heartbeat, and hello says how often', async () => {
  const server = await startTestServer({ heartbeatMs: 1000 });
  try {
    const stream = await SseClient.open(
      server.url,
      '/api/v1/events',
      await session(server.url, 'idle'),
    );
    await stream.waitFor((c) => c.of('hello').length === 1);
    assert.equal(stream.of('hello')[0].heartbeatMs, 1000);
    await stream.waitFor((c) => c.of('ping').length >= 2, 3500);
    assert.deepEqual(stream.of('ping')[0], {});
    assert.ok(!stream.raw.includes('\n:\n'), 'no comment heartbeats on the JSON stream');
    stream.close();
  } finally {
    await server.close();
  }
});
