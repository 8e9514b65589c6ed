import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ChatError, type ErrorCode } from '../domain/errors.js';
import {
  eventId,
  type LoggedEvent,
  type NewMemberChange,
  type NewMessage,
  type StoredMemberChange,
  type StoredMessage,
} from '../domain/events.js';
import {
  MAX_INVITES_PER_USER,
  MAX_ROOMS_PER_USER,
  ROOM_CREATION_WINDOW_MS,
} from '../domain/room-rules.js';
import type { StoreFactory } from './store.contract.js';
import { MAX_ROOM_LISTING, type Store } from './store.js';

/** A timestamp for the suites' changes. */
export const TS = 1_700_000_000_000;
/** `before` for the newest page of a history. */
export const NEWEST = Number.MAX_SAFE_INTEGER;

/** For assert.rejects: a ChatError with this code. */
export const code =
  (expected: ErrorCode) =>
  (err: unknown): boolean =>
    err instanceof ChatError && err.code === expected;

/** Appends a message of `from` to `to` at TS, not offline unless `over` says so. */
export const sendAt = async (
  store: Store,
  from: string,
  to: string,
  text: string,
  over: Partial<NewMessage> = {},
): Promise<StoredMessage> =>
  (await store.append({ from, to, text, ts: TS, offline: false, ...over })).message;

/** `user`'s own membership change to `room` at TS; a room it creates is public, joined history. */
export const memberAt = (
  store: Store,
  room: string,
  user: string,
  action: NewMemberChange['action'],
): Promise<StoredMemberChange[]> =>
  store.appendMember({
    room,
    user,
    by: user,
    action,
    ts: TS,
    bigRoom: 100,
    ...(action === 'create' && { settings: { visibility: 'public', history: 'joined' } }),
  });

