import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LoggedEvent, StoredMessage } from './events.js';
import { audience, sees } from './visibility.js';

const message = (from: string, to: string, id = 5): StoredMessage => ({
  from,
  to,
  text: 'hi',
  ts: 1,
  offline: false,
  id,
});
const asEvent = (m: StoredMessage): LoggedEvent => ({ kind: 'message', message: m });

test('a broadcast reaches everyone, a DM its two parties, a room message its members', () => {
  assert.deepEqual(audience(asEvent(message('ann', 'all'))), { kind: 'everyone' });
  assert.deepEqual(audience(asEvent(message('ann', 'bob'))), {
    kind: 'pair',
    from: 'ann',
    to: 'bob',
  });
  assert.deepEqual(audience(asEvent(message('ann', '#dev'))), {
    kind: 'room',
    room: '#dev',
    coveredFrom: Number.POSITIVE_INFINITY,
  });
});

test("a room's edit reaches only the members who were there for its target; a delete all", () => {
  const edit = { target: 3, from: 'ann', to: '#dev', text: 'x', ts: 2, id: 9 };
  assert.deepEqual(audience({ kind: 'edit', edit }), {
    kind: 'room',
    room: '#dev',
    coveredFrom: 3,
  });
  const del = { target: 3, from: 'ann', to: '#dev', ts: 2, id: 10 };
  assert.deepEqual(audience({ kind: 'delete', delete: del }), {
    kind: 'room',
    room: '#dev',
    coveredFrom: Number.POSITIVE_INFINITY,
  });
  const dm = { target: 3, from: 'ann', to: 'bob', text: 'x', ts: 2, id: 11 };
  assert.deepEqual(audience({ kind: 'edit', edit: dm }), { kind: 'pair', from: 'ann', to: 'bob' });
});

test('a receipt reaches both parties; a membership change the room and its user, or the user alone when quiet', () => {
  const receipt = { from: 'bob', to: 'ann', upTo: 4, ts: 2, id: 12 };
  assert.deepEqual(audience({ kind: 'read', receipt }), { kind: 'pair', from: 'bob', to: 'ann' });
  const change = {
    id: 13,
    room: '#dev',
    user: 'cat',
    by: 'ann',
    action: 'invite' as const,
    ts: 2,
    role: null,
    quiet: false,
  };
  assert.deepEqual(audience({ kind: 'member', change }), {
    kind: 'room',
    room: '#dev',
    coveredFrom: Number.POSITIVE_INFINITY,
    user: 'cat',
  });
  assert.deepEqual(audience({ kind: 'member', change: { ...change, quiet: true } }), {
    kind: 'user',
    user: 'cat',
    room: '#dev',
  });
});

test('sees: a broadcast, or a message to or by the viewer, and nothing else', () => {
  assert.equal(sees('cat', message('ann', 'all')), true);
  assert.equal(sees('bob', message('ann', 'bob')), true);
  assert.equal(sees('ann', message('ann', 'bob')), true);
  assert.equal(sees('cat', message('ann', 'bob')), false);
});

test('a reaction reaches whoever sees its target, like an edit', () => {
  const reaction = (to: string) => ({
    kind: 'react' as const,
    reaction: { target: 3, from: 'bob', to, emoji: '👍', on: true, ts: 2, id: 9 },
  });
  assert.deepEqual(audience(reaction('#dev')), { kind: 'room', room: '#dev', coveredFrom: 3 });
  assert.deepEqual(audience(reaction('all')), { kind: 'everyone' });
  assert.deepEqual(audience(reaction('ann')), { kind: 'pair', from: 'bob', to: 'ann' });
});
