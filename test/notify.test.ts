// Mentions, unread state and notification levels over the wire (docs/api.md, Notifications).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import {
  api,
  NO_LIMITS,
  SseClient as Sse,
  type SseClient,
  session,
  startTestServer,
} from './helpers.js';

const PASSWORD = 'correct horse battery';

/** Users of an accounts-mode server, registered on first use. */
function accounts(base: () => string) {
  const cookies = new Map<string, Record<string, string>>();
  const streams: SseClient[] = [];
  const as = async (nick: string) => {
    let c = cookies.get(nick);
    if (!c) {
      c = await session(base(), nick, PASSWORD, true);
      cookies.set(nick, c);
    }
    return c;
  };
  const call = async (nick: string, method: string, path: string, body?: unknown) =>
    api(base(), method, `/api/v1${path}`, body, await as(nick));
  const say = async (nick: string, to: string, text: string): Promise<number> => {
    const r = await call(nick, 'POST', '/messages', { to, text });
    assert.equal(r.status, 201, r.body);
    return r.json.id;
  };
  const stream = async (nick: string): Promise<SseClient> => {
    const s = await Sse.open(base(), '/api/v1/events', await as(nick));
    streams.push(s);
    await s.waitFor((c) => c.of('hello').length > 0);
    return s;
  };
  return { as, call, say, stream, streams };
}

