import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { ChatError } from '../domain/errors.js';
import type { NewMemberChange, StoredMemberChange, StoredMessage } from '../domain/events.js';
import {
  MAX_INVITES_PER_USER,
  MAX_ROOMS_CREATED_PER_HOUR,
  ROOM_CREATION_WINDOW_MS,
} from '../domain/room-rules.js';
import { code, NEWEST, TS } from './rooms.contract.js';
import type { StoreFactory } from './store.contract.js';
import { MAX_ROOM_LISTING, type Store } from './store.js';

type Over = Partial<NewMemberChange> & Pick<NewMemberChange, 'action' | 'user'>;

/**
 * The lives of a room, withdrawn invitations and the bounds on making rooms (store.ts), run by
 * storeContract for every backend.
 */
export function roomLivesContract(name: string, open: StoreFactory): void {
  describe(`Store contract, lives of rooms: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
    });
    afterEach(async () => {
      await store.close();
    });

    /** Every change logged, as `action user by`. */
    const changes = async (over: Over): Promise<string[]> =>
      (await store.appendMember({ room: '#r', by: over.user, ts: TS, bigRoom: 100, ...over })).map(
        (c: StoredMemberChange) => `${c.action} ${c.user} ${c.by}`,
      );
    const change = async (over: Over): Promise<StoredMemberChange | undefined> =>
      (await store.appendMember({ room: '#r', by: over.user, ts: TS, bigRoom: 100, ...over })).at(
        -1,
      );
    const create = (user: string, visibility: 'public' | 'private', history: 'joined' | 'all') =>
      change({ action: 'create', user, settings: { visibility, history } });
    const say = async (from: string, text: string): Promise<StoredMessage> =>
      (await store.append({ from, to: '#r', text, ts: TS, offline: false })).message;
    const seen = async (viewer: string): Promise<string[]> =>
      (await store.since(viewer, 0, 1000)).map((e) =>
        e.kind === 'message'
          ? `${e.message.from}: ${e.message.text}`
          : e.kind === 'member'
            ? `${e.change.action} ${e.change.user}`
            : e.kind,
      );
    const history = async (viewer: string): Promise<string[]> =>
      (await store.history(viewer, '#r', NEWEST, 100)).map((m) => m.text);

    test('the last member leaving removes the room and frees its name; its lives stay apart', async () => {
      await create('ann', 'private', 'all');
      await change({ action: 'invite', user: 'bob', by: 'ann' });
      const old = await say('ann', 'old');
      // The invitation is withdrawn first, then the leave closes the room.
      assert.deepEqual(await changes({ action: 'leave', user: 'ann' }), [
        'remove bob ann',
        'leave ann ann',
      ]);
      assert.equal(await store.room('#r'), undefined);
      assert.deepEqual(await store.members('#r'), []);
      assert.deepEqual(await store.rooms('bob'), []);
      assert.ok(!(await store.memberships()).members.some((m) => m.room === '#r'));
      assert.deepEqual(await seen('bob'), ['invite bob', 'remove bob']);
      await assert.rejects(change({ action: 'join', user: 'bob' }), code('CHAT_ROOM_NOT_FOUND'));

      // A new life of the name, in history mode all: nothing of the old one shows.
      const again = await create('dan', 'public', 'all');
      assert.equal(again?.role, 'owner');
      assert.equal((await store.room('#r'))?.createdBy, 'dan');
      assert.deepEqual(await history('dan'), []);
      await say('dan', 'new');
      assert.deepEqual(await history('dan'), ['new']);
      assert.deepEqual(await seen('dan'), ['create dan', 'dan: new']);
      // The old member's replay keeps what they saw, and nothing of the new life.
      assert.deepEqual(await seen('ann'), [
        'create ann',
        'invite bob',
        'ann: old',
        'remove bob',
        'leave ann',
      ]);
      // Back as a member of the new life: its history only, and the old message is out of reach.
      await change({ action: 'join', user: 'ann' });
      assert.deepEqual(await history('ann'), ['new']);
      await assert.rejects(
        store.appendEdit({ target: old.id, from: 'ann', to: '#r', text: 'leak', ts: TS }),
        code('CHAT_MESSAGE_NOT_FOUND'),
      );
      await assert.rejects(
        store.appendDelete({ target: old.id, from: 'dan', to: '#r', ts: TS }),
        code('CHAT_MESSAGE_NOT_FOUND'),
      );
      assert.equal((await store.message(old.id))?.text, 'old');
      assert.ok(!(await seen('dan')).includes('ann: old'));
    });

    test('history mode joined: a member of both lives reads only the current one', async () => {
      await create('ann', 'public', 'joined');
      await say('ann', 'first life');
      await change({ action: 'leave', user: 'ann' });
      await create('ann', 'public', 'joined');
      await say('ann', 'second life');
      assert.deepEqual(await history('ann'), ['second life']);
    });

    test('invitations lapse when their inviter leaves or is removed; an invitee declines', async () => {
      await create('ann', 'private', 'joined');
      for (const user of ['bob', 'cat']) {
        await change({ action: 'invite', user, by: 'ann' });
        await change({ action: 'join', user });
      }
      await change({ action: 'role', user: 'bob', by: 'ann', role: 'moderator' });
      await change({ action: 'invite', user: 'dan', by: 'bob' });
      await change({ action: 'invite', user: 'eve', by: 'ann' });
      assert.deepEqual(await changes({ action: 'leave', user: 'bob' }), [
        'remove dan bob',
        'leave bob bob',
      ]);
      await assert.rejects(change({ action: 'join', user: 'dan' }), code('CHAT_FORBIDDEN'));
      assert.deepEqual(await seen('dan'), ['invite dan', 'remove dan']);
      // The room's members see the withdrawal like any removal of an invitation.
      assert.ok((await seen('cat')).includes('remove dan'));

      await change({ action: 'role', user: 'cat', by: 'ann', role: 'moderator' });
      await change({ action: 'invite', user: 'fay', by: 'cat' });
      assert.deepEqual(await changes({ action: 'remove', user: 'cat', by: 'ann' }), [
        'remove fay cat',
        'remove cat ann',
      ]);
      assert.deepEqual(
        (await store.rooms('fay')).map((r) => r.name),
        [],
      );

      // eve declines ann's invitation: a remove of herself.
      const declined = await change({ action: 'remove', user: 'eve', by: 'eve' });
      assert.deepEqual(declined && [declined.action, declined.user, declined.by, declined.role], [
        'remove',
        'eve',
        'eve',
        null,
      ]);
      assert.deepEqual(await store.rooms('eve'), []);
      await assert.rejects(change({ action: 'join', user: 'eve' }), code('CHAT_FORBIDDEN'));
      // Nothing left to decline: nothing logged. A member cannot "decline" their membership.
      assert.equal(await change({ action: 'remove', user: 'eve', by: 'eve' }), undefined);
      await assert.rejects(
        change({ action: 'remove', user: 'ann', by: 'ann' }),
        code('CHAT_FORBIDDEN'),
      );
      await assert.rejects(
        change({ action: 'remove', user: 'eve', by: 'eve', room: '#none' }),
        code('CHAT_ROOM_NOT_FOUND'),
      );
    });

    test('invitations from throw-away rooms lapse and cannot lock a user out', async () => {
      for (let i = 0; i < MAX_INVITES_PER_USER; i++) {
        const room = `#t${i}`;
        const settings = { visibility: 'private' as const, history: 'joined' as const };
        await change({ action: 'create', room, user: `own${i}`, settings });
        await change({ action: 'invite', room, user: 'bob', by: `own${i}` });
        await change({ action: 'leave', room, user: `own${i}` });
      }
      assert.deepEqual(await store.rooms('bob'), []);
      await create('ann', 'private', 'joined');
      assert.ok(await change({ action: 'invite', user: 'bob', by: 'ann' }));
    });

    test('one user creates at most MAX_ROOMS_CREATED_PER_HOUR rooms an hour', async () => {
      const make = (user: string, i: number, ts: number) =>
        change({ action: 'create', room: `#c${i}`, user, ts });
      for (let i = 0; i < MAX_ROOMS_CREATED_PER_HOUR; i++) {
        await make('ann', i, TS + i);
        // Leaving (which removes the room) does not give the creation back.
        await change({ action: 'leave', room: `#c${i}`, user: 'ann', ts: TS + i });
      }
      const late = TS + MAX_ROOMS_CREATED_PER_HOUR;
      await assert.rejects(
        make('ann', 99, late),
        (err) =>
          code('CHAT_RATE_LIMITED')(err) &&
          (err as ChatError).retryAfterMs === TS + ROOM_CREATION_WINDOW_MS - late,
      );
      assert.equal(await store.room('#c99'), undefined);
      assert.ok(await make('bob', 99, late));
      assert.ok(await make('ann', 98, TS + ROOM_CREATION_WINDOW_MS + 1));
    });

    test('a claimed (open-mode) create is not counted per user: the edge counts it', async () => {
      for (let i = 0; i <= MAX_ROOMS_CREATED_PER_HOUR; i++) {
        assert.ok(await change({ action: 'create', room: `#o${i}`, user: 'ann', claimed: true }));
        await change({ action: 'leave', room: `#o${i}`, user: 'ann', claimed: true });
      }
    });

    test('rooms lists shared public rooms before rooms nobody else is in', async () => {
      await change({ action: 'create', room: '#zz-busy', user: 'bob' });
      await change({ action: 'join', room: '#zz-busy', user: 'cat' });
      for (let i = 0; i <= MAX_ROOM_LISTING; i++) {
        const room = `#a${String(i).padStart(4, '0')}`;
        await change({ action: 'create', room, user: `spam${i}` });
      }
      const list = await store.rooms('eve');
      assert.equal(list.length, MAX_ROOM_LISTING);
      assert.ok(list.some((r) => r.name === '#zz-busy'));
      // Still by name, and the cut falls on the one-member rooms that sort last.
      assert.equal(list.at(-1)?.name, '#zz-busy');
      assert.ok(!list.some((r) => r.name === '#a1000'));
    });
  });
}

/**
 * What both engines' migration tests of version-3 (SQLite) and version-2 (PostgreSQL) rooms
 * check last, on a store migrated from rooms `#empty` (nobody in it) and `#live` (where `mod`
 * invited `bob`): the empty room's name is free again, and `bob`'s invitation, whose inviter
 * the migration found in the log, lapses when `mod` leaves.
 */
export async function checkMigratedRooms(store: Store): Promise<void> {
  const change = { ts: 2, bigRoom: 100 } as const;
  const made = await store.appendMember({
    ...change,
    room: '#empty',
    action: 'create',
    user: 'fay',
    by: 'fay',
  });
  assert.equal(made.length, 1);
  const left = await store.appendMember({
    ...change,
    room: '#live',
    action: 'leave',
    user: 'mod',
    by: 'mod',
  });
  assert.deepEqual(
    left.map((c) => [c.action, c.user, c.by]),
    [
      ['remove', 'bob', 'mod'],
      ['leave', 'mod', 'mod'],
    ],
  );
}
