// Rooms over the real wire, the parts issue 16 added: a room its last member leaves is
// removed (and the two lives of a name stay apart), room creation is rate limited, invitations
// can be declined and lapse with their inviter, and throw-away rooms cannot fill a user's
// invitations for good.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../src/config.js';
import { MAX_INVITES_PER_USER, MAX_ROOMS_CREATED_PER_HOUR } from '../src/domain/room-rules.js';
import type { RunningServer } from '../src/main.js';
import { MAX_ROOM_LISTING } from '../src/store/store.js';
import { Actors, texts } from './actors.js';
import { api, NO_LIMITS, type SseClient, startTestServer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-room-lives-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const store of ['memory', 'sqlite'] as const) {
  describe(`rooms' lives and invitations over the wire (${store})`, () => {
    let server: RunningServer;
    let base: string;
    const actors = new Actors();
    const { call, stream, say } = actors;
    const streams = actors.streams;
    const listed = async (nick: string): Promise<string[]> =>
      (await call(nick, 'GET', '/rooms')).json.rooms.map((r: { name: string }) => r.name);
    /** A broadcast every JSON stream waits for: what came before it was delivered before it. */
    const fence = async (clients: SseClient[], tag: string): Promise<void> => {
      await say('fence', 'all', tag);
      await Promise.all(clients.map((c) => c.waitFor((x) => texts(x).includes(tag))));
    };
    const removal = (user: string, by: string) => (c: SseClient) =>
      c.of('member').some((m) => m.action === 'remove' && m.user === user && m.by === by);

    before(async () => {
      // Each nick from an address of its own: open mode limits room creations per address.
      const overrides: Partial<Config> = { ...NO_LIMITS, trustProxy: 'yes' };
      actors.ownAddresses = true;
      if (store === 'sqlite') Object.assign(overrides, { store: 'sqlite', dataDir: dir });
      server = await startTestServer(overrides);
      base = server.url;
      actors.base = base;
    });
    after(async () => {
      for (const s of streams) s.close();
      await server.close();
    });

    test('the last member leaving removes the room; a new room of that name shows nothing of the old', async () => {
      const made = await call('ann', 'POST', '/rooms', { name: 'club', history: 'all' });
      assert.equal(made.status, 201, made.body);
      const old = await say('ann', '#club', 'old secret');
      const ann = await stream('ann');
      assert.equal((await call('ann', 'POST', '/rooms/club/leave', {})).status, 201);
      assert.equal((await call('ann', 'GET', '/rooms/club')).status, 404);
      assert.ok(!(await listed('ann')).includes('#club'));

      const again = await call('dan', 'POST', '/rooms', { name: 'club', history: 'all' });
      assert.equal(again.status, 201, again.body);
      assert.equal(again.json.room.createdBy, 'dan');
      const history = await call('dan', 'GET', '/messages?with=%23club');
      assert.equal(history.status, 200);
      assert.deepEqual(history.json.messages, []);
      assert.equal((await call('dan', 'DELETE', `/messages/${old}`)).status, 404);
      const dan = await stream('dan', '0');
      await say('dan', '#club', 'new life');
      await fence([ann, dan], 'lives-1');
      assert.ok(!texts(dan).includes('old secret'));
      assert.ok(!texts(ann).includes('new life'));
      const replay = await stream('ann', '0');
      await fence([replay], 'lives-2');
      assert.ok(texts(replay).includes('old secret'));
      assert.ok(!texts(replay).includes('new life'));
      // The old author joins the new life: the old message stays out of reach.
      assert.equal((await call('ann', 'POST', '/rooms/club/join', {})).status, 201);
      assert.equal((await call('ann', 'PATCH', `/messages/${old}`, { text: 'x' })).status, 404);
      const seen = await call('ann', 'GET', '/messages?with=%23club');
      assert.deepEqual(
        seen.json.messages.map((m: { text: string }) => m.text),
        ['new life'],
      );
    });

    test(`one user creates at most ${MAX_ROOMS_CREATED_PER_HOUR} rooms an hour: then 429 with Retry-After`, async () => {
      for (let i = 0; i < MAX_ROOMS_CREATED_PER_HOUR; i++) {
        assert.equal((await call('maker', 'POST', '/rooms', { name: `made${i}` })).status, 201);
        assert.equal((await call('maker', 'POST', `/rooms/made${i}/leave`, {})).status, 201);
      }
      const refused = await call('maker', 'POST', '/rooms', { name: 'one-more' });
      assert.equal(refused.status, 429, refused.body);
      assert.equal(refused.json.error.code, 'CHAT_RATE_LIMITED');
      const retry = Number(refused.headers['retry-after']);
      assert.ok(retry > 3000 && retry <= 3600, String(retry));
      assert.equal((await call('ann', 'GET', '/rooms/one-more')).status, 404);
      assert.equal((await call('other', 'POST', '/rooms', { name: 'one-more' })).status, 201);
    });

    test('DELETE /rooms/<name>/invite declines: every tab of both sides sees it', async () => {
      await call('ann', 'POST', '/rooms', { name: 'vip', visibility: 'private' });
      const ann = await stream('ann');
      const [bob1, bob2] = [await stream('bob'), await stream('bob')];
      assert.equal((await call('ann', 'POST', '/rooms/vip/invite', { user: 'bob' })).status, 201);
      await bob2.waitFor((c) => c.of('member').some((m) => m.action === 'invite'));
      assert.ok((await listed('bob')).includes('#vip'));
      const declined = await call('bob', 'DELETE', '/rooms/vip/invite');
      assert.equal(declined.status, 200, declined.body);
      assert.equal(typeof declined.json.id, 'number');
      await Promise.all([bob1, bob2, ann].map((c) => c.waitFor(removal('bob', 'bob'))));
      assert.ok(!(await listed('bob')).includes('#vip'));
      assert.equal((await call('bob', 'POST', '/rooms/vip/join', {})).status, 403);
      // Nothing left to decline; no such room; a member cannot decline.
      assert.deepEqual((await call('bob', 'DELETE', '/rooms/vip/invite')).json, { id: null });
      assert.equal((await call('bob', 'DELETE', '/rooms/nowhere/invite')).status, 404);
      assert.equal((await call('ann', 'DELETE', '/rooms/vip/invite')).status, 403);
    });

    test('an invitation lapses when its inviter is removed or leaves', async () => {
      await call('ann', 'POST', '/rooms', { name: 'crew', visibility: 'private' });
      for (const mod of ['mo', 'max']) {
        await call('ann', 'POST', '/rooms/crew/invite', { user: mod });
        await call(mod, 'POST', '/rooms/crew/join', {});
        await call('ann', 'PUT', `/rooms/crew/members/${mod}`, { role: 'moderator' });
      }
      assert.equal((await call('mo', 'POST', '/rooms/crew/invite', { user: 'zed' })).status, 201);
      assert.equal((await call('max', 'POST', '/rooms/crew/invite', { user: 'zoe' })).status, 201);
      const [zed, zoe] = [await stream('zed'), await stream('zoe')];
      assert.equal((await call('ann', 'DELETE', '/rooms/crew/members/mo')).status, 200);
      await zed.waitFor(removal('zed', 'mo'));
      assert.equal((await call('zed', 'POST', '/rooms/crew/join', {})).status, 403);
      assert.ok(!(await listed('zed')).includes('#crew'));
      assert.equal((await call('max', 'POST', '/rooms/crew/leave', {})).status, 201);
      await zoe.waitFor(removal('zoe', 'max'));
      assert.equal((await call('zoe', 'POST', '/rooms/crew/join', {})).status, 403);
    });

    test('inviters who stay in their rooms cannot lock a user out: the newest replaces the oldest', async () => {
      // Throw-away nicks (each from an address of its own), each staying in its room.
      for (let i = 0; i < MAX_INVITES_PER_USER; i++) {
        const who = `keeper${i}`;
        const made = await call(who, 'POST', '/rooms', { name: `hold${i}`, visibility: 'private' });
        assert.equal(made.status, 201, made.body);
        const invited = await call(who, 'POST', `/rooms/hold${i}/invite`, { user: 'victim' });
        assert.equal(invited.status, 201, invited.body);
      }
      const victim = await stream('victim');
      await call('friend', 'POST', '/rooms', { name: 'party', visibility: 'private' });
      const invite = await call('friend', 'POST', '/rooms/party/invite', { user: 'victim' });
      assert.equal(invite.status, 201, invite.body);
      await victim.waitFor(removal('victim', 'keeper0'));
      const held = (await call('victim', 'GET', '/rooms')).json.rooms.filter(
        (r: { invited: boolean }) => r.invited,
      );
      assert.equal(held.length, MAX_INVITES_PER_USER);
      const names = held.map((r: { name: string }) => r.name);
      assert.ok(names.includes('#party') && !names.includes('#hold0'));
      assert.equal((await call('victim', 'POST', '/rooms/party/join', {})).status, 201);
    });

    test('invitations from throw-away rooms no longer lock a user out', async () => {
      // Several attackers, each within the creation rate.
      for (let i = 0; i < MAX_INVITES_PER_USER; i++) {
        const who = `thrower${Math.floor(i / MAX_ROOMS_CREATED_PER_HOUR)}`;
        const room = `junk${i}`;
        assert.equal(
          (await call(who, 'POST', '/rooms', { name: room, visibility: 'private' })).status,
          201,
        );
        await call(who, 'POST', `/rooms/${room}/invite`, { user: 'target' });
        await call(who, 'POST', `/rooms/${room}/leave`, {});
      }
      await call('host', 'POST', '/rooms', { name: 'real', visibility: 'private' });
      const invite = await call('host', 'POST', '/rooms/real/invite', { user: 'target' });
      assert.equal(invite.status, 201, invite.body);
      const rooms = (await call('target', 'GET', '/rooms')).json.rooms;
      assert.deepEqual(
        rooms.filter((r: { invited: boolean }) => r.invited).map((r: { name: string }) => r.name),
        ['#real'],
      );
    });
  });
}

