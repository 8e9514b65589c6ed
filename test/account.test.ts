import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { api, get, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';
import { waitUntil } from './wait-until.js';

/**
 * Your account over the real wire (issue 22): deleting it (streams end at once, credentials
 * die, the nick stays reserved, rooms stay consistent, messages kept or deleted), exporting
 * it (what the user sees and nothing else, streamed, rate-limited), and two small fixes: the
 * `room-listed` event and empty JSON sends.
 */

const PASSWORD = 'correct horse';

type Cookie = Record<string, string>;

const call = (base: string, who: Cookie, method: string, path: string, body?: unknown) =>
  api(base, method, `/api/v1${path}`, body, who);

async function stream(base: string, who: Cookie): Promise<SseClient> {
  const s = await SseClient.open(base, '/api/v1/events', who);
  await s.waitFor((c) => c.of('hello').length > 0);
  return s;
}

/** The texts of a conversation's newest page as `who` reads it. */
async function history(base: string, who: Cookie, peer: string) {
  const page = await call(base, who, 'GET', `/messages?with=${encodeURIComponent(peer)}`);
  assert.equal(page.status, 200, page.body);
  return page.json.messages as Array<{ id: number; from: string; text: string; deleted?: true }>;
}

/** A raw GET whose body is read as it comes, for the export. */
function download(base: string, path: string, who: Cookie) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(`${base}${path}`, { headers: who, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('deleting an account (messages kept, nick reserved)', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, auth: 'accounts', presenceGraceMs: 0 });
    base = server.url;
  });
  after(() => server.close());

  test('account deletion ending streams at once, and every credential with them', async () => {
    const ann = await session(base, 'ann', PASSWORD, true);
    const bob = await session(base, 'bob', PASSWORD, true);
    const token = await call(base, ann, 'POST', '/tokens', { label: 'bot' });
    assert.equal(token.status, 201, token.body);
    const bearer = { Authorization: `Bearer ${token.json.token}` };
    const ticket = await call(base, ann, 'POST', '/tickets');
    const annStream = await stream(base, ann);
    const bobStream = await stream(base, bob);
    // A second session (another device), whose stream must end too.
    const other = await session(base, 'ann', PASSWORD);
    const otherStream = await stream(base, other);
    const said = await call(base, ann, 'POST', '/messages', { to: 'bob', text: 'bye bob' });
    assert.equal(said.status, 201);

    const wrong = await call(base, ann, 'DELETE', '/account', { password: 'not it at all' });
    assert.equal(wrong.status, 401, wrong.body);
    assert.equal(wrong.json.error.code, 'AUTH_FAILED');
    const none = await call(base, ann, 'DELETE', '/account', {});
    assert.equal(none.json.error.code, 'AUTH_FAILED');
    assert.equal(annStream.closed, false);
    // Only with one's own session: bob cannot delete ann, whatever he sends.
    const asBob = await call(base, bob, 'DELETE', '/account', { password: 'wrong guess' });
    assert.equal(asBob.status, 401);
    assert.equal((await call(base, ann, 'GET', '/session')).status, 200);

    const started = Date.now();
    const gone = await call(base, ann, 'DELETE', '/account', { password: PASSWORD });
    assert.equal(gone.status, 204, gone.body);
    assert.match(String(gone.headers['set-cookie']), /ssechat_session=;.*Max-Age=0/);
    await annStream.waitFor((c) => c.closed, 1000);
    await otherStream.waitFor((c) => c.closed, 1000);
    assert.ok(Date.now() - started < 1000);
    assert.equal(bobStream.closed, false);
    await bobStream.waitFor((c) => c.of('leave').some((l) => l.user === 'ann'));

    for (const who of [ann, other, bearer]) {
      const r = await call(base, who, 'GET', '/session');
      assert.equal(r.status, 401, r.body);
    }
    const redeem = await SseClient.open(base, `/api/v1/events?ticket=${ticket.json.ticket}`);
    assert.equal(redeem.status, 401);
    redeem.close();
    const login = await api(base, 'POST', '/api/v1/session', { nick: 'ann', password: PASSWORD });
    assert.equal(login.status, 401);
    // Nobody can write to the departed, nor delete them again.
    const dm = await call(base, bob, 'POST', '/messages', { to: 'ann', text: 'still there?' });
    assert.equal(dm.json.error.code, 'CHAT_USER_NOT_FOUND');
    // Their messages are kept (--account-delete-messages keep), unchanged.
    const kept = await history(base, bob, 'ann');
    assert.deepEqual(
      kept.map((m) => [m.from, m.text]),
      [['ann', 'bye bob']],
    );
    bobStream.close();
  });

  test('the nick and its look-alikes stay reserved', async () => {
    await session(base, 'zoe', PASSWORD, true);
    const zoe = await session(base, 'zoe', PASSWORD);
    assert.equal((await call(base, zoe, 'DELETE', '/account', { password: PASSWORD })).status, 204);
    for (const nick of ['zoe', 'Zoe', 'ZOE', 'z\u043Ee']) {
      const r = await api(base, 'POST', '/api/v1/users', { nick, password: PASSWORD });
      assert.equal(r.status, 409, `${nick}: ${r.body}`);
      assert.equal(r.json.error.code, 'AUTH_NICK_TAKEN');
    }
    assert.equal(
      (await api(base, 'POST', '/api/v1/users', { nick: 'zed', password: PASSWORD })).status,
      201,
    );
  });

  test('rooms stay consistent: an owner hands the room on, then leaves', async () => {
    const own = await session(base, 'owen', PASSWORD, true);
    const mia = await session(base, 'mia', PASSWORD, true);
    const ida = await session(base, 'ida', PASSWORD, true);
    assert.equal(
      (await call(base, own, 'POST', '/rooms', { name: '#keep', visibility: 'private' })).status,
      201,
    );
    assert.equal(
      (await call(base, own, 'POST', '/rooms/keep/invite', { user: 'mia' })).status,
      201,
    );
    assert.equal((await call(base, mia, 'POST', '/rooms/keep/join', {})).status, 201);
    assert.equal(
      (await call(base, own, 'POST', '/rooms/keep/invite', { user: 'ida' })).status,
      201,
    );
    // An invitation owen holds is declined too.
    assert.equal(
      (await call(base, mia, 'POST', '/rooms', { name: '#mias', visibility: 'private' })).status,
      201,
    );
    assert.equal(
      (await call(base, mia, 'POST', '/rooms/mias/invite', { user: 'owen' })).status,
      201,
    );
    const watch = await stream(base, mia);
    assert.equal((await call(base, own, 'DELETE', '/account', { password: PASSWORD })).status, 204);
    const view = await call(base, mia, 'GET', '/rooms/keep');
    assert.deepEqual(
      view.json.members.map((m: { user: string; role: string }) => [m.user, m.role]),
      [['mia', 'owner']],
    );
    // The invitation owen gave lapsed (logged): ida no longer holds it.
    const idaRooms = await call(base, ida, 'GET', '/rooms');
    assert.ok(!idaRooms.json.rooms.some((r: { name: string }) => r.name === '#keep'));
    const mias = await call(base, mia, 'GET', '/rooms/mias');
    assert.equal(mias.status, 200);
    await watch.waitFor((c) =>
      c.of('member').some((m) => m.user === 'owen' && m.action === 'leave' && m.room === '#keep'),
    );
    await watch.waitFor((c) =>
      c.of('member').some((m) => m.user === 'owen' && m.action === 'remove' && m.room === '#mias'),
    );
    watch.close();
  });

  test('with the messages kept, the nick stays reserved for good, whatever the days', async () => {
    // A reservation of 0 days would free the nick at once; the kept messages stand under it,
    // so a new owner would pose as their author and read the direct messages it sent.
    const kept = await startTestServer({
      ...NO_LIMITS,
      auth: 'accounts',
      deletedNickReserveDays: 0,
    });
    try {
      const ann = await session(kept.url, 'ann', PASSWORD, true);
      await session(kept.url, 'bob', PASSWORD, true);
      const dm = await call(kept.url, ann, 'POST', '/messages', {
        to: 'bob',
        text: 'for bob only',
      });
      assert.equal(dm.status, 201, dm.body);
      const gone = await call(kept.url, ann, 'DELETE', '/account', { password: PASSWORD });
      assert.equal(gone.status, 204, gone.body);
      for (const nick of ['ann', 'ANN']) {
        const r = await api(kept.url, 'POST', '/api/v1/users', { nick, password: PASSWORD });
        assert.equal(r.status, 409, `${nick}: ${r.body}`);
        assert.equal(r.json.error.code, 'AUTH_NICK_TAKEN');
      }
    } finally {
      await kept.close();
    }
  });

  test('open mode has no accounts to delete', async () => {
    const open = await startTestServer({ ...NO_LIMITS });
    try {
      const ann = await session(open.url, 'ann');
      const r = await call(open.url, ann, 'DELETE', '/account', { password: 'x' });
      assert.equal(r.status, 404);
      assert.equal(r.json.error.code, 'AUTH_ACCOUNTS_ONLY');
    } finally {
      await open.close();
    }
  });
});

