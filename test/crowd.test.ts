import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../src/main.js';
import { NO_LIMITS, SseClient, session, startTestServer } from './helpers.js';

// Past --big-room-members users online, a JSON stream gets the number online (at most once a
// second) instead of a join or leave per user, and hello lists that many users: presence
// must not cost the square of the users (a reconnect storm of thousands of users). Classic
// streams keep the seed's every-login lines.
let server: RunningServer;
const streams: SseClient[] = [];
before(async () => {
  server = await startTestServer({ ...NO_LIMITS, bigRoomMembers: 2, presenceGraceMs: 0 });
});
after(async () => {
  for (const s of streams) s.close();
  await server.close();
});

async function open(nick: string): Promise<SseClient> {
  const s = await SseClient.open(server.url, '/api/v1/events', await session(server.url, nick));
  streams.push(s);
  await s.waitFor((c) => c.of('hello').length === 1);
  return s;
}

test('in a crowd, presence is a count and hello lists the first users', async () => {
  const watcher = await open('w');
  const classic = await SseClient.open(server.url, '/oldie');
  streams.push(classic);
  await classic.waitFor((c) => c.lines.length >= 2);
  // w, oldie: two online. u1 makes three, more than 2: from here on, counts.
  const u1 = await open('u1');
  const u2 = await open('u2');
  await watcher.waitFor((c) => c.of('online').some((o) => o.count === 4), 4_000);
  assert.deepEqual(
    watcher.of('join').map((j) => j.user),
    ['oldie'],
    'the joins of u1 and u2 were counted, not listed',
  );
  const u3 = await open('u3');
  const hello = u3.of('hello')[0];
  // As the list, the count is of the users online before this stream.
  assert.deepEqual(hello.online, ['w', 'oldie']);
  assert.equal(hello.onlineCount, 4);
  await classic.waitForLine('u3 has joined.');
  await watcher.waitFor((c) => c.of('online').at(-1)?.count === 5, 4_000);
  const seen = watcher.of('online').length;
  u1.close();
  await watcher.waitFor(
    (c) => c.of('online').length > seen && c.of('online').at(-1)?.count === 4,
    4_000,
  );
  assert.deepEqual(watcher.of('leave'), []);
  await classic.waitForLine('u1 has left.');
  // Back to the bound (2): the last count says the crowd ended, and joins are listed again.
  for (const s of [u2, u3, classic]) s.close();
  await watcher.waitFor((c) => c.of('online').some((o) => o.crowd === false), 4_000);
  const end = watcher.of('online').find((o) => o.crowd === false);
  assert.equal(end.count, 2);
  await open('v');
  await watcher.waitFor((c) => c.of('join').some((j) => j.user === 'v'), 4_000);
  const after = watcher.events.slice(
    watcher.events.findIndex((e) => e.data.includes('"crowd":false')),
  );
  assert.ok(!after.slice(1).some((e) => e.type === 'online'), 'no count after the crowd ended');
});