describe('the room list over the wire', () => {
  let server: RunningServer;
  before(async () => {
    // Behind a "proxy", so that the hundred accounts below log in from addresses of their
    // own (logins are limited per address).
    server = await startTestServer({ ...NO_LIMITS, trustProxy: 'yes' });
  });
  after(() => server.close());

  test('rooms nobody else is in cannot push a shared public room out of the list', async () => {
    const base = server.url;
    const cookie = new Map<string, Record<string, string>>();
    const as = async (nick: string) => {
      let c = cookie.get(nick);
      if (!c) {
        const from = { 'X-Forwarded-For': `10.0.${cookie.size >> 8}.${cookie.size & 255}` };
        const reply = await api(base, 'POST', '/api/v1/session', { nick }, from);
        assert.equal(reply.status, 201, reply.body);
        // And calls from there: open mode limits room creations per address.
        c = { ...from, Cookie: String(reply.headers['set-cookie']?.[0]).split(';')[0] ?? '' };
        cookie.set(nick, c);
      }
      return c;
    };
    const post = async (nick: string, path: string, body: unknown) =>
      api(base, 'POST', `/api/v1${path}`, body, await as(nick));
    assert.equal((await post('bob', '/rooms', { name: 'zz-real' })).status, 201);
    assert.equal((await post('cat', '/rooms/zz-real/join', {})).status, 201);
    // More one-member public rooms than the list holds, all sorting before it, from several
    // accounts (each within the creation rate) that stay in them.
    for (let i = 0; i <= MAX_ROOM_LISTING; i++) {
      const who = `spam${Math.floor(i / MAX_ROOMS_CREATED_PER_HOUR)}`;
      const reply = await post(who, '/rooms', { name: `a${String(i).padStart(4, '0')}` });
      assert.equal(reply.status, 201, reply.body);
    }
    const list = await api(base, 'GET', '/api/v1/rooms', undefined, await as('eve'));
    const names = list.json.rooms.map((r: { name: string }) => r.name);
    assert.equal(names.length, MAX_ROOM_LISTING);
    assert.ok(names.includes('#zz-real'));
  });
});