describe('deleting an account (messages deleted, no reservation)', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({
      ...NO_LIMITS,
      auth: 'accounts',
      accountDeleteMessages: 'delete',
      deletedNickReserveDays: 0,
    });
    base = server.url;
  });
  after(() => server.close());

  test('every message is deleted through the log; a new account of the nick sees nothing old', async () => {
    const ann = await session(base, 'ann', PASSWORD, true);
    const bob = await session(base, 'bob', PASSWORD, true);
    await call(base, bob, 'POST', '/rooms', { name: '#r' });
    await call(base, ann, 'POST', '/rooms/r/join', {});
    for (let i = 0; i < 120; i++) {
      const to = i % 3 === 0 ? 'all' : i % 3 === 1 ? 'bob' : '#r';
      assert.equal(
        (await call(base, ann, 'POST', '/messages', { to, text: `ann ${i}` })).status,
        201,
      );
    }
    await call(base, bob, 'POST', '/messages', { to: 'ann', text: 'for the old ann' });
    const watch = await stream(base, bob);
    assert.equal((await call(base, ann, 'DELETE', '/account', { password: PASSWORD })).status, 204);
    // Each went as a logged delete: bob's stream hears all 120.
    await watch.waitFor((c) => c.of('delete').length === 120, 10_000);
    await waitUntil('the purge', async () =>
      (await history(base, bob, 'ann')).every((m) => m.from !== 'ann' || m.deleted),
    );
    for (const peer of ['all', '#r']) {
      const page = await history(base, bob, peer);
      assert.ok(page.filter((m) => m.from === 'ann').every((m) => m.deleted && m.text === ''));
    }
    // With no reservation the nick is free at once; the new account starts clean.
    const again = await session(base, 'ann', 'another password', true);
    const dms = await history(base, again, 'bob');
    assert.ok(!dms.some((m) => m.text === 'for the old ann'), JSON.stringify(dms));
    const rooms = await call(base, again, 'GET', '/rooms');
    assert.ok(
      !rooms.json.rooms.some(
        (r: { name: string; role: string | null }) => r.name === '#r' && r.role !== null,
      ),
    );
    watch.close();
  });
});

