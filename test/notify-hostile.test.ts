// Issue 19 under attack, over the wire: every other user is hostile. Who may learn of a
// message through unread counts, mentions and pushes (ex-members, invitees, late joiners,
// deleted messages), and what hostile bodies do to every new route (4xx, never 500).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { api } from './helpers.js';
import { pushUsers } from './push-fixture.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('notifications against hostile users (accounts mode)', () => {
  const fx = pushUsers(['alice', 'bob', 'carol', 'dave', 'zed'], async (nick) => {
    // Everything pushes at level all, so that only visibility keeps a push away.
    for (const conv of ['all']) await ok(nick, 'PUT', '/notify', { with: conv, level: 'all' });
    await ok(nick, 'GET', '/unread');
  });
  const { call } = fx;
  const ok = async (nick: string, method: string, path: string, body?: unknown) => {
    const r = await call(nick, method, path, body);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.body}`);
    return r;
  };
  const say = async (from: string, to: string, text: string) =>
    (await ok(from, 'POST', '/messages', { to, text })).json.id as number;
  const texts = (nick: string): string[] =>
    fx.received(nick).map((p) => (JSON.parse(p.plaintext) as { body: string }).body);
  /** Waits until the push of a marker DM to `probe` arrived: every earlier event was handled. */
  let probes = 0;
  const settle = async () => {
    const text = `probe ${++probes}`;
    await say('alice', 'zed', text);
    for (let i = 0; i < 200 && !texts('zed').includes(text); i++) await pause(10);
    assert.ok(texts('zed').includes(text), 'the probe push arrived');
  };
  const unreadOf = async (nick: string, conv: string) =>
    (
      (await ok(nick, 'GET', '/unread')).json.unread as Array<{
        with: string;
        unread: number;
        mentions: number;
      }>
    ).find((u) => u.with === conv);

  test('an ex-member hears nothing of a room: no push, no unread, no mention', async () => {
    await ok('alice', 'POST', '/rooms', { name: '#ops' });
    await ok('bob', 'POST', '/rooms/ops/join', {});
    await ok('bob', 'PUT', '/notify', { with: '#ops', level: 'all' });
    await ok('bob', 'POST', '/rooms/ops/leave', {});
    await say('alice', '#ops', 'after bob left @bob');
    await settle();
    assert.ok(!texts('bob').includes('after bob left @bob'), String(texts('bob')));
    assert.equal(await unreadOf('bob', '#ops'), undefined);
  });

  test('an invitee of a private room is neither mentioned nor pushed until they join', async () => {
    await ok('alice', 'POST', '/rooms', { name: '#secret', visibility: 'private' });
    await ok('alice', 'POST', '/rooms/secret/invite', { user: 'carol' });
    const id = await say('alice', '#secret', 'the plan @carol');
    await settle();
    assert.ok(!texts('carol').includes('the plan @carol'), String(texts('carol')));
    const page = await ok('alice', 'GET', '/messages?with=%23secret');
    const sent = page.json.messages.find((m: { id: number }) => m.id === id);
    // The sender must not learn from the mention list who is invited.
    assert.equal(sent.mentions, undefined);
    assert.equal(await unreadOf('carol', '#secret'), undefined);
  });

  test('a member who joined after a message is not told of it by an edit that names them', async () => {
    await ok('alice', 'POST', '/rooms', { name: '#late', history: 'all' });
    const id = await say('alice', '#late', 'before dave came');
    await ok('dave', 'POST', '/rooms/late/join', {});
    await ok('dave', 'PUT', '/notify', { with: '#late', level: 'all' });
    await ok('alice', 'PATCH', `/messages/${id}`, { text: 'before dave came, hi @dave' });
    await settle();
    assert.ok(!texts('dave').some((t) => t.includes('before dave came')), String(texts('dave')));
    const late = await unreadOf('dave', '#late');
    assert.equal(late?.mentions ?? 0, 0);
  });

  test('a DM is pushed to its recipient only, and an edit only for a mention it adds', async () => {
    await ok('bob', 'PUT', '/notify', { with: 'alice', level: 'all' });
    const id = await say('alice', 'bob', 'first words');
    await ok('alice', 'PATCH', `/messages/${id}`, { text: 'second words' });
    await ok('alice', 'PATCH', `/messages/${id}`, { text: 'third words @bob' });
    await ok('alice', 'PATCH', `/messages/${id}`, { text: 'fourth words @bob' });
    await settle();
    const got = texts('bob').filter((t) => t.endsWith('words') || t.endsWith('words @bob'));
    // Two pushes: the message's, then the edit that added @bob (not the second edit, nor the
    // third, which added no one). The message's push shows its text as it reads when the
    // dispatcher takes it up, which may already be an edited one: never a stale text.
    assert.equal(got.length, 2, String(got));
    assert.ok(
      ['first words', 'second words', 'third words @bob', 'fourth words @bob'].includes(
        got[0] as string,
      ),
      String(got),
    );
    assert.equal(got[1], 'third words @bob');
    for (const other of ['carol', 'dave']) {
      assert.ok(!texts(other).some((t) => t.includes('words')), other);
    }
  });

  test('a deleted message neither counts nor mentions', async () => {
    const id = await say('alice', 'carol', 'oops @carol');
    await ok('alice', 'DELETE', `/messages/${id}`);
    const u = await unreadOf('carol', 'alice');
    assert.ok(u === undefined || u.mentions === 0, JSON.stringify(u));
  });

  test('a marker never goes above the head, nor into a room one is not in', async () => {
    const head = await say('alice', 'bob', 'head');
    const r = await ok('bob', 'PUT', '/markers', { with: 'alice', upTo: Number.MAX_SAFE_INTEGER });
    assert.ok(r.json.marker <= head + 1, String(r.json.marker));
    assert.equal((await call('carol', 'PUT', '/markers', { with: '#ops', upTo: 1 })).status, 403);
  });

  test('hostile bodies to every new route are 4xx, never 500', async () => {
    const deep = JSON.parse(`${'{"a":'.repeat(1500)}1${'}'.repeat(1500)}`);
    const weird: unknown[] = [
      {},
      { __proto__: { with: 'all', upTo: 1 } },
      JSON.parse('{"__proto__": {"with": "all"}, "constructor": {"prototype": {"x": 1}}}'),
      { with: { toString: 'all' }, upTo: 1 },
      { with: ['all'], upTo: 1 },
      { with: 'all', upTo: Number.MAX_VALUE },
      { with: 'all', upTo: '1' },
      { with: 'all', upTo: 2 ** 64 },
      { with: 'all', upTo: -0 },
      { with: 'all', upTo: null },
      { with: 'x'.repeat(100_000), upTo: 1 },
      { with: '#'.repeat(300), upTo: 1 },
      { with: '\u0000', upTo: 1 },
      { with: 'all', level: { valueOf: 'all' } },
      { with: 'all', level: ['all'] },
      { with: 'all', level: 'toString' },
      { with: 'all', level: '__proto__' },
      { with: '__proto__', level: 'none' },
      { hideText: 1 },
      { hideText: null },
      { hideText: true, with: 'all' },
      { client: ['a'], visible: true },
      { client: '__proto__', visible: true },
      { client: 'a', visible: 1 },
      { endpoint: { href: 'https://push.example/x' } },
      { endpoint: 'https://push.example/x', keys: { __proto__: { p256dh: 'x', auth: 'y' } } },
      { endpoint: 'https://push.example/x', keys: 'x'.repeat(100_000) },
      deep,
      [],
      'a string',
      42,
      null,
    ];
    const routes: Array<[string, string]> = [
      ['PUT', '/markers'],
      ['PUT', '/notify'],
      ['PUT', '/attention'],
      ['POST', '/attention'],
      ['POST', '/push/subscriptions'],
      ['DELETE', '/push/subscriptions'],
    ];
    for (const [method, path] of routes) {
      for (const body of weird) {
        const r = await call('bob', method, path, body);
        const shown = JSON.stringify(body)?.slice(0, 60);
        assert.ok(
          r.status >= 200 && r.status < 500,
          `${method} ${path} ${shown}: ${r.status} ${r.body}`,
        );
      }
      const huge = await api(
        fx.base,
        method,
        `/api/v1${path}`,
        { with: 'a'.repeat(1 << 20) },
        fx.cookies.get('bob'),
      );
      assert.equal(huge.status, 413, `${method} ${path} 1 MB`);
    }
    const levels = (await ok('bob', 'GET', '/notify')).json.levels;
    assert.equal(Object.getPrototypeOf(levels), Object.prototype);
  });
});
