import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { hashPassword } from '../src/auth/passwords.js';
import { type Config, configWith } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { openStore } from '../src/open-store.js';
import { api, NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';

/**
 * A store that switches from open to accounts mode (issue 16, names nobody owns), over the
 * real wire: room memberships of nicks nobody registered end at the switch, and nobody edits
 * or deletes, through a nick they registered, what they cannot see or what the nick did
 * before they owned it.
 */

const dir = mkdtempSync(join(tmpdir(), 'ssechat-switch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'correct horse';

type Caller = (method: string, path: string, body?: unknown) => ReturnType<typeof api>;

function caller(base: string, cookie: Record<string, string>): Caller {
  return (method, path, body) => api(base, method, `/api/v1${path}`, body, cookie);
}

/** Asserts a 2xx and returns the reply's JSON. */
async function ok(reply: ReturnType<typeof api>): Promise<{ id: number } & Record<string, never>> {
  const r = await reply;
  assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${r.body}`);
  return r.json;
}

/**
 * Makes accounts the way the command line does (ssechat accounts add), straight in the store
 * while no server runs: open mode has no registration over HTTP.
 */
async function addAccounts(config: Partial<Config>, nicks: readonly string[]): Promise<void> {
  const store = await openStore(configWith({ ...config, logLevel: 'silent' }), silentLogger);
  try {
    for (const nick of nicks) {
      assert.ok(await store.accounts.createUser(nick, await hashPassword(PASSWORD), Date.now()));
    }
  } finally {
    await store.close();
  }
}

function settings(name: string): Partial<Config> {
  return { ...NO_LIMITS, store: 'sqlite', dataDir: join(dir, name) };
}

describe('room memberships at the switch from open to accounts mode', () => {
  test('the memberships of nicks without an account end; rooms keep an owner or close', async () => {
    const config = settings('rooms');
    // carol and dave own their nicks before any of this; zed never did.
    await addAccounts(config, ['carol', 'dave']);
    const open = await startTestServer({ ...config, auth: 'open' });
    try {
      const carol = caller(open.url, await session(open.url, 'carol'));
      const zed = caller(open.url, await session(open.url, 'zed'));
      const dave = caller(open.url, await session(open.url, 'dave'));
      // carol's private room with zed in it.
      await ok(carol('POST', '/rooms', { name: '#sec', visibility: 'private' }));
      await ok(carol('POST', '/rooms/sec/invite', { user: 'zed' }));
      await ok(zed('POST', '/rooms/sec/join', {}));
      // erin joins too; her nick is registered from the command line only after this.
      await ok(carol('POST', '/rooms/sec/invite', { user: 'erin' }));
      await ok(caller(open.url, await session(open.url, 'erin'))('POST', '/rooms/sec/join', {}));
      // zed's own room, with carol (who joins first) and dave as members.
      await ok(zed('POST', '/rooms', { name: '#zroom', visibility: 'private' }));
      await ok(zed('POST', '/rooms/zroom/invite', { user: 'carol' }));
      await ok(zed('POST', '/rooms/zroom/invite', { user: 'dave' }));
      await ok(carol('POST', '/rooms/zroom/join', {}));
      await ok(dave('POST', '/rooms/zroom/join', {}));
      // A room of nobody who will register, with an invitation zed gave.
      await ok(zed('POST', '/rooms', { name: '#ghost', visibility: 'public' }));
      await ok(zed('POST', '/rooms/ghost/invite', { user: 'carol' }));
    } finally {
      await open.close();
    }
    await addAccounts(config, ['erin']);

    const accounts = await startTestServer({ ...config, auth: 'accounts' });
    try {
      const base = accounts.url;
      const erin = caller(base, await session(base, 'erin', PASSWORD));
      assert.equal((await erin('GET', '/messages?with=%23sec')).status, 403);
      const carolCookie = await session(base, 'carol', PASSWORD);
      const carol = caller(base, carolCookie);
      await ok(carol('POST', '/messages', { to: '#sec', text: 'the vault code is 4321' }));
      // A stranger takes the stale member's nick.
      const zed = caller(base, await session(base, 'zed', PASSWORD, true));
      const read = await zed('GET', '/messages?with=%23sec');
      assert.notEqual(read.status, 200, read.body);
      assert.ok(!read.body.includes('4321'), read.body);
      const post = await zed('POST', '/messages', { to: '#sec', text: 'hi' });
      assert.equal(post.status, 403, post.body);
      const zedRooms = (await zed('GET', '/rooms')).json.rooms as Array<{
        name: string;
        role: string | null;
      }>;
      assert.deepEqual(
        zedRooms.filter((r) => r.role !== null),
        [],
      );
      // The owner zed went: carol, the longest-standing member left, owns #zroom now.
      const zroom = (await carol('GET', '/rooms/zroom')).json;
      assert.deepEqual(
        zroom.members.map((m: { user: string; role: string }) => [m.user, m.role]),
        [
          ['carol', 'owner'],
          ['dave', 'member'],
        ],
      );
      // #ghost had nobody left: it is gone, its name free, its invitation withdrawn.
      assert.equal((await carol('GET', '/rooms/ghost')).status, 404);
      await ok(carol('POST', '/rooms', { name: '#ghost', visibility: 'public' }));
      // The endings rode the log: carol's replay shows zed leave #sec.
      const replay = await SseClient.open(base, '/api/v1/events?lastEventId=0', carolCookie);
      await replay.waitFor((c) => c.of('hello').length > 0);
      const left = replay
        .of('member')
        .filter((m: { user: string; room: string }) => m.user === 'zed' && m.room === '#sec');
      assert.equal(left.at(-1)?.action, 'leave', JSON.stringify(left));
      replay.close();
    } finally {
      await accounts.close();
    }
    // Idempotent: another start in accounts mode changes nothing more.
    const again = await startTestServer({ ...config, auth: 'accounts' });
    try {
      const carol = caller(again.url, await session(again.url, 'carol', PASSWORD));
      const members = (await carol('GET', '/rooms/zroom')).json.members;
      assert.equal(members.length, 2);
    } finally {
      await again.close();
    }
  });
});

describe('edits and deletes follow what the actor sees', () => {
  test('open-mode messages of a nick are not its registrant’s to edit, and unseen ones are 404', async () => {
    const config = settings('edits');
    const open = await startTestServer({ ...config, auth: 'open' });
    let toBob = 0;
    let byZed = 0;
    let byZedDm = 0;
    try {
      const alice = caller(open.url, await session(open.url, 'alice'));
      const zed = caller(open.url, await session(open.url, 'zed'));
      toBob = (await ok(alice('POST', '/messages', { to: 'bob', text: 'for bob' }))).id;
      byZed = (await ok(zed('POST', '/messages', { to: 'all', text: 'zed says' }))).id;
      byZedDm = (await ok(zed('POST', '/messages', { to: 'alice', text: 'hi alice' }))).id;
    } finally {
      await open.close();
    }

    const accounts = await startTestServer({ ...config, auth: 'accounts' });
    try {
      const base = accounts.url;
      await session(base, 'alice', PASSWORD, true);
      const bob = caller(base, await session(base, 'bob', PASSWORD, true));
      const zed = caller(base, await session(base, 'zed', PASSWORD, true));
      // What was addressed to bob before he registered: not found, as if it did not exist.
      for (const [method, body] of [
        ['PATCH', { text: 'x' }],
        ['DELETE', undefined],
      ] as const) {
        const r = await bob(method, `/messages/${toBob}`, body);
        assert.equal(r.status, 404, `${method} ${r.body}`);
        assert.equal(r.json.error.code, 'CHAT_MESSAGE_NOT_FOUND');
      }
      // What the nick zed sent in open mode is not the new zed's to change.
      for (const id of [byZed, byZedDm]) {
        const edit = await zed('PATCH', `/messages/${id}`, { text: 'rewritten' });
        assert.ok(edit.status === 403 || edit.status === 404, edit.body);
        const del = await zed('DELETE', `/messages/${id}`);
        assert.ok(del.status === 403 || del.status === 404, del.body);
      }
      // A message of a room's earlier life is not found by a member of its current life.
      const carol = caller(base, await session(base, 'carol', PASSWORD, true));
      const dave = caller(base, await session(base, 'dave', PASSWORD, true));
      await ok(carol('POST', '/rooms', { name: '#life', visibility: 'public', history: 'all' }));
      await ok(dave('POST', '/rooms/life/join', {}));
      const old = (await ok(dave('POST', '/messages', { to: '#life', text: 'first life' }))).id;
      await ok(dave('POST', '/rooms/life/leave', {}));
      await ok(carol('POST', '/rooms/life/leave', {}));
      await ok(carol('POST', '/rooms', { name: '#life', visibility: 'public', history: 'all' }));
      const edit = await carol('PATCH', `/messages/${old}`, { text: 'x' });
      assert.equal(edit.status, 404, edit.body);
      assert.equal(edit.json.error.code, 'CHAT_MESSAGE_NOT_FOUND');
      // Nor one from before a member joined a room whose history starts at joining, even for
      // a moderator: the room's history does not show it to them.
      await ok(carol('POST', '/rooms', { name: '#joined', visibility: 'public' }));
      const early = (await ok(carol('POST', '/messages', { to: '#joined', text: 'early' }))).id;
      await ok(dave('POST', '/rooms/joined/join', {}));
      await ok(carol('PUT', '/rooms/joined/members/dave', { role: 'moderator' }));
      for (const [method, body] of [
        ['PATCH', { text: 'x' }],
        ['DELETE', undefined],
      ] as const) {
        const r = await dave(method, `/messages/${early}`, body);
        assert.equal(r.status, 404, `${method} ${r.body}`);
      }
      // What they can read is as before: another's is 403 to edit, a moderator deletes it.
      const seen = (await ok(carol('POST', '/messages', { to: '#joined', text: 'seen' }))).id;
      assert.equal((await dave('PATCH', `/messages/${seen}`, { text: 'x' })).status, 403);
      await ok(dave('DELETE', `/messages/${seen}`));
      // And one's own, in every kind of conversation, after registering: a note to oneself
      // too.
      for (const to of ['zed', 'alice', 'all', '#joined']) {
        if (to === '#joined') await ok(zed('POST', '/rooms/joined/join', {}));
        const id = (await ok(zed('POST', '/messages', { to, text: 'mine' }))).id;
        await ok(zed('PATCH', `/messages/${id}`, { text: 'edited' }));
        await ok(zed('DELETE', `/messages/${id}`));
      }
    } finally {
      await accounts.close();
    }
  });
});
