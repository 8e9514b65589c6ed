// The TickFlush's windows (tick-flush.ts), through SseStreams on a transport that records its
// writes: what a stream is sent in one window arrives in one write, in order; a broadcast is
// the same Buffer on every stream; a stream left out of one frame, or sent one of its own in
// the middle, still gets exactly its frames; after a busy flush the next window spans ticks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { waitUntil } from '../../../test/wait-until.js';
import type { Format } from '../../core/subscriber.js';
import { SseStream, StreamIds } from './stream.js';
import { BUSY_FLUSH_MS, TickFlush } from './tick-flush.js';
import type { StreamTransport } from './transport.js';

const format: Format = { render: () => null };

/** A transport that keeps every write; `busyMs` makes each write take that long. */
class Recorder implements StreamTransport {
  readonly writes: Array<string | Buffer> = [];
  isEnded = false;
  constructor(private readonly busyMs = 0) {}
  write(chunk: string | Buffer): boolean {
    const until = performance.now() + this.busyMs;
    while (performance.now() < until) {}
    this.writes.push(chunk);
    return true;
  }
  get queuedBytes(): number {
    return 0;
  }
  sharedBytes(): number {
    return 0;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  end(): void {
    this.isEnded = true;
  }
  destroy(): void {
    this.isEnded = true;
  }
  onClose(): void {}
  /** Everything written after the greeting, as text. */
  get body(): string {
    return this.writes
      .slice(1)
      .map((w) => w.toString())
      .join('');
  }
}

function streams(n: number, busyMs = 0) {
  const flush = new TickFlush();
  const options = {
    maxQueueBytes: 1 << 30,
    onClose: () => {},
    onOverflow: () => {},
    flush,
    ids: new StreamIds(),
  };
  return Array.from({ length: n }, (_, i) => {
    const transport = new Recorder(busyMs);
    const stream = new SseStream(transport, `n${i}`, format, options);
    stream.open('');
    return { stream, transport };
  });
}

const join = (i: number): string => `data: n${i} has joined.\n\n`;

test('frames sent in one tick reach each stream in one write, in order, one Buffer for all', async () => {
  const subs = streams(50);
  for (let j = 0; j < 20; j++) for (const s of subs) s.stream.send(join(j));
  await tick();
  const expected = Array.from({ length: 20 }, (_, j) => join(j)).join('');
  const first = subs[0]?.transport.writes[1];
  for (const s of subs) {
    assert.equal(s.transport.writes.length, 2, 'the greeting, then one write');
    assert.equal(s.transport.body, expected);
    assert.equal(s.transport.writes[1], first, 'the very same Buffer');
  }
});

test('a stream left out of a frame, or sent one of its own between two, gets exactly its own', async () => {
  const subs = streams(4);
  const [a, b, c, d] = subs.map((s) => s.stream) as [SseStream, SseStream, SseStream, SseStream];
  // As the Hub does: each broadcast to every stream but the one whose login it announces.
  for (let j = 0; j < 4; j++)
    for (const [i, s] of subs.entries()) if (i !== j) s.stream.send(join(j));
  b.send('data: to b\n\n');
  for (const s of [a, b, c, d]) s.send(join(9));
  c.send('data: to c\n\n');
  a.send(join(10));
  c.send(join(10));
  await tick();
  const bodies = subs.map((s) => s.transport.body);
  assert.equal(bodies[0], join(1) + join(2) + join(3) + join(9) + join(10));
  assert.equal(bodies[1], `${join(0)}${join(2)}${join(3)}data: to b\n\n${join(9)}`);
  assert.equal(bodies[2], `${join(0)}${join(1)}${join(3)}${join(9)}data: to c\n\n${join(10)}`);
  assert.equal(bodies[3], join(0) + join(1) + join(2) + join(9));
  for (const s of subs) assert.equal(s.transport.writes.length, 2);
});

test('the same text twice in a row is sent twice, to whoever was sent it twice', async () => {
  const subs = streams(2);
  const [a, b] = subs.map((s) => s.stream) as [SseStream, SseStream];
  a.send(join(1));
  b.send(join(1));
  a.send(join(1));
  await tick();
  assert.equal(subs[0]?.transport.body, join(1) + join(1));
  assert.equal(subs[1]?.transport.body, join(1));
});

test('a stream closed mid-window writes what it was sent, then its farewell', async () => {
  const subs = streams(2);
  const [a, b] = subs.map((s) => s.stream) as [SseStream, SseStream];
  a.send(join(1));
  b.send(join(1));
  a.close(1000);
  b.send(join(2));
  await tick();
  assert.equal(subs[0]?.transport.body, `${join(1)}retry: 1000\n\n`);
  assert.equal(subs[1]?.transport.body, join(1) + join(2));
});

test('after a flush that took longer than BUSY_FLUSH_MS, frames of several ticks go in one write', async () => {
  // Each write takes 2 × BUSY_FLUSH_MS: a flush of two streams is busy, and the next waits
  // at least 4 × BUSY_FLUSH_MS, far longer than three ticks.
  const subs = streams(2, 2 * BUSY_FLUSH_MS);
  for (const s of subs) s.stream.send(join(0));
  await tick();
  for (const s of subs) assert.equal(s.transport.writes.length, 2);
  // The next flush waits about as long as that one took; these ticks all fall in it.
  for (let j = 1; j <= 3; j++) {
    for (const s of subs) s.stream.send(join(j));
    await tick();
  }
  for (const s of subs) assert.equal(s.transport.writes.length, 2, 'not yet');
  await waitUntil('the delayed flush', () => subs.every((s) => s.transport.writes.length > 2));
  for (const s of subs) {
    assert.equal(s.transport.writes.length, 3);
    assert.equal(s.transport.body, join(0) + join(1) + join(2) + join(3));
  }
  // Once flushes are cheap again, a tick is the window again.
  const cheap = streams(1);
  cheap[0]?.stream.send(join(4));
  await tick();
  assert.equal(cheap[0]?.transport.writes.length, 2);
});

test("a small part of a large window is copied, not a slice pinning the window's Buffer", async () => {
  const subs = streams(2);
  const [a, b] = subs.map((s) => s.stream) as [SseStream, SseStream];
  // a is sent 200 KB of its own, b one short frame: b's bytes must not hold a's 200 KB.
  // Distinct frames (the same text twice in a row is one entry of the window's log).
  for (let i = 0; i < 200; i++)
    a.send(`data: ${String(i).padStart(3, '0')} ${'x'.repeat(996)}\n\n`);
  b.send(join(1));
  await tick();
  const small = subs[1]?.transport.writes[1] as Buffer;
  assert.equal(small.toString(), join(1));
  const large = subs[0]?.transport.writes[1] as Buffer;
  assert.equal(large.length, 200 * 1008);
  // A slice would share the window's memory with a's run. (Not a size check: a small copy
  // comes from node's Buffer pool, whose size differs between node versions.)
  assert.notEqual(small.buffer, large.buffer, "not a slice of the window's Buffer");
});
