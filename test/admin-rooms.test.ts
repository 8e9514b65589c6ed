import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { dataDir, promote } from './admin-kit.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';

/**
 * Admins and moderation in rooms over the real wire (issue 23, part A): a server admin acts as
 * an owner of a room they are not in, and each removal of another user, room role change and
 * delete of someone else's message leaves its audit row, with the reason given.
 */

const PASSWORD = 'correct horse';
type Cookie = Record<string, string>;
interface Row {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  room: string | null;
  message: number | null;
  reason: string;
  detail: Record<string, unknown> | null;
}

describe('admins and moderation in rooms, audited', () => {
  let server: RunningServer;
  const dir = dataDir();
  const who = new Map<string, Cookie>();
  const call = (nick: string, method: string, path: string, body?: unknown) =>
    api(server.url, method, `/api/v1${path}`, body, who.get(nick));
  /** The newest audit rows, as the admin reads them. */
  const audit = async (query = ''): Promise<Row[]> => {
    const reply = await call('boss', 'GET', `/admin/audit?${query}`);
    assert.equal(reply.status, 200, reply.body);
    return reply.json.entries;
  };
  const send = async (from: string, to: string, text: string): Promise<number> => {
    const reply = await call(from, 'POST', '/messages', { to, text });
    assert.equal(reply.status, 201, reply.body);
    return reply.json.id;
  };

  before(async () => {
    server = await startTestServer({ ...NO_LIMITS, auth: 'accounts', dataDir: dir });
    for (const nick of ['own', 'bob', 'cat', 'dan', 'boss']) {
      who.set(nick, await session(server.url, nick, PASSWORD, true));
    }
    await promote(dir, 'boss');
    assert.equal((await call('own', 'POST', '/rooms', { name: '#r' })).status, 201);
    for (const nick of ['bob', 'cat', 'dan']) {
      assert.equal((await call(nick, 'POST', '/rooms/r/join', {})).status, 201);
    }
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an owner sets a role: audited room.role with the role and the reason', async () => {
    const set = await call('own', 'PUT', '/rooms/r/members/bob', {
      role: 'moderator',
      reason: 'helps out',
    });
    assert.equal(set.status, 200, set.body);
    const [row] = await audit('action=room.role');
    assert.deepEqual(
      { ...row, id: 0 },
      {
        id: 0,
        ts: (row as Row & { ts: number }).ts,
        actor: 'own',
        action: 'room.role',
        target: 'bob',
        room: '#r',
        message: null,
        reason: 'helps out',
        detail: { role: 'moderator' },
      },
    );
    // The same role again changes nothing and is not audited.
    await call('own', 'PUT', '/rooms/r/members/bob', { role: 'moderator' });
    assert.equal((await audit('action=room.role')).length, 1);
  });

  test('a moderator removes a member with a reason; a bad reason or a plain member is refused', async () => {
    const bad = await call('bob', 'DELETE', '/rooms/r/members/dan', { reason: 'a\u0000b' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'MOD_REASON_INVALID');
    const plain = await call('cat', 'DELETE', '/rooms/r/members/dan', { reason: 'no' });
    assert.equal(plain.status, 403);
    assert.equal((await audit('action=room.remove')).length, 0);
    const gone = await call('bob', 'DELETE', '/rooms/r/members/dan', { reason: 'spam' });
    assert.equal(gone.status, 200, gone.body);
    const [row] = await audit('action=room.remove');
    assert.equal(row?.actor, 'bob');
    assert.equal(row?.target, 'dan');
    assert.equal(row?.room, '#r');
    assert.equal(row?.reason, 'spam');
    assert.equal(row?.detail, null);
    // Without a body, as before: a removal with no reason.
    assert.equal((await call('dan', 'POST', '/rooms/r/join', {})).status, 201);
    assert.equal((await call('bob', 'DELETE', '/rooms/r/members/dan')).status, 200);
    assert.equal((await audit('action=room.remove'))[0]?.reason, '');
    // Leaving is not moderation: no row.
    assert.equal((await call('dan', 'POST', '/rooms/r/join', {})).status, 201);
    assert.equal((await call('dan', 'POST', '/rooms/r/leave', {})).status, 201);
    assert.equal((await audit('action=room.remove')).length, 2);
  });

  test('a server admin acts as an owner of a room they are not in', async () => {
    const view = await call('boss', 'GET', '/rooms/r');
    assert.equal(view.status, 200);
    assert.ok(!view.json.members.some((m: { user: string }) => m.user === 'boss'));
    // A member removed by the admin hears it on their stream, like any removal.
    const stream = await SseClient.open(server.url, '/api/v1/events', who.get('cat'));
    await stream.waitFor((c) => c.of('hello').length > 0);
    try {
      const removed = await call('boss', 'DELETE', '/rooms/r/members/cat', { reason: 'troll' });
      assert.equal(removed.status, 200, removed.body);
      await stream.waitFor((c) =>
        c.of('member').some((m) => m.user === 'cat' && m.action === 'remove' && m.by === 'boss'),
      );
    } finally {
      stream.close();
    }
    const [row] = await audit('actor=boss&action=room.remove');
    assert.equal(row?.target, 'cat');
    assert.equal(row?.reason, 'troll');
    assert.deepEqual(row?.detail, { admin: true });
    // An owner too (unlike a moderator could), and roles.
    const role = await call('boss', 'PUT', '/rooms/r/members/bob', { role: 'owner' });
    assert.equal(role.status, 200, role.body);
    assert.deepEqual((await audit('actor=boss&action=room.role'))[0]?.detail, {
      role: 'owner',
      admin: true,
    });
    const owner = await call('boss', 'DELETE', '/rooms/r/members/bob');
    assert.equal(owner.status, 200, owner.body);
    // The room's rules still hold: its last owner keeps the role.
    const last = await call('boss', 'PUT', '/rooms/r/members/own', { role: 'member' });
    assert.equal(last.status, 403);
    // Invitations to a private room.
    assert.equal(
      (await call('own', 'POST', '/rooms', { name: '#p', visibility: 'private' })).status,
      201,
    );
    // The admin sees who is in a private room (not its messages).
    assert.equal((await call('boss', 'GET', '/rooms/p')).status, 200);
    assert.equal((await call('cat', 'GET', '/rooms/p')).status, 403);
    assert.equal((await call('boss', 'GET', '/messages?with=%23p')).status, 403);
    const invite = await call('boss', 'POST', '/rooms/p/invite', { user: 'dan' });
    assert.equal(invite.status, 201, invite.body);
    assert.equal((await call('dan', 'POST', '/rooms/p/join', {})).status, 201);
    // A plain user who is no member still cannot.
    const plain = await call('cat', 'DELETE', '/rooms/p/members/dan');
    assert.equal(plain.status, 403);
  });

  test("deletes of others' messages are audited; one's own are not", async () => {
    assert.equal((await call('cat', 'POST', '/rooms/r/join', {})).status, 201);
    const own = await send('cat', '#r', 'mine');
    assert.equal((await call('cat', 'DELETE', `/messages/${own}`)).status, 200);
    assert.equal((await audit('action=message.delete')).length, 0);
    // The room's owner, with a reason.
    const first = await send('cat', '#r', 'rude');
    const byOwner = await call('own', 'DELETE', `/messages/${first}`, { reason: 'rude' });
    assert.equal(byOwner.status, 200, byOwner.body);
    let [row] = await audit('action=message.delete');
    assert.deepEqual(
      [row?.actor, row?.target, row?.room, row?.message, row?.reason, row?.detail],
      ['own', 'cat', '#r', first, 'rude', null],
    );
    // A server admin, in a room they are not in.
    const third = await send('cat', '#r', 'again');
    const byAdmin = await call('boss', 'DELETE', `/messages/${third}`, { reason: 'again' });
    assert.equal(byAdmin.status, 200, byAdmin.body);
    [row] = await audit('action=message.delete');
    assert.deepEqual([row?.actor, row?.message, row?.detail], ['boss', third, { admin: true }]);
    // And a direct message between two others (reports of them go to admins).
    const dm = await send('cat', 'dan', 'psst');
    const byAdminDm = await call('boss', 'DELETE', `/messages/${dm}`, { reason: 'harassment' });
    assert.equal(byAdminDm.status, 200, byAdminDm.body);
    [row] = await audit('action=message.delete');
    assert.deepEqual([row?.target, row?.room, row?.message], ['cat', null, dm]);
    const gone = await call('dan', 'GET', '/messages?with=cat');
    assert.equal(gone.json.messages.at(-1).deleted, true);
    // A plain user still cannot delete someone else's direct message (404: they do not see it).
    const other = await send('cat', 'dan', 'again');
    assert.equal((await call('bob', 'DELETE', `/messages/${other}`)).status, 404);
    assert.equal((await audit('action=message.delete')).length, 3);
  });
});
