// Issue 23, blocks, over the wire, written as the blocked user would probe them: Eve is blocked
// by Ann, and compares every answer she gets with the one a user who did not block her (Carl)
// gives. Ann must never get Eve's DMs, mentions, invitations, typing or reactions, live or
// replayed; rooms still bring Eve's messages (the page collapses them).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { api, type JsonReply, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';

const PASSWORD = 'correct horse';

/** A reply with what differs between two equal-shaped answers (ids, times) masked. */
function shape(reply: JsonReply): unknown {
  const mask = (v: unknown, key = ''): unknown => {
    if (Array.isArray(v)) return v.map((x) => mask(x));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x, k)]));
    }
    if (['id', 'ts', 'to', 'text', 'since'].includes(key)) return typeof v;
    return v;
  };
  return { status: reply.status, body: mask(reply.json) };
}

describe('blocks over the wire', () => {
  let server: RunningServer;
  let base: string;
  const cookies = new Map<string, Record<string, string>>();
  const streams: SseClient[] = [];
  const as = async (nick: string) => {
    let c = cookies.get(nick);
    if (!c) {
      c = await session(base, nick, PASSWORD, true);
      cookies.set(nick, c);
    }
    return c;
  };
  const call = async (nick: string, method: string, path: string, body?: unknown) =>
    api(base, method, `/api/v1${path}`, body, await as(nick));
  const stream = async (nick: string, lastEventId?: string) => {
    const headers = { ...(await as(nick)), ...(lastEventId && { 'Last-Event-ID': lastEventId }) };
    const s = await SseClient.open(base, '/api/v1/events', headers);
    streams.push(s);
    await s.waitFor((c) => c.of('hello').length > 0);
    return s;
  };
  const say = async (nick: string, to: string, text: string) => {
    const reply = await call(nick, 'POST', '/messages', { to, text });
    assert.equal(reply.status, 201, reply.body);
    return reply;
  };
  /** A message from `nick` to themselves: once it arrived, everything before it did too. */
  const settle = async (s: SseClient, nick: string) => {
    const { json } = await say(nick, nick, `barrier ${Math.random()}`);
    await s.waitFor((c) => c.of('message').some((m) => m.id === json.id));
  };

  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, auth: 'accounts' });
    base = server.url;
    for (const nick of ['ann', 'eve', 'carl']) await as(nick);
  });
  after(async () => {
    for (const s of streams) s.close();
    await server.close();
  });

  test('the routes: PUT, GET, DELETE, oneself, unknown users, letter case', async () => {
    const self = await call('carl', 'PUT', '/blocks/CARL');
    assert.equal(self.status, 400);
    assert.equal(self.json.error.code, 'BLOCK_INVALID');
    const unknown = await call('carl', 'PUT', '/blocks/nobody');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'CHAT_USER_NOT_FOUND');
    const bad = await call('carl', 'PUT', `/blocks/${encodeURIComponent('a b')}`);
    assert.equal(bad.status, 400);
    const put = await call('carl', 'PUT', '/blocks/EVE');
    assert.equal(put.status, 200, put.body);
    assert.equal(put.json.nick, 'eve', 'the account as it is spelled');
    const again = await call('carl', 'PUT', '/blocks/eve');
    assert.deepEqual(again.json, put.json, 'idempotent: the first block');
    const list = await call('carl', 'GET', '/blocks');
    assert.deepEqual(list.json, { blocks: [put.json] });
    assert.equal((await call('carl', 'DELETE', '/blocks/Eve')).status, 204);
    assert.equal((await call('carl', 'DELETE', '/blocks/eve')).status, 204, 'idempotent');
    assert.deepEqual((await call('carl', 'GET', '/blocks')).json, { blocks: [] });
    const anon = await api(base, 'GET', '/api/v1/blocks');
    assert.equal(anon.status, 401);
    // Eve never learns who blocks her: nothing of Carl's list is hers to read.
    assert.deepEqual((await call('eve', 'GET', '/blocks')).json, { blocks: [] });
  });

  test('a DM of a blocked user: same answer as any, never reaches the blocker', async () => {
    assert.equal((await call('ann', 'PUT', '/blocks/eve')).status, 200);
    const ann = await stream('ann');
    const carl = await stream('carl');
    const eve = await stream('eve');
    const toAnn = await say('eve', 'ann', 'hello ann, zebra');
    const toCarl = await say('eve', 'carl', 'hello carl, zebra');
    assert.deepEqual(shape(toAnn), shape(toCarl), 'the sender cannot tell');
    assert.deepEqual(Object.keys(toAnn.headers).sort(), Object.keys(toCarl.headers).sort());
    await carl.waitFor((s) => s.of('message').some((m) => m.id === toCarl.json.id));
    await eve.waitFor((s) => s.of('message').some((m) => m.id === toAnn.json.id));
    await eve.waitFor((s) => s.of('message').some((m) => m.id === toCarl.json.id));
    const seen = eve.of('message').find((m) => m.id === toAnn.json.id);
    const seenCarl = eve.of('message').find((m) => m.id === toCarl.json.id);
    assert.deepEqual(Object.keys(seen).sort(), Object.keys(seenCarl).sort());
    // Typing, to Ann and to Carl: the same 202; Carl hears it, Ann does not.
    const typedAnn = await call('eve', 'POST', '/typing', { to: 'ann' });
    const typedCarl = await call('eve', 'POST', '/typing', { to: 'carl' });
    assert.deepEqual(shape(typedAnn), shape(typedCarl));
    await carl.waitFor((s) => s.of('typing').some((t) => t.from === 'eve'));
    // Eve reacts to her own DM, edits it, and reads Ann's messages: none of it reaches Ann.
    const put = await call('eve', 'PUT', `/messages/${toAnn.json.id}/reactions/%F0%9F%91%8D`);
    assert.equal(put.status, 200, put.body);
    assert.equal(
      (await call('eve', 'PATCH', `/messages/${toAnn.json.id}`, { text: 'edited' })).status,
      200,
    );
    await settle(ann, 'ann');
    const mine = (s: SseClient, type: string) => s.of(type).filter((e) => e.from === 'eve');
    for (const type of ['message', 'typing', 'reaction', 'edit']) {
      assert.deepEqual(mine(ann, type), [], `no ${type} of Eve reaches Ann live`);
    }
    // Not in a replay from the start, history, search, unread counts.
    const replay = await stream('ann', '0');
    await settle(replay, 'ann');
    const logged = ['message', 'edit', 'delete', 'reaction', 'read', 'member', 'typing'];
    assert.deepEqual(
      replay.events.filter((e) => logged.includes(e.type) && e.data.includes('"eve"')),
      [],
      'nothing of Eve in the replay',
    );
    const history = await call('ann', 'GET', '/messages?with=eve');
    assert.deepEqual(history.json.messages, []);
    const evesHistory = await call('eve', 'GET', '/messages?with=ann');
    assert.deepEqual(
      evesHistory.json.messages.map((m: { id: number }) => m.id),
      [toAnn.json.id],
      'Eve sees her message as sent',
    );
    // Eve's DM to Ann now reads 'edited': found by its sender only.
    const found = await call('ann', 'GET', '/search?q=edited');
    assert.equal(found.status, 200, found.body);
    assert.deepEqual(found.json.results, []);
    const evesSearch = await call('eve', 'GET', '/search?q=edited');
    assert.deepEqual(
      evesSearch.json.results.map((r: { message: { id: number } }) => r.message.id),
      [toAnn.json.id],
    );
    const unread = await call('ann', 'GET', '/unread');
    assert.equal(JSON.stringify(unread.json).includes('eve'), false, unread.body);
    // Ann cannot read, react to or receipt it by guessing its id.
    const guess = await call('ann', 'PUT', `/messages/${toAnn.json.id}/reactions/%F0%9F%91%8D`);
    assert.equal(guess.status, 404);
    // After an unblock, what was withheld stays withheld; new messages arrive.
    assert.equal((await call('ann', 'DELETE', '/blocks/eve')).status, 204);
    const later = await say('eve', 'ann', 'after the unblock');
    await ann.waitFor((s) => s.of('message').some((m) => m.id === later.json.id));
    const after = await call('ann', 'GET', '/messages?with=eve');
    assert.deepEqual(
      after.json.messages.map((m: { id: number }) => m.id),
      [later.json.id],
    );
  });

  test('rooms: mentions, invitations, typing and reactions of a blocked user', async () => {
    assert.equal((await call('ann', 'PUT', '/blocks/eve')).status, 200);
    const ann = await stream('ann');
    const carl = await stream('carl');
    const created = await call('eve', 'POST', '/rooms', { name: 'hall' });
    assert.equal(created.status, 201, created.body);
    for (const nick of ['ann', 'carl']) {
      assert.equal((await call(nick, 'POST', '/rooms/hall/join', {})).status, 201);
    }
    // A mention of both: only Carl is mentioned; Ann still gets the room message.
    const sent = await say('eve', '#hall', '@ann @carl look');
    await carl.waitFor((s) => s.of('message').some((m) => m.id === sent.json.id));
    const carlsCopy = carl.of('message').find((m) => m.id === sent.json.id);
    assert.deepEqual(carlsCopy.mentions, ['carl']);
    await ann.waitFor((s) => s.of('message').some((m) => m.id === sent.json.id));
    const annsCopy = ann.of('message').find((m) => m.id === sent.json.id);
    assert.deepEqual(annsCopy.mentions, ['carl']);
    // Typing in the room: Carl hears it, Ann does not.
    assert.equal((await call('eve', 'POST', '/typing', { to: '#hall' })).status, 202);
    await carl.waitFor((s) => s.of('typing').some((t) => t.from === 'eve' && t.to === '#hall'));
    // Eve reacts to Ann's room message: Carl sees it, Ann does not, live or replayed.
    const annSays = await say('ann', '#hall', 'a question');
    const put = await call('eve', 'PUT', `/messages/${annSays.json.id}/reactions/%F0%9F%91%8D`);
    assert.equal(put.status, 200, put.body);
    await carl.waitFor((s) => s.of('reaction').some((r) => r.message === annSays.json.id));
    await settle(ann, 'ann');
    assert.deepEqual(
      ann.of('typing').filter((t) => t.from === 'eve'),
      [],
    );
    assert.deepEqual(
      ann.of('reaction').filter((r) => r.from === 'eve'),
      [],
    );
    const replay = await stream('ann', String(created.json.id));
    await settle(replay, 'ann');
    assert.deepEqual(
      replay.of('reaction').filter((r) => r.from === 'eve'),
      [],
    );
    assert.ok(
      replay.of('message').some((m) => m.id === sent.json.id),
      'room messages replay',
    );
    // An invitation: the same answer as for Carl; Ann never hears of it, nor lists the room.
    assert.equal(
      (await call('eve', 'POST', '/rooms', { name: 'den', visibility: 'private' })).status,
      201,
    );
    const invAnn = await call('eve', 'POST', '/rooms/den/invite', { user: 'ann' });
    const invCarl = await call('eve', 'POST', '/rooms/den/invite', { user: 'carl' });
    assert.deepEqual(shape(invAnn), shape(invCarl));
    await carl.waitFor((s) => s.of('member').some((m) => m.room === '#den' && m.user === 'carl'));
    await settle(ann, 'ann');
    assert.deepEqual(
      ann.of('member').filter((m) => m.room === '#den'),
      [],
    );
    const rooms = await call('ann', 'GET', '/rooms');
    assert.equal(
      rooms.json.rooms.some((r: { name: string }) => r.name === '#den'),
      false,
      rooms.body,
    );
    const carlsRooms = await call('carl', 'GET', '/rooms');
    assert.ok(carlsRooms.json.rooms.some((r: { name: string; invited: boolean }) => r.invited));
    const replay2 = await stream('ann', String(created.json.id));
    await settle(replay2, 'ann');
    assert.deepEqual(
      replay2.of('member').filter((m) => m.room === '#den'),
      [],
    );
    // Eve's view of the room lists Ann as invited, as for Carl.
    const view = await call('eve', 'GET', '/rooms/den');
    assert.equal(view.status, 200, view.body);
  });
});

describe('blocks in open mode', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ ...NO_LIMITS });
  });
  after(() => server.close());

  test('are refused: a nick is only a claim there', async () => {
    const who = await session(server.url, 'ann');
    for (const [method, path] of [
      ['GET', '/api/v1/blocks'],
      ['PUT', '/api/v1/blocks/bob'],
      ['DELETE', '/api/v1/blocks/bob'],
    ] as const) {
      const reply = await api(server.url, method, path, undefined, who);
      assert.equal(reply.status, 404, `${method} ${path}`);
      assert.equal(reply.json.error.code, 'AUTH_ACCOUNTS_ONLY');
    }
  });
});
