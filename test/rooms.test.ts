import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../src/config.js';
import type { RunningServer } from '../src/main.js';
import { Actors, texts } from './actors.js';
import { barrier, get, NO_LIMITS, SseClient, startTestServer } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ssechat-rooms-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The rooms API over the real wire, on each embedded backend. */
for (const store of ['memory', 'sqlite'] as const) {
  describe(`rooms over the wire (${store})`, () => {
    let server: RunningServer;
    let base: string;
    const actors = new Actors();
    const { call, stream, say } = actors;
    const streams = actors.streams;
    /** A broadcast every JSON stream waits for: what came before it was delivered before it. */
    const fence = async (clients: SseClient[], tag: string): Promise<void> => {
      await say('fence', 'all', tag);
      await Promise.all(clients.map((c) => c.waitFor((x) => texts(x).includes(tag))));
    };

    before(async () => {
      const overrides: Partial<Config> = { ...NO_LIMITS, bigRoomMembers: 3 };
      if (store === 'sqlite') Object.assign(overrides, { store: 'sqlite', dataDir: dir });
      server = await startTestServer(overrides);
      base = server.url;
      actors.base = base;
    });
    after(async () => {
      for (const s of streams) s.close();
      await server.close();
    });

    test('create, list and view rooms; names and settings are checked', async () => {
      const made = await call('ann', 'POST', '/rooms', { name: 'lobby' });
      assert.equal(made.status, 201, made.body);
      assert.equal(made.json.room.name, '#lobby');
      assert.equal(made.json.room.visibility, 'public');
      assert.equal(
        (await call('bob', 'POST', '/rooms', { name: '#lobby' })).json.error.code,
        'CHAT_ROOM_EXISTS',
      );
      assert.equal(
        (await call('bob', 'POST', '/rooms', { name: 'Bad Name' })).json.error.code,
        'CHAT_ROOM_INVALID',
      );
      assert.equal(
        (await call('bob', 'POST', '/rooms', { name: 'x', visibility: 'secret' })).status,
        400,
      );
      const secret = await call('ann', 'POST', '/rooms', { name: 'secret', visibility: 'private' });
      assert.equal(secret.status, 201);
      const annList = (await call('ann', 'GET', '/rooms')).json.rooms.map(
        (r: { name: string }) => r.name,
      );
      assert.deepEqual(annList, ['#lobby', '#secret']);
      const bobList = (await call('bob', 'GET', '/rooms')).json.rooms;
      assert.deepEqual(
        bobList.map((r: { name: string; role: null }) => [r.name, r.role]),
        [['#lobby', null]],
      );
      const view = await call('bob', 'GET', '/rooms/lobby');
      assert.deepEqual(view.json.members, [{ user: 'ann', role: 'owner', online: false }]);
      assert.equal((await call('bob', 'GET', '/rooms/secret')).json.error.code, 'CHAT_NOT_MEMBER');
      assert.equal((await call('bob', 'GET', '/rooms/nowhere')).status, 404);
      assert.equal((await call('bob', 'GET', '/rooms/lobby/members')).status, 404);
      assert.equal((await call('bob', 'PATCH', '/rooms/lobby')).status, 405);
    });

    test('non-members cannot post, read history or see the room in their stream', async () => {
      await call('ann', 'POST', '/rooms', { name: 'club', visibility: 'private' });
      const eve = await stream('eve');
      assert.equal(
        (await call('eve', 'POST', '/messages', { to: '#club', text: 'hi' })).json.error.code,
        'CHAT_NOT_MEMBER',
      );
      assert.equal(
        (await call('eve', 'POST', '/messages', { to: '#club', text: 'hi' })).status,
        403,
      );
      assert.equal((await call('eve', 'GET', '/messages?with=%23club')).status, 403);
      assert.equal(
        (await call('eve', 'POST', '/rooms/club/join', {})).json.error.code,
        'CHAT_FORBIDDEN',
      );
      assert.equal((await call('eve', 'POST', '/typing', { to: '#club' })).status, 403);
      await say('ann', '#club', 'members only');
      await fence([eve], 'club-1');
      assert.deepEqual(
        texts(eve).filter((t) => t === 'members only'),
        [],
      );
      // No trace of the room in a replay either.
      const again = await stream('eve', '0');
      assert.ok(!again.raw.includes('members only') && !again.raw.includes('#club'));
    });

    test('invite, join, chat, leave: delivery follows membership at once', async () => {
      await call('ann', 'POST', '/rooms', { name: 'team', visibility: 'private' });
      const bob = await stream('bob');
      const ann = await stream('ann');
      const invite = await call('ann', 'POST', '/rooms/team/invite', { user: 'bob' });
      assert.equal(invite.status, 201);
      await bob.waitFor((c) =>
        c.of('member').some((m) => m.action === 'invite' && m.room === '#team'),
      );
      assert.equal((await call('bob', 'POST', '/rooms/team/join', {})).status, 201);
      assert.equal((await call('bob', 'POST', '/rooms/team/join', {})).status, 200);
      await ann.waitFor((c) => c.of('member').some((m) => m.action === 'join' && m.user === 'bob'));
      const id = await say('ann', '#team', 'welcome bob');
      await bob.waitFor((c) => texts(c).includes('welcome bob'));
      const received = bob.events.find(
        (e) => e.type === 'message' && e.data.includes('welcome bob'),
      );
      assert.equal(received?.id, String(id));
      const history = await call('bob', 'GET', '/messages?with=%23team');
      assert.deepEqual(
        history.json.messages.map((m: { text: string }) => m.text),
        ['welcome bob'],
      );
      assert.equal((await call('bob', 'POST', '/rooms/team/leave', {})).status, 201);
      await bob.waitFor((c) =>
        c.of('member').some((m) => m.action === 'leave' && m.user === 'bob'),
      );
      await say('ann', '#team', 'after bob left');
      await fence([bob, ann], 'team-1');
      assert.ok(texts(ann).includes('after bob left'));
      assert.ok(!texts(bob).includes('after bob left'));
      assert.equal((await call('bob', 'GET', '/messages?with=%23team')).status, 403);
    });

    test('roles: moderators remove members and delete their messages; members may not', async () => {
      await call('ann', 'POST', '/rooms', { name: 'mods' });
      for (const u of ['bob', 'cat']) await call(u, 'POST', '/rooms/mods/join', {});
      assert.equal(
        (await call('bob', 'PUT', '/rooms/mods/members/cat', { role: 'moderator' })).status,
        403,
      );
      assert.equal(
        (await call('ann', 'PUT', '/rooms/mods/members/bob', { role: 'boss' })).status,
        400,
      );
      assert.equal(
        (await call('ann', 'PUT', '/rooms/mods/members/bob', { role: 'moderator' })).status,
        200,
      );
      const catMsg = await say('cat', '#mods', 'spam');
      assert.equal(
        (await call('cat', 'DELETE', `/messages/${await say('ann', '#mods', 'owner says')}`))
          .status,
        403,
      );
      assert.equal(
        (await call('cat', 'PATCH', `/messages/${catMsg}`, { text: 'not spam' })).status,
        200,
      );
      assert.equal((await call('bob', 'PATCH', `/messages/${catMsg}`, { text: 'x' })).status, 403);
      assert.equal((await call('bob', 'DELETE', `/messages/${catMsg}`)).status, 200);
      assert.equal((await call('bob', 'DELETE', `/messages/${catMsg}`)).status, 404);
      assert.equal((await call('bob', 'DELETE', '/rooms/mods/members/ann')).status, 403);
      assert.equal((await call('bob', 'DELETE', '/rooms/mods/members/cat')).status, 200);
      assert.equal(
        (await call('cat', 'POST', '/messages', { to: '#mods', text: 'back?' })).status,
        403,
      );
      assert.equal((await call('eve', 'DELETE', '/messages/999999')).status, 404);
      assert.equal((await call('eve', 'PATCH', '/messages/abc', { text: 'x' })).status, 404);
    });

    test('resume across a join, an edit, a delete and a leave replays the final state', async () => {
      await call('ann', 'POST', '/rooms', { name: 'resume' });
      await call('dan', 'POST', '/rooms/resume/join', {});
      const keep = await say('ann', '#resume', 'first version');
      const doomed = await say('ann', '#resume', 'to be deleted');
      const dan = await stream('dan');
      await dan.waitFor((c) => c.of('hello').length === 1);
      const lastSeen = dan.of('hello')[0].id as number;
      dan.close();
      // While dan is away:
      await call('ann', 'PATCH', `/messages/${keep}`, { text: 'second version' });
      await call('ann', 'DELETE', `/messages/${doomed}`);
      await call('fay', 'POST', '/rooms/resume/join', {});
      await say('ann', '#resume', 'before dan left');
      await call('dan', 'POST', '/rooms/resume/leave', {});
      await say('ann', '#resume', 'after dan left');
      const back = await stream('dan', String(lastSeen));
      const replay = back.events.filter((e) => e.type !== 'hello' && e.type !== 'ping');
      assert.deepEqual(
        replay.map((e) => {
          const d = JSON.parse(e.data);
          return [e.type, d.text ?? d.action, d.message ?? d.user]
            .filter((x) => x !== undefined)
            .join(' ');
        }),
        [
          `edit second version ${keep}`,
          `delete ${doomed}`,
          'member join fay',
          'message before dan left',
          'member leave dan',
        ],
      );
      // A fresh reader of the history sees the final state: edited, deleted, no old text.
      const ann = await call('ann', 'GET', '/messages?with=%23resume');
      const byId = new Map(ann.json.messages.map((m: { id: number }) => [m.id, m]));
      assert.deepEqual(
        { ...(byId.get(keep) as object), ts: 0 },
        {
          id: keep,
          from: 'ann',
          to: '#resume',
          text: 'second version',
          ts: 0,
          edited: (byId.get(keep) as { edited: number }).edited,
        },
      );
      assert.equal((byId.get(doomed) as { deleted: boolean }).deleted, true);
      assert.equal((byId.get(doomed) as { text: string }).text, '');
      assert.ok(!JSON.stringify(ann.json).includes('to be deleted'));
    });

    test('a later member gets no edit of a message from before they joined, live or replayed', async () => {
      await call('ann', 'POST', '/rooms', { name: 'staff', visibility: 'private' });
      const secret = await say('ann', '#staff', 'the code is 1234');
      await call('ann', 'POST', '/rooms/staff/invite', { user: 'ivy' });
      assert.equal((await call('ivy', 'POST', '/rooms/staff/join', {})).status, 201);
      const ivy = await stream('ivy');
      const later = await say('ann', '#staff', 'welcome ivy');
      await call('ann', 'PATCH', `/messages/${secret}`, { text: 'the code is 5678' });
      await call('ann', 'PATCH', `/messages/${later}`, { text: 'welcome, ivy' });
      await call('ann', 'DELETE', `/messages/${secret}`);
      await fence([ivy], 'staff-1');
      const seenBy = (s: SseClient) =>
        s.events
          .filter((e) => e.type === 'edit' || e.type === 'delete')
          .map((e) => `${e.type} ${JSON.parse(e.data).message}`);
      const expected = [`edit ${later}`, `delete ${secret}`];
      assert.deepEqual(seenBy(ivy), expected);
      // The whole phrase: a bare '1234' may turn up in a timestamp.
      assert.ok(!ivy.raw.includes('code is 5678') && !ivy.raw.includes('code is 1234'));
      const replay = await stream('ivy', '0');
      await fence([replay], 'staff-2');
      assert.deepEqual(seenBy(replay), expected);
      assert.ok(!replay.raw.includes('code is 5678') && !replay.raw.includes('code is 1234'));
    });

    test('typing reaches the room or the peer, not the typist, at most once per 2 s', async () => {
      await call('ann', 'POST', '/rooms', { name: 'typing' });
      await call('gus', 'POST', '/rooms/typing/join', {});
      const gus = await stream('gus');
      const ann = await stream('ann');
      assert.equal((await call('ann', 'POST', '/typing', { to: '#typing' })).status, 202);
      assert.equal((await call('ann', 'POST', '/typing', { to: '#typing' })).status, 202);
      assert.equal((await call('ann', 'POST', '/typing', { to: 'gus' })).status, 202);
      assert.equal((await call('ann', 'POST', '/typing', { to: 'all' })).status, 400);
      await fence([gus, ann], 'typing-1');
      assert.deepEqual(gus.of('typing'), [
        { from: 'ann', to: '#typing' },
        { from: 'ann', to: 'gus' },
      ]);
      assert.deepEqual(ann.of('typing'), []);
      assert.ok(gus.events.filter((e) => e.type === 'typing').every((e) => e.id === undefined));
    });

    test('in a big room, joins and leaves become a member count', async () => {
      await call('ann', 'POST', '/rooms', { name: 'big' });
      for (const u of ['b1', 'b2']) await call(u, 'POST', '/rooms/big/join', {});
      const ann = await stream('ann');
      const b3 = await stream('b3');
      await call('b3', 'POST', '/rooms/big/join', {});
      await call('b4', 'POST', '/rooms/big/join', {});
      await b3.waitFor((c) => c.of('member').some((m) => m.user === 'b3'));
      await ann.waitFor(
        (c) => c.of('room').some((r) => r.room === '#big' && r.members === 5),
        4000,
      );
      assert.deepEqual(
        ann
          .of('member')
          .filter((m) => m.room === '#big')
          .map((m) => m.user),
        // Three members before b3 joined: not more than --big-room-members (3) yet.
        ['b3'],
      );
      assert.ok(!b3.of('member').some((m) => m.user === 'b4'));
    });

    test('the classic protocol neither shows nor reaches rooms', async () => {
      await call('ann', 'POST', '/rooms', { name: 'modern' });
      await call('hal', 'POST', '/rooms/modern/join', {});
      const classic = await SseClient.open(base, '/hal');
      streams.push(classic);
      await classic.waitFor((c) => c.lines.length >= 2);
      await say('ann', '#modern', 'json only');
      await barrier(base, [classic], 'classic-1');
      assert.ok(!classic.raw.includes('json only'));
      const sent = await get(base, '/msg/hal/%23modern/hello');
      assert.equal(sent.status, 400);
    });
  });
}
