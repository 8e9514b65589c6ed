import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { endStrayMemberships } from '../core/stray-members.js';
import { ChatError } from '../domain/errors.js';
import { eventId, type NewMemberChange, type NewMessage } from '../domain/events.js';
import type { Store } from './store.js';

const TS = 1_700_000_000_000;

const msg = (from: string, to: string, text: string, offline = false): NewMessage => ({
  from,
  to,
  text,
  ts: TS,
  offline,
});

const change = (over: Partial<NewMemberChange>): NewMemberChange => ({
  room: '#r',
  user: 'mary',
  by: 'mary',
  action: 'create',
  ts: TS,
  bigRoom: 100,
  ...over,
});

/**
 * Names nobody owns (store.ts, "A registered viewer..."; accounts.ts, createUser and
 * setAuthMode): what was addressed to a nick before it was registered never reaches the
 * account. Run by accountsContract, so on every backend.
 */
export function registrationContract(name: string, open: () => Promise<Store> | Store): void {
  describe(`registration point: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    test('what was addressed to a nick before it registered is not its account’s', async () => {
      const early = (await store.append(msg('mary', 'john', 'for john?', true))).message;
      const note = (await store.append(msg('john', 'john', 'a note by whoever'))).message;
      const byJohn = (await store.append(msg('john', 'mary', 'sent as john'))).message;
      await store.appendMember(change({ settings: { visibility: 'private', history: 'all' } }));
      const invite = await store.appendMember(change({ action: 'invite', user: 'john' }));
      assert.ok(invite);

      assert.equal(await store.accounts.createUser('john', 'h', TS), true);
      // About pre-registration messages, so not his either: an edit carries new text.
      const edit = await store.appendEdit({
        target: early.id,
        from: 'mary',
        to: 'john',
        text: 'edited after',
        ts: TS,
      });
      const read = await store.appendReceipt({ from: 'mary', to: 'john', upTo: byJohn.id, ts: TS });
      const later = (await store.append(msg('mary', 'john', 'for john', true))).message;

      const seen = (await store.since('john', 0, 100)).map(eventId);
      assert.deepEqual(seen, [byJohn.id, later.id]);
      assert.deepEqual(
        (await store.history('john', 'mary', Number.MAX_SAFE_INTEGER, 10)).map((m) => m.id),
        [byJohn.id, later.id],
      );
      assert.deepEqual(await store.history('john', 'john', Number.MAX_SAFE_INTEGER, 10), []);
      assert.deepEqual(
        (await store.takeOffline('john')).map((m) => m.id),
        [later.id],
      );
      // The invitation went with the registration.
      assert.deepEqual(
        (await store.rooms('john')).filter((r) => r.name === '#r'),
        [],
      );
      await assert.rejects(
        store.appendMember(change({ action: 'join', user: 'john', by: 'john' })),
        (err) => err instanceof ChatError && err.code === 'CHAT_FORBIDDEN',
      );

      // The sender keeps all of it.
      const mary = (await store.since('mary', 0, 100)).map(eventId);
      for (const id of [early.id, byJohn.id, edit.id, read.id, later.id])
        assert.ok(mary.includes(id));
      assert.deepEqual(
        (await store.history('mary', 'john', Number.MAX_SAFE_INTEGER, 10)).map((m) => m.id),
        [early.id, byJohn.id, later.id],
      );
      assert.ok(note.id > 0);
    });

    test('the rule is for the exact nick: another case of it is another name', async () => {
      const early = (await store.append(msg('mary', 'John', 'for John'))).message;
      assert.equal(await store.accounts.createUser('john', 'h', TS), true);
      assert.deepEqual((await store.since('John', 0, 10)).map(eventId), [early.id]);
    });

    test('a nick that registers later finds an empty mailbox, and a full one frees', async () => {
      // Fill kim's mailbox, whatever the factory's limit (at most 1000 here).
      let full = false;
      for (let i = 0; i < 1000 && !full; i++) {
        full = await store.append(msg('mary', 'kim', `m${i}`, true)).then(
          () => false,
          (err) => err instanceof ChatError && err.code === 'CHAT_MAILBOX_FULL',
        );
      }
      assert.ok(full);
      assert.equal(await store.accounts.createUser('kim', 'h', TS), true);
      const after = (await store.append(msg('mary', 'kim', 'welcome', true))).message;
      assert.deepEqual(await store.takeOffline('kim'), [after]);
    });

    test('an account does not inherit the notification state its nick had before', async () => {
      // An open-mode `eve` (anyone) mutes the real eve's DMs and sets her markers and push
      // settings; the account eve registers later must start clean.
      await store.append(msg('mary', 'all', 'before'));
      await store.notify.unread('eve');
      await store.notify.setLevel('eve', 'mary', 'none');
      await store.notify.setLevel('eve', '#hidden-board', 'all');
      await store.notify.setMarker('eve', 'all', 1);
      await store.notify.setAttention('eve', 'tab', TS + 60_000);
      await store.push.setHideText('eve', true);
      // Another name keeps its own.
      await store.notify.setLevel('Eve', 'mary', 'none');
      assert.equal(await store.accounts.createUser('eve', 'h', TS), true);
      assert.deepEqual([...(await store.notify.levels('eve'))], []);
      assert.deepEqual([...(await store.notify.attentive(['eve'], TS))], []);
      assert.equal(await store.push.hideText('eve'), false);
      const later = (await store.append(msg('mary', 'all', 'after'))).message;
      // The baseline is taken again: nothing from before the account counts as unread.
      assert.deepEqual(await store.notify.unread('eve'), []);
      await store.append(msg('mary', 'all', 'news'));
      assert.deepEqual(
        (await store.notify.unread('eve')).map((u) => [u.with, u.marker, u.unread]),
        [['all', later.id, 1]],
      );
      assert.deepEqual([...(await store.notify.levels('Eve'))], [['mary', 'none']]);
    });

    test('switching to accounts mode drops what waits for nicks with no account', async () => {
      assert.equal(await store.accounts.setAuthMode('open'), 0);
      assert.equal(await store.accounts.createUser('ann', 'h', TS), true);
      const forAnn = (await store.append(msg('mary', 'ann', 'kept', true))).message;
      await store.append(msg('mary', 'ghost', 'dropped', true));
      await store.append(msg('mary', 'Ann', 'another name, dropped', true));
      await store.appendMember(change({ settings: { visibility: 'private', history: 'all' } }));
      await store.appendMember(change({ action: 'invite', user: 'ghost' }));
      await store.appendMember(change({ action: 'invite', user: 'ann' }));

      await store.accounts.setAuthMode('accounts');
      assert.deepEqual(await store.takeOffline('ghost'), []);
      assert.deepEqual(await store.takeOffline('Ann'), []);
      assert.deepEqual(
        (await store.rooms('ghost')).filter((r) => r.name === '#r'),
        [],
      );
      assert.deepEqual(await store.takeOffline('ann'), [forAnn]);
      const listed = (await store.rooms('ann')).find((r) => r.name === '#r');
      assert.equal(listed?.invited, true);
    });

    test('registration() and registrations() tell the registration points of exactly these nicks', async () => {
      await store.append(msg('mary', 'all', 'before'));
      const head = await store.head();
      assert.equal(await store.accounts.createUser('ann', 'h', TS), true);
      assert.equal(await store.accounts.registration('ann'), head);
      assert.equal(await store.accounts.registration('Ann'), undefined);
      assert.equal(await store.accounts.registration('ghost'), undefined);
      assert.deepEqual(
        await store.accounts.registrations(['ann', 'Ann', 'ghost']),
        new Map([['ann', head]]),
      );
      assert.deepEqual(await store.accounts.registrations([]), new Map());
    });

    test('memberships no account owns end through the log; rooms keep an owner or close', async () => {
      assert.equal(await store.accounts.createUser('ann', 'h', TS), true);
      const act = (over: Partial<NewMemberChange>) => store.appendMember(change(over));
      // mary (no account) owns #r; ann joins as herself; ghost (no account) moderates and
      // invites bob; late joins before the nick is registered.
      await act({ settings: { visibility: 'private', history: 'all' } });
      for (const user of ['ann', 'ghost', 'late']) {
        await act({ action: 'invite', user });
        await act({ action: 'join', user, by: user });
      }
      await act({ action: 'role', user: 'ghost', role: 'moderator' });
      await act({ action: 'invite', user: 'bob', by: 'ghost' });
      assert.equal(await store.accounts.createUser('late', 'h', TS), true);
      // ghost's room of nobody else.
      await act({ room: '#solo', user: 'ghost', by: 'ghost', settings: SETTINGS });

      const logged = await endStrayMemberships(store, TS, 100);
      assert.deepEqual(
        logged.map((c) => [c.room, c.action, c.user, c.by, c.role]),
        [
          ['#r', 'role', 'ann', 'mary', 'owner'],
          ['#r', 'remove', 'bob', 'ghost', null],
          ['#r', 'leave', 'ghost', 'ghost', null],
          ['#r', 'leave', 'late', 'late', null],
          ['#r', 'leave', 'mary', 'mary', null],
          ['#solo', 'leave', 'ghost', 'ghost', null],
        ],
      );
      assert.deepEqual(await store.members('#r'), [{ user: 'ann', role: 'owner' }]);
      assert.equal(await store.room('#solo'), undefined);
      assert.deepEqual(
        (await store.rooms('bob')).filter((r) => r.invited),
        [],
      );
      const snapshot = await store.memberships();
      assert.deepEqual(
        snapshot.members.map((m) => [m.room, m.user, m.role]),
        [['#r', 'ann', 'owner']],
      );
      assert.equal(snapshot.head, await store.head());
      // Idempotent: nothing is left to end.
      assert.deepEqual(await endStrayMemberships(store, TS, 100), []);
    });
  });
}

const SETTINGS = { visibility: 'public', history: 'joined' } as const;
