import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../logger.js';
import { MemoryPresence } from '../presence/memory-presence.js';
import type { RosterStore } from '../store/roster-store.js';
import { LastSeen, watchPresence } from './last-seen.js';

/** A RosterStore that keeps what `seen` was called with, failing while `down`. */
function recorder() {
  const calls: Array<{ nicks: string[]; at: number }> = [];
  const state = { down: false };
  const store: RosterStore = {
    async seen(nicks, at) {
      if (state.down) throw new Error('down');
      calls.push({ nicks: [...nicks], at });
    },
    async details() {
      return [];
    },
  };
  return { store, calls, state };
}

test('streams opening and closing are written in one batch per flush, and kept over a failure', async () => {
  const { store, calls, state } = recorder();
  let now = 1_000;
  const seen = new LastSeen(store, silentLogger, () => now, 3_600_000);
  const presence = watchPresence(new MemoryPresence(), seen);
  try {
    await presence.connect('ann');
    now = 2_000;
    await presence.connect('bob');
    await presence.disconnect('ann', 0);
    await seen.flush();
    assert.deepEqual(calls, [{ nicks: ['ann', 'bob'], at: 2_000 }]);
    await seen.flush();
    assert.equal(calls.length, 1, 'nothing new, nothing written');

    state.down = true;
    seen.mark('cat');
    await seen.flush();
    state.down = false;
    await seen.close();
    assert.deepEqual(calls.at(-1), { nicks: ['cat'], at: 2_000 });
    // Presence still works through the wrapper.
    assert.deepEqual(await presence.online(), ['bob']);
  } finally {
    await seen.close();
    await presence.close();
  }
});
