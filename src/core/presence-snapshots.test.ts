import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatEvent } from '../domain/events.js';
import type { Presence } from '../presence/presence.js';
import { PresenceSnapshots } from './presence-snapshots.js';

/** A Presence whose online() answers with `list` after `delayMs`, counting reads. */
function slowPresence(list: string[], delayMs: number) {
  const state = { list, reads: 0, fail: 0 };
  const presence = {
    async online() {
      state.reads++;
      await sleep(delayMs);
      if (state.fail > 0) {
        state.fail--;
        throw new Error('redis is away');
      }
      return [...state.list];
    },
  } as unknown as Presence;
  return { presence, state };
}

test('a burst of requests is one snapshot, at most one per interval', async () => {
  const { presence, state } = slowPresence(['ann'], 5);
  const got: ChatEvent[] = [];
  const snapshots = new PresenceSnapshots({ presence, deliver: (e) => got.push(e), everyMs: 100 });
  for (let i = 0; i < 10; i++) snapshots.request();
  await sleep(50);
  assert.deepEqual(got, [{ kind: 'presence', online: ['ann'] }]);
  state.list = ['ann', 'bob'];
  snapshots.request();
  snapshots.request();
  await sleep(30);
  assert.equal(got.length, 1, 'a second snapshot within the interval');
  await sleep(120);
  assert.equal(state.reads, 2);
  assert.deepEqual(got.at(-1), { kind: 'presence', online: ['ann', 'bob'] });
  snapshots.close();
});

test('joins and leaves delivered during the read are applied to it; a request during it reads again', async () => {
  const { presence, state } = slowPresence(['ann', 'cy'], 40);
  const got: ChatEvent[] = [];
  const snapshots = new PresenceSnapshots({ presence, deliver: (e) => got.push(e), everyMs: 10 });
  snapshots.request();
  await sleep(10);
  snapshots.seen({ kind: 'joined', nick: 'bob', origin: 'x', first: true });
  snapshots.seen({ kind: 'joined', nick: 'ann', origin: 'y', first: false });
  snapshots.seen({ kind: 'left', nick: 'cy' });
  snapshots.request();
  await sleep(50);
  assert.deepEqual(got, [{ kind: 'presence', online: ['ann', 'bob'] }]);
  await sleep(80);
  assert.equal(state.reads, 2);
  assert.equal(got.length, 2);
  snapshots.close();
});

test('a failed read is retried; close cancels', async () => {
  const { presence, state } = slowPresence(['ann'], 1);
  state.fail = 1;
  const got: ChatEvent[] = [];
  const snapshots = new PresenceSnapshots({ presence, deliver: (e) => got.push(e), everyMs: 10 });
  snapshots.request();
  await sleep(1_200);
  assert.deepEqual(got, [{ kind: 'presence', online: ['ann'] }]);
  snapshots.close();
  snapshots.request();
  await sleep(50);
  assert.equal(got.length, 1);
});
