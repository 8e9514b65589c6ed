// Profiles over the wire (docs/api.md, Profiles): only a user changes their own, names are
// checked, an avatar is one's own decoded image served safely, the directory pages, a change
// reaches other streams, and a sign-in in any letter case finds the account.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';
import { solidPng } from './image-fixtures.js';
import { exchange, upload } from './upload-client.js';

const PASSWORD = 'correct horse battery';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');

describe('profiles (accounts mode)', () => {
  let server: RunningServer;
  const cookies = new Map<string, Record<string, string>>();
  const base = () => server.url;
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
  const put = async (nick: string, bytes: Buffer, name = 'me.png') => {
    const r = await upload(base(), await as(nick), name, bytes);
    assert.equal(r.status, 201, r.body.toString());
    return r.json.upload.id as string;
  };

  before(async () => {
    server = await startTestServer({ auth: 'accounts', ...NO_LIMITS });
    for (const nick of ['Alice', 'bob', 'carol', 'Dave']) await as(nick);
  });
  after(() => server.close());

  test('GET /server tells the mode without a session', async () => {
    const r = await api(base(), 'GET', '/api/v1/server');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { auth: 'accounts', registration: true, registrationMode: 'open' });
  });

  test('a profile is read in any case; only its user may change it', async () => {
    const r = await call('bob', 'GET', '/users/ALICE');
    assert.equal(r.status, 200);
    assert.equal(r.json.nick, 'Alice');
    assert.equal(r.json.displayName, null);
    assert.equal(r.json.avatar, null);
    assert.equal(typeof r.json.registered, 'number');
    assert.equal(
      (await call('bob', 'GET', '/users/nobody')).json.error.code,
      'CHAT_USER_NOT_FOUND',
    );
    assert.equal((await api(base(), 'GET', '/api/v1/users/Alice')).status, 401);

    const forged = await call('bob', 'PATCH', '/users/Alice', { displayName: 'Alice (admin)' });
    assert.equal(forged.status, 403);
    assert.equal(forged.json.error.code, 'CHAT_FORBIDDEN');
    assert.equal((await call('bob', 'GET', '/users/Alice')).json.displayName, null);

    const own = await call('Alice', 'PATCH', '/users/alice', {
      displayName: '  Alice  Liddell ',
    });
    assert.equal(own.status, 200, own.body);
    assert.equal(own.json.displayName, 'Alice  Liddell');
    assert.equal((await call('bob', 'GET', '/users/Alice')).json.displayName, 'Alice  Liddell');
    // Absent stays; null clears.
    assert.equal(
      (await call('Alice', 'PATCH', '/users/Alice', {})).json.displayName,
      'Alice  Liddell',
    );
    assert.equal(
      (await call('Alice', 'PATCH', '/users/Alice', { displayName: null })).json.displayName,
      null,
    );
  });

  test('invalid display names are refused', async () => {
    const bad = [
      '',
      '   ',
      'a'.repeat(65),
      '😀'.repeat(65),
      'evil\u202Eexe.gpj',
      'zero\u200Bwidth',
      'line\u2028break',
      'tab\there',
      'bell\u0007',
      '\u2800',
      42,
    ];
    for (const displayName of bad) {
      const r = await call('carol', 'PATCH', '/users/carol', { displayName });
      assert.equal(r.status, 400, JSON.stringify(displayName));
      assert.equal(r.json.error.code, 'CHAT_PROFILE_INVALID');
    }
    // 64 code points (astral ones count once) pass; NFC is applied.
    const ok = await call('carol', 'PATCH', '/users/carol', { displayName: '😀'.repeat(64) });
    assert.equal(ok.status, 200, ok.body);
    const nfc = await call('carol', 'PATCH', '/users/carol', { displayName: 'Cafe\u0301' });
    assert.equal(nfc.json.displayName, 'Caf\u00e9');
  });

  test('an avatar is your own decoded image, served with safe headers', async () => {
    const bobs = await put('bob', await solidPng(40, 30));
    const other = await call('Dave', 'PATCH', '/users/Dave', { avatar: bobs });
    assert.equal(other.status, 404);
    assert.equal(other.json.error.code, 'UPLOAD_NOT_FOUND');
    const missing = await call('Dave', 'PATCH', '/users/Dave', { avatar: 'x'.repeat(22) });
    assert.equal(missing.json.error.code, 'UPLOAD_NOT_FOUND');
    const pdf = await put('Dave', PDF, 'doc.pdf');
    assert.equal((await call('Dave', 'PATCH', '/users/Dave', { avatar: pdf })).status, 404);
    assert.equal((await call('Dave', 'PATCH', '/users/Dave', { avatar: 7 })).status, 400);
    // bob's upload is untouched.
    assert.equal(
      (await exchange(base(), 'GET', `/api/v1/uploads/${bobs}`, await as('bob'))).status,
      200,
    );

    const mine = await put('Dave', await solidPng(50, 50, '#2060c0'));
    const set = await call('Dave', 'PATCH', '/users/Dave', { avatar: mine });
    assert.equal(set.status, 200, set.body);
    assert.equal(set.json.avatar, `/api/v1/users/Dave/avatar?v=${mine}`);
    // The upload is the avatar now: it cannot be sent nor discarded.
    const sent = await call('Dave', 'POST', '/messages', {
      to: 'all',
      text: '',
      attachments: [mine],
    });
    assert.equal(sent.json.error.code, 'UPLOAD_UNUSABLE');
    assert.equal((await call('Dave', 'DELETE', `/uploads/${mine}`)).status, 404);

    const got = await exchange(base(), 'GET', set.json.avatar, await as('bob'));
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-type'], 'image/webp');
    assert.equal(got.headers['x-content-type-options'], 'nosniff');
    assert.match(String(got.headers['content-security-policy']), /sandbox/);
    assert.equal(got.headers['content-disposition'], 'inline');
    assert.equal(got.body.subarray(8, 12).toString(), 'WEBP');
    const etag = String(got.headers.etag);
    const again = await exchange(base(), 'GET', set.json.avatar, {
      ...(await as('bob')),
      'If-None-Match': etag,
    });
    assert.equal(again.status, 304);
    assert.equal((await exchange(base(), 'GET', set.json.avatar, {})).status, 401);
    assert.equal(
      (await exchange(base(), 'GET', '/api/v1/users/bob/avatar', await as('Dave'))).status,
      404,
    );

    // Cleared: gone.
    await call('Dave', 'PATCH', '/users/Dave', { avatar: null });
    assert.equal(
      (await exchange(base(), 'GET', '/api/v1/users/Dave/avatar', await as('bob'))).status,
      404,
    );
  });

  test('the directory pages by nick, matches prefixes and shows presence', async () => {
    await call('bob', 'PATCH', '/users/bob', { displayName: 'Robert' });
    const stream = await SseClient.open(base(), '/api/v1/events', await as('carol'));
    await stream.waitFor((c) => c.of('hello').length === 1);
    try {
      const first = await call('bob', 'GET', '/users?limit=2');
      assert.equal(first.status, 200);
      assert.deepEqual(
        first.json.users.map((u: { nick: string }) => u.nick),
        ['Alice', 'bob'],
      );
      assert.equal(first.json.next, 'bob');
      const second = await call('bob', 'GET', '/users?limit=2&after=bob');
      assert.deepEqual(
        second.json.users.map((u: { nick: string; online: boolean }) => [u.nick, u.online]),
        [
          ['carol', true],
          ['Dave', false],
        ],
      );
      assert.equal(second.json.next, null);
      const byName = await call('bob', 'GET', '/users?q=rob');
      assert.deepEqual(byName.json.users, [
        { nick: 'bob', displayName: 'Robert', avatar: null, online: false },
      ]);
      const byNick = await call('bob', 'GET', '/users?q=D');
      assert.deepEqual(
        byNick.json.users.map((u: { nick: string }) => u.nick),
        ['Dave'],
      );
      for (const q of ['limit=0', 'limit=101', 'limit=x', `q=${'a'.repeat(65)}`]) {
        const r = await call('bob', 'GET', `/users?${q}`);
        assert.equal(r.status, 400, q);
        assert.equal(r.json.error.code, 'API_QUERY_INVALID');
      }
      assert.equal((await api(base(), 'GET', '/api/v1/users')).status, 401);
    } finally {
      stream.close();
    }
  });

  test('a profile change reaches other users’ streams', async () => {
    const stream = await SseClient.open(base(), '/api/v1/events', await as('carol'));
    await stream.waitFor((c) => c.of('hello').length === 1);
    try {
      const mine = await put('Alice', await solidPng(20, 20));
      await call('Alice', 'PATCH', '/users/Alice', { displayName: 'Alice L', avatar: mine });
      await stream.waitFor((c) => c.of('profile').length >= 1);
      assert.deepEqual(stream.of('profile').at(-1), {
        nick: 'Alice',
        displayName: 'Alice L',
        avatar: `/api/v1/users/Alice/avatar?v=${mine}`,
      });
    } finally {
      stream.close();
    }
  });

  test('sign-in is case-insensitive and signs in as the registered nick', async () => {
    const r = await api(base(), 'POST', '/api/v1/session', { nick: 'aLiCe', password: PASSWORD });
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json.user, 'Alice');
    const cookie = String(r.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    const who = await api(base(), 'GET', '/api/v1/session', undefined, { Cookie: cookie });
    assert.equal(who.json.user, 'Alice');
    const wrong = await api(base(), 'POST', '/api/v1/session', {
      nick: 'ALICE',
      password: 'nope-nope-nope',
    });
    assert.equal(wrong.status, 401);
    const nobody = await api(base(), 'POST', '/api/v1/session', {
      nick: 'alicia',
      password: PASSWORD,
    });
    assert.equal(nobody.status, 401);
  });
});

describe('profiles (open mode)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ auth: 'open', ...NO_LIMITS });
  });
  after(() => server.close());

  test('nobody has a profile, and nobody can set one', async () => {
    const me = await session(server.url, 'zed');
    const info = await api(server.url, 'GET', '/api/v1/server');
    assert.deepEqual(info.json, { auth: 'open', registration: false, registrationMode: null });
    for (const path of ['/api/v1/users', '/api/v1/users/zed', '/api/v1/users/zed/avatar']) {
      const r = await api(server.url, 'GET', path, undefined, me);
      assert.equal(r.status, 404, path);
      assert.equal(r.json.error.code, 'AUTH_ACCOUNTS_ONLY');
    }
    const r = await api(server.url, 'PATCH', '/api/v1/users/zed', { displayName: 'Z' }, me);
    assert.equal(r.status, 403);
  });
});
