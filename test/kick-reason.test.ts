/**
 * A removal's reason rides the log (issue 23: "every sanction has a reason and shows the
 * sanctioned user a clear error"): a kick, and a moderator's removal with a reason, carry
 * `reason` on the removed user's `member` event, live and in a replay (Last-Event-ID) alike.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { dataDir } from './admin-kit.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';

const PASSWORD = 'correct horse';

/** A `member` event's data, as the JSON stream sends it. */
interface MemberData {
  id: number;
  room: string;
  user: string;
  action: string;
  by: string;
  reason?: string;
}

describe('a removal carries its reason to the removed user (accounts mode)', () => {
  const dir = dataDir();
  let server: RunningServer;
  let base: string;
  let owner: Record<string, string>;
  let fay: Record<string, string>;

  before(async () => {
    server = await startTestServer({ auth: 'accounts', dataDir: dir, ...NO_LIMITS });
    base = server.url;
    owner = await session(base, 'owner', PASSWORD, true);
    fay = await session(base, 'fay', PASSWORD, true);
    const made = await api(base, 'POST', '/api/v1/rooms', { name: 'lobby' }, owner);
    assert.equal(made.status, 201, made.body);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Fay joins #lobby and opens her stream: it and the id of its hello. */
  async function joinAndListen(): Promise<{ live: SseClient; from: string }> {
    const joined = await api(base, 'POST', '/api/v1/rooms/lobby/join', {}, fay);
    assert.equal(joined.status, 201, joined.body);
    const live = await SseClient.open(base, '/api/v1/events', fay);
    assert.equal(live.status, 200);
    await live.waitFor((c) => c.of('hello').length > 0);
    const from = live.events.find((e) => e.type === 'hello')?.id;
    assert.ok(from, 'the hello has an id');
    return { live, from };
  }

  /** Fay's removal from #lobby as her open stream got it, and as a replay from `from` gets it. */
  async function removal(live: SseClient, from: string): Promise<[MemberData, MemberData]> {
    const isRemoval = (m: MemberData) => m.action === 'remove' && m.user === 'fay';
    await live.waitFor((c) => c.of('member').some(isRemoval));
    live.close();
    const replay = await SseClient.open(base, '/api/v1/events', { ...fay, 'Last-Event-ID': from });
    await replay.waitFor((c) => c.of('hello').length > 0);
    replay.close();
    const seen: MemberData | undefined = live.of('member').find(isRemoval);
    const replayed: MemberData | undefined = replay.of('member').find(isRemoval);
    assert.ok(seen && replayed, 'live and replayed');
    return [seen, replayed];
  }

  test('a kick: the member event carries the reason, live and replayed alike', async () => {
    const { live, from } = await joinAndListen();
    const kick = { nick: 'fay', reason: 'rude <b>words</b>' };
    const kicked = await api(base, 'POST', '/api/v1/rooms/lobby/kick', kick, owner);
    assert.equal(kicked.status, 200, kicked.body);
    const [seen, replayed] = await removal(live, from);
    assert.deepEqual([seen.room, seen.by, seen.reason], ['#lobby', 'owner', 'rude <b>words</b>']);
    assert.deepEqual(replayed, seen);
    // What she is told when she sends there now.
    const sent = await api(base, 'POST', '/api/v1/messages', { to: '#lobby', text: 'hi' }, fay);
    assert.equal(sent.status, 403, sent.body);
    assert.equal(sent.json.error.code, 'CHAT_NOT_MEMBER');
  });

  test("a moderator's removal with a reason carries it; one without carries none", async () => {
    const first = await joinAndListen();
    const path = '/api/v1/rooms/lobby/members/fay';
    const removed = await api(base, 'DELETE', path, { reason: 'off topic' }, owner);
    assert.equal(removed.status, 200, removed.body);
    const [seen, replayed] = await removal(first.live, first.from);
    assert.equal(seen.reason, 'off topic');
    assert.deepEqual(replayed, seen);

    const second = await joinAndListen();
    const plain = await api(base, 'DELETE', path, undefined, owner);
    assert.equal(plain.status, 200, plain.body);
    const [bare, bareReplayed] = await removal(second.live, second.from);
    assert.ok(!('reason' in bare), JSON.stringify(bare));
    assert.deepEqual(bareReplayed, bare);
  });

  test('a leave carries no reason', async () => {
    const { live, from } = await joinAndListen();
    const left = await api(base, 'POST', '/api/v1/rooms/lobby/leave', {}, fay);
    assert.equal(left.status, 201, left.body);
    const isLeave = (m: MemberData) => m.action === 'leave' && m.user === 'fay';
    await live.waitFor((c) => c.of('member').some(isLeave));
    live.close();
    const replay = await SseClient.open(base, '/api/v1/events', { ...fay, 'Last-Event-ID': from });
    await replay.waitFor((c) => c.of('hello').length > 0);
    replay.close();
    const seen = live.of('member').find(isLeave);
    assert.ok(!('reason' in seen));
    assert.deepEqual(replay.of('member').find(isLeave), seen);
  });
});
