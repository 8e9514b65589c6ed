import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ChatEvent, eventId, type LoggedEvent } from '../domain/events.js';
import { silentLogger } from '../logger.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { Sequencer } from './sequencer.js';

async function setup(pollMs = 0) {
  const store = new SqliteStore({ path: ':memory:', synchronous: 'normal', maxOfflinePerUser: 10 });
  const got: Array<number | string> = [];
  const seq = await Sequencer.start({
    store,
    logger: silentLogger,
    pollMs,
    deliver: (e: ChatEvent) => {
      got.push(e.kind === 'message' || e.kind === 'read' ? eventId(e) : e.kind);
    },
  });
  const append = async (text: string): Promise<LoggedEvent> => {
    const { message } = await store.append({ from: 'a', to: 'all', text, ts: 1, offline: false });
    return { kind: 'message', message };
  };
  return { store, got, seq, append };
}

test('events in order pass straight through; joins are never held', async () => {
  const { got, seq, append } = await setup();
  const [a, b, c] = [await append('a'), await append('b'), await append('c')];
  seq.accept(a);
  seq.accept(c);
  // A join is never held behind a missing message.
  seq.accept({ kind: 'joined', nick: 'x', origin: 'o', first: true });
  seq.accept(b);
  seq.accept(a);
  assert.deepEqual(got, [1, 'joined', 2, 3]);
  seq.close();
});

test('an event ahead of a missing one waits, and is delivered after it in order', async () => {
  const { got, seq, append } = await setup();
  const [a, b, c] = [await append('a'), await append('b'), await append('c')];
  seq.accept(c);
  seq.accept(b);
  assert.deepEqual(got, []);
  seq.accept(a);
  assert.deepEqual(got, [1, 2, 3]);
  seq.close();
});

test('a lost event is read from the Store', async () => {
  const { store, got, seq, append } = await setup();
  const a = await append('a');
  await append('lost on the bus');
  const c = await append('c');
  seq.accept(a);
  seq.accept(c);
  await sleep(150);
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(seq.position, await store.head());
  seq.close();
});

test('the poll delivers events whose Bus messages never came', async () => {
  const { got, seq, append } = await setup(50);
  await append('a');
  await append('b');
  await sleep(200);
  assert.deepEqual(got, [1, 2]);
  seq.close();
});

test('close stops delivery and timers', async () => {
  const { got, seq, append } = await setup(20);
  const a = await append('a');
  await append('b');
  seq.close();
  seq.accept(a);
  await sleep(80);
  assert.deepEqual(got, []);
});

test('an id that was never committed (a hole in the sequence) is skipped', async () => {
  const message = (id: number): LoggedEvent => ({
    kind: 'message',
    message: { id, from: 'a', to: 'all', text: `m${id}`, ts: 1, offline: false },
  });
  // A networked store leaves holes: an insert that conflicted or rolled back used an id.
  const stored = [message(1), message(3)];
  const store = {
    head: async () => 0,
    log: async (after: number) => stored.filter((e) => eventId(e) > after),
  };
  const got: number[] = [];
  const seq = await Sequencer.start({
    store,
    logger: silentLogger,
    pollMs: 0,
    deliver: (e) => {
      if (e.kind === 'message') got.push(e.message.id);
    },
  });
  seq.accept(message(1));
  seq.accept(message(3));
  await sleep(150);
  assert.deepEqual(got, [1, 3]);
  seq.accept(message(4));
  assert.deepEqual(got, [1, 3, 4]);
  seq.close();
});