/** The rooms part of the Store contract (store.ts), run by storeContract for every backend. */
export function roomsContract(name: string, open: StoreFactory): void {
  describe(`Store contract, rooms: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open({ maxOfflinePerUser: 3 });
    });
    afterEach(async () => {
      await store.close();
    });

    const change = async (
      over: Partial<NewMemberChange> & Pick<NewMemberChange, 'action' | 'user'>,
    ): Promise<StoredMemberChange | undefined> => (await changes(over)).at(-1);
    /** Every change a membership change logged: the invitations it withdrew, then itself. */
    const changes = (
      over: Partial<NewMemberChange> & Pick<NewMemberChange, 'action' | 'user'>,
    ): Promise<StoredMemberChange[]> =>
      store.appendMember({ room: '#r', by: over.user, ts: TS, bigRoom: 100, ...over });
    const create = (
      user: string,
      visibility: 'public' | 'private' = 'public',
      history: 'joined' | 'all' = 'joined',
    ) => change({ action: 'create', user, settings: { visibility, history } });
    const say = async (from: string, text: string, to = '#r'): Promise<StoredMessage> => {
      const m: NewMessage = { from, to, text, ts: TS, offline: false };
      return (await store.append(m)).message;
    };
    /** What `viewer` replays from the start, as short labels. */
    const seen = async (viewer: string, after = 0): Promise<string[]> =>
      (await store.since(viewer, after, 1000)).map(label);

    test('create makes the room with its creator as owner; a second create is refused', async () => {
      const c = await create('ann', 'private', 'all');
      assert.ok(c);
      assert.deepEqual(c, {
        id: c.id,
        room: '#r',
        user: 'ann',
        by: 'ann',
        action: 'create',
        ts: TS,
        role: 'owner',
        quiet: false,
      });
      assert.equal(await store.head(), c.id);
      assert.deepEqual(await store.room('#r'), {
        name: '#r',
        visibility: 'private',
        history: 'all',
        createdBy: 'ann',
        created: TS,
        members: 1,
      });
      assert.equal(await store.room('#other'), undefined);
      assert.equal(await store.role('#r', 'ann'), 'owner');
      assert.equal(await store.role('#r', 'bob'), null);
      assert.equal(await store.role('#none', 'ann'), null);
      await assert.rejects(create('bob'), code('CHAT_ROOM_EXISTS'));
      assert.equal(await store.head(), c.id);
    });

    test('a user in MAX_ROOMS_PER_USER rooms can neither create nor join another', async () => {
      await change({
        action: 'create',
        room: '#open',
        user: 'bob',
        settings: { visibility: 'public', history: 'joined' },
      });
      for (let i = 0; i < MAX_ROOMS_PER_USER; i++) {
        await change({
          action: 'create',
          room: `#r${i}`,
          user: 'ann',
          settings: { visibility: 'public', history: 'joined' },
          // An hour apart, below the creation rate.
          ts: TS + i * ROOM_CREATION_WINDOW_MS,
        });
      }
      await assert.rejects(create('ann'), code('CHAT_TOO_MANY_ROOMS'));
      await assert.rejects(
        change({ action: 'join', room: '#open', user: 'ann' }),
        code('CHAT_TOO_MANY_ROOMS'),
      );
      await change({ action: 'leave', room: '#r0', user: 'ann' });
      assert.ok(await change({ action: 'join', room: '#open', user: 'ann' }));
    });

    test('a room keeps an owner while it has members', async () => {
      await create('ann');
      await change({ action: 'join', user: 'bob' });
      await assert.rejects(change({ action: 'leave', user: 'ann' }), code('CHAT_FORBIDDEN'));
      await assert.rejects(
        change({ action: 'role', user: 'ann', by: 'ann', role: 'moderator' }),
        code('CHAT_FORBIDDEN'),
      );
      await change({ action: 'role', user: 'bob', by: 'ann', role: 'owner' });
      assert.equal((await change({ action: 'leave', user: 'ann' }))?.role, null);
      // Alone, the last owner may leave, and the room is removed.
      assert.equal((await change({ action: 'leave', user: 'bob' }))?.role, null);
      assert.equal(await store.room('#r'), undefined);
    });

    test('a user holds at most MAX_INVITES_PER_USER invitations: a new one replaces the oldest', async () => {
      for (let i = 0; i < MAX_INVITES_PER_USER; i++) {
        const room = `#i${i}`;
        const settings = { visibility: 'private' as const, history: 'joined' as const };
        // Many owners: one user creates only so many rooms an hour.
        await change({ action: 'create', room, user: `own${i}`, settings });
        assert.ok(await change({ action: 'invite', room, user: 'bob', by: `own${i}` }));
      }
      await create('ann', 'private');
      const label = (c: StoredMemberChange) => `${c.room} ${c.action} ${c.user} ${c.by}`;
      // The oldest is withdrawn, in its own room, by who gave it; then the new one.
      const logged = await changes({ action: 'invite', user: 'bob', by: 'ann' });
      assert.deepEqual(logged.map(label), ['#i0 remove bob own0', '#r invite bob ann']);
      assert.equal(logged[0]?.role, null);
      const held = async () =>
        (await store.rooms('bob')).filter((r) => r.invited).map((r) => r.name);
      assert.equal((await held()).length, MAX_INVITES_PER_USER);
      assert.ok((await held()).includes('#r'));
      assert.ok(!(await held()).includes('#i0'));
      await assert.rejects(
        change({ action: 'join', room: '#i0', user: 'bob' }),
        code('CHAT_FORBIDDEN'),
      );
      // Invited again from #i0, bob loses the next oldest, and still holds the bound.
      const again = await changes({ action: 'invite', room: '#i0', user: 'bob', by: 'own0' });
      assert.deepEqual(again.map(label), ['#i1 remove bob own1', '#i0 invite bob own0']);
      assert.equal((await held()).length, MAX_INVITES_PER_USER);
      assert.ok(await change({ action: 'join', user: 'bob' }));
    });

    test('two creates of one room at once: exactly one wins', async () => {
      const results = await Promise.allSettled([create('ann'), create('bob')]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const lost = results.find((r) => r.status === 'rejected');
      assert.ok(lost && code('CHAT_ROOM_EXISTS')(lost.reason));
      assert.equal((await store.members('#r')).length, 1);
    });

    test('joining: public rooms are open, private ones need an invitation, which is used up', async () => {
      await assert.rejects(change({ action: 'join', user: 'bob' }), code('CHAT_ROOM_NOT_FOUND'));
      await create('ann');
      const j = await change({ action: 'join', user: 'bob' });
      assert.equal(j?.role, 'member');
      assert.equal(j?.action, 'join');
      // A member joining again changes nothing and logs nothing.
      const head = await store.head();
      assert.equal(await change({ action: 'join', user: 'bob' }), undefined);
      assert.equal(await store.head(), head);

      await change({
        action: 'create',
        room: '#p',
        user: 'ann',
        settings: { visibility: 'private', history: 'joined' },
      });
      await assert.rejects(
        change({ action: 'join', room: '#p', user: 'cat' }),
        code('CHAT_FORBIDDEN'),
      );
      const inv = await change({ action: 'invite', room: '#p', user: 'cat', by: 'ann' });
      assert.deepEqual(inv && { action: inv.action, user: inv.user, by: inv.by, role: inv.role }, {
        action: 'invite',
        user: 'cat',
        by: 'ann',
        role: null,
      });
      assert.equal(
        await change({ action: 'invite', room: '#p', user: 'cat', by: 'ann' }),
        undefined,
      );
      assert.equal((await change({ action: 'join', room: '#p', user: 'cat' }))?.role, 'member');
      await change({ action: 'leave', room: '#p', user: 'cat' });
      // The invitation was used up by the join.
      await assert.rejects(
        change({ action: 'join', room: '#p', user: 'cat' }),
        code('CHAT_FORBIDDEN'),
      );
      assert.deepEqual(
        (await store.members('#p')).map((m) => [m.user, m.role]),
        [['ann', 'owner']],
      );
    });

    test('invite and remove are for owners and moderators; roles are set by owners', async () => {
      await create('ann', 'private');
      for (const user of ['bob', 'cat', 'dan']) {
        await change({ action: 'invite', user, by: 'ann' });
        await change({ action: 'join', user });
      }
      await assert.rejects(
        change({ action: 'invite', user: 'eve', by: 'bob' }),
        code('CHAT_FORBIDDEN'),
      );
      await assert.rejects(
        change({ action: 'invite', user: 'eve', by: 'zed' }),
        code('CHAT_NOT_MEMBER'),
      );
      await assert.rejects(
        change({ action: 'role', user: 'cat', by: 'bob', role: 'moderator' }),
        code('CHAT_FORBIDDEN'),
      );
      const promoted = await change({ action: 'role', user: 'bob', by: 'ann', role: 'moderator' });
      assert.equal(promoted?.role, 'moderator');
      assert.equal(
        await change({ action: 'role', user: 'bob', by: 'ann', role: 'moderator' }),
        undefined,
      );
      await assert.rejects(
        change({ action: 'role', user: 'eve', by: 'ann', role: 'member' }),
        code('CHAT_NOT_MEMBER'),
      );
      // A moderator invites and removes plain members, not owners or moderators.
      assert.ok(await change({ action: 'invite', user: 'eve', by: 'bob' }));
      await assert.rejects(
        change({ action: 'remove', user: 'ann', by: 'bob' }),
        code('CHAT_FORBIDDEN'),
      );
      const removed = await change({ action: 'remove', user: 'cat', by: 'bob' });
      assert.deepEqual(removed && [removed.action, removed.user, removed.by, removed.role], [
        'remove',
        'cat',
        'bob',
        null,
      ]);
      await assert.rejects(
        change({ action: 'remove', user: 'cat', by: 'bob' }),
        code('CHAT_NOT_MEMBER'),
      );
      await assert.rejects(
        change({ action: 'remove', user: 'dan', by: 'dan' }),
        code('CHAT_FORBIDDEN'),
      );
      // Removing an invited user withdraws the invitation.
      assert.ok(await change({ action: 'remove', user: 'eve', by: 'ann' }));
      await assert.rejects(change({ action: 'join', user: 'eve' }), code('CHAT_FORBIDDEN'));
      await assert.rejects(change({ action: 'leave', user: 'eve' }), code('CHAT_NOT_MEMBER'));
      assert.deepEqual(
        (await store.members('#r')).map((m) => [m.user, m.role]),
        [
          ['ann', 'owner'],
          ['bob', 'moderator'],
          ['dan', 'member'],
        ],
      );
      assert.equal((await store.room('#r'))?.members, 3);
    });

    test('a member sees the room from joining to leaving, and their own changes', async () => {
      await create('ann');
      await say('ann', 'before bob');
      await change({ action: 'join', user: 'bob' });
      await say('ann', 'while bob');
      await say('bob', 'from bob');
      await change({ action: 'leave', user: 'bob' });
      await say('ann', 'after bob left');
      await change({ action: 'join', user: 'bob' });
      await say('ann', 'bob is back');
      await store.append({ from: 'ann', to: 'all', text: 'to all', ts: TS, offline: false });
      await say('ann', 'to cat', 'cat');
      assert.deepEqual(await seen('bob'), [
        'member join bob',
        'message ann #r while bob',
        'message bob #r from bob',
        'member leave bob',
        'member join bob',
        'message ann #r bob is back',
        'message ann all to all',
      ]);
      assert.deepEqual(await seen('ann'), [
        'member create ann',
        'message ann #r before bob',
        'member join bob',
        'message ann #r while bob',
        'message bob #r from bob',
        'member leave bob',
        'message ann #r after bob left',
        'member join bob',
        'message ann #r bob is back',
        'message ann all to all',
        'message ann cat to cat',
      ]);
      assert.deepEqual(await seen('cat'), ['message ann all to all', 'message ann cat to cat']);
      // since() starts after the given id, also inside a span.
      const all = await store.since('bob', 0, 1000);
      const third = eventId(all[2] as LoggedEvent);
      assert.deepEqual((await seen('bob', third)).slice(0, 2), [
        'member leave bob',
        'member join bob',
      ]);
      assert.deepEqual(await seen('bob', 0).then((s) => s.length), 7);
      assert.equal((await store.since('bob', 0, 2)).length, 2);
    });

    test('an invited or removed user sees that change, not the room', async () => {
      await create('ann', 'private');
      await say('ann', 'secret');
      await change({ action: 'invite', user: 'bob', by: 'ann' });
      await say('ann', 'still secret');
      assert.deepEqual(await seen('bob'), ['member invite bob']);
      await change({ action: 'join', user: 'bob' });
      await say('ann', 'hi bob');
      await change({ action: 'remove', user: 'bob', by: 'ann' });
      await say('ann', 'bob is gone');
      assert.deepEqual(await seen('bob'), [
        'member invite bob',
        'member join bob',
        'message ann #r hi bob',
        'member remove bob',
      ]);
    });

    test('a removal carries its reason, logged and replayed alike; its withdrawals do not', async () => {
      await create('ann');
      await change({ action: 'join', user: 'bob' });
      await change({ action: 'role', user: 'bob', by: 'ann', role: 'moderator' });
      await change({ action: 'invite', user: 'cat', by: 'bob' });
      await change({ action: 'join', user: 'dan' });
      const logged = await changes({ action: 'remove', user: 'bob', by: 'ann', reason: 'spam' });
      assert.deepEqual(
        logged.map((c) => [c.user, c.by, c.reason]),
        [
          ['cat', 'bob', undefined],
          ['bob', 'ann', 'spam'],
        ],
      );
      assert.ok(!('reason' in (logged[0] as StoredMemberChange)), 'a withdrawal has none');
      /** The member events `viewer` replays about `user`. */
      const replayed = async (viewer: string, user: string) =>
        (await store.since(viewer, 0, 1000)).flatMap((e) =>
          e.kind === 'member' && e.change.user === user ? [e.change] : [],
        );
      // The removed user, and a member of the room, replay what was logged, reason included.
      assert.deepEqual((await replayed('bob', 'bob')).at(-1), logged[1]);
      assert.deepEqual((await replayed('dan', 'bob')).at(-1), logged[1]);
      assert.deepEqual((await replayed('cat', 'cat')).at(-1), logged[0]);
      // Without a reason, none: no key, neither logged nor replayed.
      const plain = await change({ action: 'remove', user: 'dan', by: 'ann' });
      assert.ok(plain && !('reason' in plain));
      const back = (await replayed('dan', 'dan')).at(-1);
      assert.deepEqual(back, plain);
      assert.ok(back && !('reason' in back));
    });

    test('joins and leaves of a big room are quiet: only their user sees them', async () => {
      await create('ann');
      const small = await change({ action: 'join', user: 'bob', bigRoom: 2 });
      assert.equal(small?.quiet, false);
      const big = await change({ action: 'join', user: 'cat', bigRoom: 2 });
      assert.equal(big?.quiet, false, 'two members before it: not more than 2');
      const quiet = await change({ action: 'join', user: 'dan', bigRoom: 2 });
      assert.equal(quiet?.quiet, true);
      const left = await change({ action: 'leave', user: 'dan', bigRoom: 2 });
      assert.equal(left?.quiet, true);
      assert.deepEqual(await seen('ann'), [
        'member create ann',
        'member join bob',
        'member join cat',
      ]);
      assert.deepEqual(await seen('dan'), ['member join dan', 'member leave dan']);
      // Quiet changes are logged like any other (log() has them).
      assert.equal((await store.log(0, 100)).length, 5);
    });

    test('history of a room: from joining, or all of it in history mode all', async () => {
      await create('ann');
      await change({
        action: 'create',
        room: '#open',
        user: 'ann',
        settings: { visibility: 'public', history: 'all' },
      });
      await say('ann', 'old');
      await say('ann', 'old too', '#open');
      await change({ action: 'join', user: 'bob' });
      await change({ action: 'join', room: '#open', user: 'bob' });
      await say('ann', 'new');
      await say('ann', 'new too', '#open');
      await say('ann', 'dm', 'bob');
      const texts = (ms: StoredMessage[]) => ms.map((m) => m.text);
      assert.deepEqual(texts(await store.history('bob', '#r', NEWEST, 10)), ['new']);
      assert.deepEqual(texts(await store.history('ann', '#r', NEWEST, 10)), ['old', 'new']);
      assert.deepEqual(texts(await store.history('bob', '#open', NEWEST, 10)), [
        'old too',
        'new too',
      ]);
      assert.deepEqual(texts(await store.history('bob', '#open', NEWEST, 1)), ['new too']);
      const page = await store.history('ann', '#r', NEWEST, 1);
      assert.deepEqual(texts(await store.history('ann', '#r', (page[0] as StoredMessage).id, 10)), [
        'old',
      ]);
    });

    test('rooms lists memberships, invitations and public rooms, by name', async () => {
      await change({
        action: 'create',
        room: '#b-public',
        user: 'ann',
        settings: { visibility: 'public', history: 'joined' },
      });
      await change({
        action: 'create',
        room: '#a-private',
        user: 'ann',
        settings: { visibility: 'private', history: 'joined' },
      });
      await change({
        action: 'create',
        room: '#c-hidden',
        user: 'ann',
        settings: { visibility: 'private', history: 'all' },
      });
      await change({
        action: 'create',
        room: '#d-mine',
        user: 'bob',
        settings: { visibility: 'private', history: 'joined' },
      });
      await change({ action: 'invite', room: '#a-private', user: 'bob', by: 'ann' });
      const list = await store.rooms('bob');
      assert.deepEqual(
        list.map((r) => [r.name, r.visibility, r.role, r.invited, r.members]),
        [
          ['#a-private', 'private', null, true, 1],
          ['#b-public', 'public', null, false, 1],
          ['#d-mine', 'private', 'owner', false, 1],
        ],
      );
      assert.equal((list[0] as { createdBy: string }).createdBy, 'ann');
      assert.deepEqual(
        (await store.rooms('ann')).map((r) => r.name),
        ['#a-private', '#b-public', '#c-hidden'],
      );
    });

    test("rooms never cuts the viewer's own rooms and invitations for public ones", async () => {
      // Public rooms that sort first, more than the listing's bound on them.
      for (let i = 0; i <= MAX_ROOM_LISTING; i++) {
        const room = `#a${String(i).padStart(4, '0')}`;
        await change({ action: 'create', room, user: `spam${i}` });
      }
      await change({ action: 'create', room: '#z-mine', user: 'bob' });
      await change({
        action: 'create',
        room: '#z-secret',
        user: 'ann',
        settings: { visibility: 'private', history: 'joined' },
      });
      await change({ action: 'invite', room: '#z-secret', user: 'bob', by: 'ann' });
      const list = await store.rooms('bob');
      assert.deepEqual(
        list.slice(-2).map((r) => [r.name, r.role, r.invited]),
        [
          ['#z-mine', 'owner', false],
          ['#z-secret', null, true],
        ],
      );
      assert.equal(list.length, MAX_ROOM_LISTING + 2);
      assert.equal(list[0]?.name, '#a0000');
    });

    test('memberships is a snapshot of every room with the head it reflects', async () => {
      const r = await create('ann');
      await change({ action: 'join', user: 'bob' });
      const s = await change({
        action: 'create',
        room: '#s',
        user: 'cat',
        settings: { visibility: 'private', history: 'joined' },
      });
      await change({ action: 'leave', user: 'bob' });
      const dan = await change({ action: 'join', user: 'dan' });
      // A role change keeps the start of the membership.
      await change({ action: 'role', user: 'dan', by: 'ann', role: 'moderator' });
      await say('ann', 'x');
      const snap = await store.memberships();
      assert.equal(snap.head, await store.head());
      assert.deepEqual(
        [...snap.members].sort((a, b) => (a.room + a.user).localeCompare(b.room + b.user)),
        [
          { room: '#r', user: 'ann', role: 'owner', since: r?.id },
          { room: '#r', user: 'dan', role: 'moderator', since: dan?.id },
          { room: '#s', user: 'cat', role: 'owner', since: s?.id },
        ],
      );
    });

    test('an edit replaces the text, is logged, and is seen by whoever sees the message', async () => {
      await create('ann');
      await change({ action: 'join', user: 'bob' });
      const m = await say('ann', 'typo');
      const e = await store.appendEdit({
        target: m.id,
        from: 'ann',
        to: '#r',
        text: 'fixed',
        ts: TS + 5,
      });
      assert.deepEqual(e, {
        id: e.id,
        target: m.id,
        from: 'ann',
        to: '#r',
        text: 'fixed',
        ts: TS + 5,
      });
      assert.ok(e.id > m.id);
      assert.deepEqual(await store.message(m.id), { ...m, text: 'fixed', edited: TS + 5 });
      assert.deepEqual((await store.history('bob', '#r', NEWEST, 10))[0], {
        ...m,
        text: 'fixed',
        edited: TS + 5,
      });
      assert.deepEqual((await seen('bob')).slice(1), [
        'message ann #r fixed',
        `edit ann #r ${m.id} fixed`,
      ]);
      assert.deepEqual(await store.log(m.id, 10), [{ kind: 'edit', edit: e }]);
      assert.deepEqual(await seen('cat'), []);
      // Direct messages: the two parties see the edit; a message in a mailbox reads back edited.
      const dm = (await store.append({ from: 'ann', to: 'cat', text: 'hi', ts: TS, offline: true }))
        .message;
      await store.appendEdit({ target: dm.id, from: 'ann', to: 'cat', text: 'hello', ts: TS + 9 });
      assert.deepEqual(await seen('cat'), ['message ann cat hello', `edit ann cat ${dm.id} hello`]);
      assert.deepEqual(await store.takeOffline('cat'), [{ ...dm, text: 'hello', edited: TS + 9 }]);
      await assert.rejects(
        store.appendEdit({ target: e.id, from: 'ann', to: '#r', text: 'x', ts: TS }),
        code('CHAT_MESSAGE_NOT_FOUND'),
      );
      await assert.rejects(
        store.appendEdit({ target: 999_999, from: 'ann', to: '#r', text: 'x', ts: TS }),
        code('CHAT_MESSAGE_NOT_FOUND'),
      );
    });

    test('a member who joined after a message gets its delete, not its edits', async () => {
      await create('ann', 'public', 'all');
      await change({ action: 'join', user: 'bob' });
      const old = await say('ann', 'secret draft');
      await change({ action: 'join', user: 'cat' });
      const newer = await say('ann', 'hello cat');
      await store.appendEdit({ target: old.id, from: 'ann', to: '#r', text: 'new secret', ts: TS });
      await store.appendEdit({ target: newer.id, from: 'ann', to: '#r', text: 'hi cat', ts: TS });
      await store.appendDelete({ target: old.id, from: 'ann', to: '#r', ts: TS });
      const edits = async (viewer: string) =>
        (await seen(viewer)).filter((l) => l.startsWith('edit') || l.startsWith('delete'));
      assert.deepEqual(await edits('cat'), [
        `edit ann #r ${newer.id} hi cat`,
        `delete ann #r ${old.id}`,
      ]);
      // (The delete emptied the text of the old message's edit.)
      assert.deepEqual(await edits('bob'), [
        `edit ann #r ${old.id} `,
        `edit ann #r ${newer.id} hi cat`,
        `delete ann #r ${old.id}`,
      ]);
    });

    test('edits and deletes of a broadcast are seen by everyone', async () => {
      const m = (
        await store.append({ from: 'ann', to: 'all', text: 'hi all', ts: TS, offline: false })
      ).message;
      await store.appendEdit({ target: m.id, from: 'ann', to: 'all', text: 'hello all', ts: TS });
      await store.appendDelete({ target: m.id, from: 'ann', to: 'all', ts: TS });
      assert.deepEqual(await seen('zed'), [
        'message ann all ',
        `edit ann all ${m.id} `,
        `delete ann all ${m.id}`,
      ]);
    });

    test('a delete removes the text of the message and of its edits, and is logged', async () => {
      await create('ann');
      const m = await say('ann', 'oops');
      await store.appendEdit({
        target: m.id,
        from: 'ann',
        to: '#r',
        text: 'oops again',
        ts: TS + 1,
      });
      const d = await store.appendDelete({ target: m.id, from: 'ann', to: '#r', ts: TS + 2 });
      assert.deepEqual(d, { id: d.id, target: m.id, from: 'ann', to: '#r', ts: TS + 2 });
      const gone = { ...m, text: '', edited: TS + 1, deleted: true as const };
      assert.deepEqual(await store.message(m.id), gone);
      assert.deepEqual(await store.history('ann', '#r', NEWEST, 10), [gone]);
      assert.deepEqual((await seen('ann')).slice(1), [
        'message ann #r ',
        `edit ann #r ${m.id} `,
        `delete ann #r ${m.id}`,
      ]);
      const log = await store.log(0, 10);
      assert.ok(!JSON.stringify(log).includes('oops'), 'no trace of the text in the log');
      await assert.rejects(
        store.appendEdit({ target: m.id, from: 'ann', to: '#r', text: 'back', ts: TS }),
        code('CHAT_MESSAGE_NOT_FOUND'),
      );
      await assert.rejects(
        store.appendDelete({ target: m.id, from: 'ann', to: '#r', ts: TS }),
        code('CHAT_MESSAGE_NOT_FOUND'),
      );
    });

    test('room changes, edits and deletes share the id sequence with messages, in call order', async () => {
      const calls = await Promise.all([
        create('ann').then((c) => c?.id),
        say('ann', 'one', 'bob').then((m) => m.id),
        change({ action: 'join', user: 'bob' }).then((c) => c?.id),
        say('bob', 'two').then((m) => m.id),
      ]);
      const ids = calls as number[];
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        ids,
      );
      const e = await store.appendEdit({
        target: ids[3] as number,
        from: 'bob',
        to: '#r',
        text: 'TWO',
        ts: TS,
      });
      const d = await store.appendDelete({
        target: ids[1] as number,
        from: 'ann',
        to: 'bob',
        ts: TS,
      });
      assert.ok(d.id > e.id && e.id > (ids[3] as number));
      assert.deepEqual(
        (await store.log(0, 10)).map((ev) => ev.kind),
        ['member', 'message', 'member', 'message', 'edit', 'delete'],
      );
    });

    test('retention removes room entries, not rooms or memberships', async () => {
      await create('ann');
      await change({ action: 'join', user: 'bob' });
      for (let i = 0; i < 5; i++) await say('ann', `m${i}`);
      assert.equal(await store.prune({ olderThan: 0, keep: 2 }), 5);
      assert.equal((await store.room('#r'))?.members, 2);
      assert.equal(await store.role('#r', 'bob'), 'member');
      assert.deepEqual(await seen('bob'), ['message ann #r m3', 'message ann #r m4']);
    });
  });
}

/** A short description of a logged event, for comparing what a viewer sees. */
function label(e: LoggedEvent): string {
  switch (e.kind) {
    case 'message':
      return `message ${e.message.from} ${e.message.to} ${e.message.text}`;
    case 'read':
      return `read ${e.receipt.from} ${e.receipt.to} ${e.receipt.upTo}`;
    case 'member':
      return `member ${e.change.action} ${e.change.user}`;
    case 'edit':
      return `edit ${e.edit.from} ${e.edit.to} ${e.edit.target} ${e.edit.text}`;
    case 'delete':
      return `delete ${e.delete.from} ${e.delete.to} ${e.delete.target}`;
    case 'react':
      return `react ${e.reaction.from} ${e.reaction.to} ${e.reaction.target} ${e.reaction.emoji}`;
  }
}