describe('mentions, unread counts and levels (accounts mode)', () => {
  let server: RunningServer;
  let base = '';
  const u = accounts(() => base);

  before(async () => {
    server = await startTestServer({ auth: 'accounts', ...NO_LIMITS });
    base = `http://127.0.0.1:${server.port}`;
    for (const nick of ['alice', 'bob', 'carol']) await u.as(nick);
    assert.equal((await u.call('alice', 'POST', '/rooms', { name: '#dev' })).status, 201);
    assert.equal((await u.call('bob', 'POST', '/rooms/dev/join', {})).status, 201);
  });
  after(async () => {
    for (const s of u.streams) s.close();
    await server.close();
  });

  test('a mention resolves only to who can see the message, in the stream and in history', async () => {
    const bob = await u.stream('bob');
    const inRoom = await u.say('alice', '#dev', 'hi @BOB, @carol and @alice.');
    const dm = await u.say('alice', 'bob', '@carol look, @bob.');
    const all = await u.say('alice', 'all', '@carol @nobody @bob');
    await bob.waitFor((c) => c.of('message').length >= 3);
    const byId = new Map(bob.of('message').map((m) => [m.id, m]));
    // carol is not in #dev, nobody mentions themselves, and BOB is written as the account is.
    assert.deepEqual(byId.get(inRoom).mentions, ['bob']);
    assert.deepEqual(byId.get(dm).mentions, ['bob']);
    assert.deepEqual(byId.get(all).mentions, ['carol', 'bob']);
    const history = await u.call('bob', 'GET', '/messages?with=%23dev');
    assert.deepEqual(history.json.messages.at(-1).mentions, ['bob']);
    const plain = await u.say('alice', 'all', 'no one here');
    const page = await u.call('bob', 'GET', '/messages?with=all');
    assert.equal(
      page.json.messages.find((m: { id: number }) => m.id === plain).mentions,
      undefined,
    );
  });

  test('an edit carries its mentions and, apart, the ones it added', async () => {
    const carol = await u.stream('carol');
    const id = await u.say('alice', 'all', 'ping @bob');
    const edited = await u.call('alice', 'PATCH', `/messages/${id}`, {
      text: 'ping @bob and @carol',
    });
    assert.equal(edited.status, 200, edited.body);
    await carol.waitFor((c) => c.of('edit').some((e) => e.message === id));
    const edit = carol.of('edit').find((e) => e.message === id);
    assert.deepEqual(edit.mentions, ['bob', 'carol']);
    assert.deepEqual(edit.newMentions, ['carol']);
  });

  test('unread counts follow the read marker, which only moves forward and reaches other tabs', async () => {
    // The first request sets carol's baseline: what came before is not unread.
    assert.equal((await u.call('carol', 'GET', '/unread')).status, 200);
    const other = await u.stream('carol');
    const first = await u.say('bob', 'carol', 'one');
    await u.say('bob', 'carol', 'two @carol');
    const third = await u.say('bob', 'carol', 'three');
    await u.say('carol', 'bob', 'my own reply does not count');
    const unread = (await u.call('carol', 'GET', '/unread')).json.unread;
    assert.deepEqual(
      unread.find((c: { with: string }) => c.with === 'bob'),
      {
        with: 'bob',
        marker: unread.find((c: { with: string }) => c.with === 'bob').marker,
        unread: 3,
        mentions: 1,
      },
    );
    const moved = await u.call('carol', 'PUT', '/markers', { with: 'bob', upTo: first + 1 });
    assert.equal(moved.status, 200, moved.body);
    assert.deepEqual(moved.json, { with: 'bob', marker: first + 1 });
    await other.waitFor((c) =>
      c.of('marker').some((m) => m.with === 'bob' && m.upTo === first + 1),
    );
    const back = await u.call('carol', 'PUT', '/markers', { with: 'bob', upTo: 1 });
    assert.equal(back.json.marker, first + 1);
    const after1 = (await u.call('carol', 'GET', '/unread')).json.unread;
    assert.deepEqual(
      after1
        .filter((c: { with: string }) => c.with === 'bob')
        .map((c: { unread: number; mentions: number }) => [c.unread, c.mentions]),
      [[1, 0]],
    );
    await u.call('carol', 'PUT', '/markers', { with: 'bob', upTo: third });
    const none = (await u.call('carol', 'GET', '/unread')).json.unread;
    assert.equal(
      none.some((c: { with: string }) => c.with === 'bob'),
      false,
    );
  });

  test('a marker or level names a conversation the user is in; bad input is 400, not 500', async () => {
    const cases: Array<[string, string, unknown, number]> = [
      ['PUT', '/markers', { with: '#dev', upTo: 1 }, 403],
      ['PUT', '/markers', { with: '#nowhere', upTo: 1 }, 404],
      ['PUT', '/markers', { with: 'zed', upTo: 1 }, 404],
      ['PUT', '/markers', { with: 'bob', upTo: 'x' }, 400],
      ['PUT', '/markers', { with: 'bob', upTo: -1 }, 400],
      ['PUT', '/markers', { with: 'bob', upTo: 1.5 }, 400],
      ['PUT', '/markers', { upTo: 1 }, 400],
      ['PUT', '/notify', { with: 'bob', level: 'loud' }, 400],
      ['PUT', '/notify', { with: 'bob' }, 400],
      ['PUT', '/notify', { hideText: 'yes' }, 400],
      ['PUT', '/attention', { client: 'a b', visible: true }, 400],
      ['PUT', '/attention', { client: 'x'.repeat(65), visible: true }, 400],
      ['PUT', '/attention', { client: 'tab1', visible: 'yes' }, 400],
    ];
    for (const [method, path, body, status] of cases) {
      const r = await u.call('carol', method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${r.body}`);
    }
    for (const path of ['/unread', '/notify']) {
      assert.equal((await api(base, 'GET', `/api/v1${path}`)).status, 401);
    }
    const anon = await api(base, 'PUT', '/api/v1/markers', { with: 'bob', upTo: 1 });
    assert.equal(anon.status, 401);
  });

  test('levels: defaults, a choice per conversation told to other tabs, and back to the default', async () => {
    const tab = await u.stream('bob');
    const initial = (await u.call('bob', 'GET', '/notify')).json;
    assert.deepEqual(initial, {
      levels: {},
      defaults: { direct: 'all', room: 'mentions', all: 'mentions' },
      hideText: false,
      mentionsNotify: true,
    });
    const set = await u.call('bob', 'PUT', '/notify', { with: '#dev', level: 'none' });
    assert.deepEqual([set.status, set.json], [200, { with: '#dev', level: 'none' }]);
    await tab.waitFor((c) => c.of('notify').some((n) => n.with === '#dev' && n.level === 'none'));
    await u.call('bob', 'PUT', '/notify', { with: 'alice', level: 'mentions' });
    assert.deepEqual((await u.call('bob', 'GET', '/notify')).json.levels, {
      '#dev': 'none',
      alice: 'mentions',
    });
    await u.call('bob', 'PUT', '/notify', { with: '#dev', level: null });
    const hide = await u.call('bob', 'PUT', '/notify', { hideText: true });
    assert.deepEqual([hide.status, hide.json], [200, { hideText: true }]);
    const now = (await u.call('bob', 'GET', '/notify')).json;
    assert.deepEqual([now.levels, now.hideText], [{ alice: 'mentions' }, true]);
    assert.equal(
      (await u.call('bob', 'PUT', '/attention', { client: 'tab-1', visible: true })).status,
      204,
    );
    const beacon = await u.call('bob', 'POST', '/attention', { client: 'tab-1', visible: false });
    assert.equal(beacon.status, 204);
  });
});

describe('mentions in open mode', () => {
  test('are shown (a broadcast resolves to any nick) but never notify', async () => {
    const server = await startTestServer(NO_LIMITS);
    const base = `http://127.0.0.1:${server.port}`;
    try {
      const ann = await session(base, 'ann');
      const r = await api(base, 'POST', '/api/v1/messages', { to: 'all', text: 'hey @zoe!' }, ann);
      assert.equal(r.status, 201, r.body);
      const page = await api(base, 'GET', '/api/v1/messages?with=all', undefined, ann);
      assert.deepEqual(page.json.messages.at(-1).mentions, ['zoe']);
      const settings = await api(base, 'GET', '/api/v1/notify', undefined, ann);
      assert.equal(settings.json.mentionsNotify, false);
      // Every nick is valid here: state is kept only for a peer there are messages with, so
      // made-up nicks cannot pile up rows.
      const made = await api(
        base,
        'PUT',
        '/api/v1/notify',
        { with: 'made-up', level: 'none' },
        ann,
      );
      assert.equal(made.status, 404, made.body);
      const mark = await api(base, 'PUT', '/api/v1/markers', { with: 'made-up', upTo: 1 }, ann);
      assert.equal(mark.status, 404, mark.body);
      await api(base, 'POST', '/api/v1/messages', { to: 'made-up', text: 'hi' }, ann);
      const now = await api(base, 'PUT', '/api/v1/notify', { with: 'made-up', level: 'none' }, ann);
      assert.equal(now.status, 200, now.body);
    } finally {
      await server.close();
    }
  });
});