describe('exporting one’s data', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, auth: 'accounts' });
    base = server.url;
  });
  after(() => server.close());

  test('holds what the user sees, nothing else, as a streamed download, once a minute', async () => {
    const ann = await session(base, 'ann', PASSWORD, true);
    const bob = await session(base, 'bob', PASSWORD, true);
    const cat = await session(base, 'cat', PASSWORD, true);
    await call(base, bob, 'POST', '/messages', { to: 'ann', text: 'bob to ann' });
    await call(base, ann, 'POST', '/messages', { to: 'bob', text: 'ann to bob' });
    await call(base, cat, 'POST', '/messages', { to: 'bob', text: 'cat to bob, secret' });
    await call(base, cat, 'POST', '/messages', { to: 'all', text: 'cat to all' });
    await call(base, cat, 'POST', '/rooms', { name: '#cats', visibility: 'private' });
    await call(base, cat, 'POST', '/messages', { to: '#cats', text: 'cat room secret' });
    await call(base, bob, 'POST', '/rooms', { name: '#open' });
    await call(base, ann, 'POST', '/rooms/open/join', {});
    await call(base, bob, 'POST', '/messages', { to: '#open', text: 'in open' });
    const gone = await call(base, ann, 'POST', '/messages', { to: 'bob', text: 'deleted one' });
    await call(base, ann, 'DELETE', `/messages/${gone.json.id}`);

    const r = await download(base, '/api/v1/account/export', ann);
    assert.equal(r.status, 200, r.body);
    const date = new Date().toISOString().slice(0, 10);
    assert.equal(
      r.headers['content-disposition'],
      `attachment; filename="ssechat-ann-${date}.json"; filename*=UTF-8''ssechat-ann-${date}.json`,
    );
    assert.match(String(r.headers['content-type']), /^application\/json/);
    // Streamed: no length known in advance.
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    const data = JSON.parse(r.body);
    assert.equal(data.format, 'ssechat-export');
    assert.equal(data.account.nick, 'ann');
    assert.equal(typeof data.account.created, 'number');
    assert.deepEqual(
      data.rooms.map((x: { name: string; role: string }) => [x.name, x.role]),
      [['#open', 'member']],
    );
    assert.deepEqual(
      data.messages.map((m: { text: string }) => m.text),
      ['bob to ann', 'ann to bob', 'cat to all', 'in open'],
    );
    assert.equal(data.truncated, false);

    const again = await call(base, ann, 'GET', '/account/export');
    assert.equal(again.status, 429);
    assert.equal(again.json.error.code, 'CHAT_RATE_LIMITED');
    // Ann's limit is hers: bob may export at once.
    const bobs = await call(base, bob, 'GET', '/account/export');
    assert.equal(bobs.status, 200);
    assert.ok(bobs.json.messages.some((m: { text: string }) => m.text === 'cat to bob, secret'));
    assert.equal((await api(base, 'GET', '/api/v1/account/export')).status, 401);
  });
});

