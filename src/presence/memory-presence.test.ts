import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryPresence } from './memory-presence.js';
import { presenceContract } from './presence.contract.js';

presenceContract('memory', () => new MemoryPresence());

test('connections share one online list until someone comes or goes', async () => {
  const p = new MemoryPresence();
  const a = await p.connect('ann');
  const b = await p.connect('bob');
  const c = await p.connect('bob');
  const d = await p.connect('ann');
  assert.deepEqual(a.online, []);
  assert.deepEqual(b.online, ['ann']);
  assert.deepEqual(c.online, ['ann', 'bob']);
  assert.equal(d.online, c.online, 'a second tab changed nobody: the same list');
  assert.ok(Object.isFrozen(c.online));
  await p.disconnect('bob', 0);
  await p.disconnect('bob', 0);
  assert.deepEqual((await p.connect('cy')).online, ['ann']);
  await p.close();
});