describe('open mode: the room creation budget is keyed by address, then nick', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, auth: 'open', trustProxy: 'yes' });
  });
  after(() => server.close());

  const from = async (address: string, nick: string) => {
    const xff = { 'X-Forwarded-For': address };
    const reply = await api(server.url, 'POST', '/api/v1/session', { nick }, xff);
    assert.equal(reply.status, 201, reply.body);
    const headers = {
      ...xff,
      Cookie: String(reply.headers['set-cookie']?.[0]).split(';')[0] ?? '',
    };
    return (method: string, path: string, body?: unknown) =>
      api(server.url, method, `/api/v1${path}`, body, headers);
  };

  test("nobody uses up another's budget, and fresh nicks do not get round it", async () => {
    const mallory = await from('6.6.6.6', 'victim');
    for (let i = 0; i < MAX_ROOMS_CREATED_PER_HOUR; i++) {
      assert.equal((await mallory('POST', '/rooms', { name: `burn${i}` })).status, 201);
      assert.equal((await mallory('POST', `/rooms/burn${i}/leave`, {})).status, 201);
    }
    assert.equal((await mallory('POST', '/rooms', { name: 'burn-more' })).status, 429);
    // The real victim, from their own address, still creates rooms.
    const victim = await from('1.1.1.1', 'victim');
    const made = await victim('POST', '/rooms', { name: 'mine' });
    assert.equal(made.status, 201, made.body);
    // Fresh nicks from the attacker's address share that address's budget.
    let refused: Awaited<ReturnType<typeof mallory>> | undefined;
    for (let n = 0; n < 10 && !refused; n++) {
      const fresh = await from('6.6.6.6', `fresh${n}`);
      for (let i = 0; i < MAX_ROOMS_CREATED_PER_HOUR; i++) {
        const reply = await fresh('POST', '/rooms', { name: `f${n}-${i}` });
        if (reply.status === 429) {
          refused = reply;
          break;
        }
        assert.equal(reply.status, 201, reply.body);
      }
    }
    assert.ok(refused, 'fresh nicks from one address created rooms without end');
    assert.equal(refused.json.error.code, 'CHAT_RATE_LIMITED');
    assert.ok(Number(refused.headers['retry-after']) > 3000);
  });
});