describe('live room discovery and empty messages', () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS });
    base = server.url;
  });
  after(() => server.close());

  test('a public room created is announced to every JSON stream; a private one is not', async () => {
    const ann = await session(base, 'ann');
    const bob = await session(base, 'bob');
    const watch = await stream(base, bob);
    await call(base, ann, 'POST', '/rooms', { name: '#hidden', visibility: 'private' });
    await call(base, ann, 'POST', '/rooms', { name: '#lobby', history: 'all' });
    await watch.waitFor((c) => c.of('room-listed').length > 0);
    const [listed] = watch.of('room-listed');
    assert.equal(listed.name, '#lobby');
    assert.equal(listed.visibility, 'public');
    assert.equal(listed.history, 'all');
    assert.equal(listed.createdBy, 'ann');
    assert.equal(listed.members, 1);
    assert.equal(typeof listed.created, 'number');
    assert.ok(!watch.raw.includes('#hidden'));
    watch.close();
  });

  test('the JSON API refuses an empty or blank text; the classic protocol keeps allowing it', async () => {
    const ann = await session(base, 'ann');
    for (const text of ['', '   ', '\n\t \n']) {
      const r = await call(base, ann, 'POST', '/messages', { to: 'all', text });
      assert.equal(r.status, 400, r.body);
      assert.equal(r.json.error.code, 'CHAT_TEXT_EMPTY');
    }
    assert.equal(
      (await call(base, ann, 'POST', '/messages', { to: 'all', text: ' x ' })).status,
      201,
    );
    const classic = await get(base, '/msg/ann/all%20');
    assert.equal(classic.status, 204, classic.body);
    const page = await history(base, ann, 'all');
    assert.deepEqual(
      page.map((m) => m.text),
      [' x ', ''],
    );
  });
});
