import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { BusEvent } from '../domain/events.js';
import type { Bus } from './bus.js';

/**
 * How a backend's test file hands the suite buses: `connect()` returns a bus on the same
 * channel as every other bus it returned (for memory: the same instance, as one process).
 */
export interface BusFactory {
  connect(): Promise<Bus> | Bus;
}

/** Collects what a handler receives and lets a test wait for a count. */
function recorder(bus: Bus): { events: BusEvent[]; waitFor(n: number): Promise<void> } {
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  return {
    events,
    async waitFor(n) {
      const deadline = Date.now() + 2000;
      while (events.length < n) {
        if (Date.now() > deadline) throw new Error(`got ${events.length} of ${n} events`);
        await new Promise((ok) => setTimeout(ok, 5));
      }
    },
  };
}

const message = (id: number, text: string): BusEvent => ({
  kind: 'message',
  message: { id, from: 'mary', to: 'all', text, ts: 1_700_000_000_000 + id, offline: false },
});

/** The Bus contract (bus.ts), run by every backend's *-bus.test.ts. */
export function busContract(name: string, factory: () => BusFactory): void {
  describe(`Bus contract: ${name}`, () => {
    let buses: Bus[] = [];
    let f: BusFactory;
    const connect = async (): Promise<Bus> => {
      const bus = await f.connect();
      buses.push(bus);
      return bus;
    };
    beforeEach(() => {
      f = factory();
      buses = [];
    });
    afterEach(async () => {
      for (const bus of buses) await bus.close();
    });

    test('the publishing side receives its own events, content intact', async () => {
      const bus = await connect();
      const rec = recorder(bus);
      const events: BusEvent[] = [
        message(1, 'héllo\nwörld ✓'),
        { kind: 'joined', nick: 'jöhn', origin: 'p.1', first: true },
        { kind: 'read', receipt: { id: 2, from: 'mary', to: 'jöhn', upTo: 1, ts: 5 } },
        { kind: 'left', nick: 'jöhn' },
      ];
      for (const e of events) await bus.publish(e);
      await rec.waitFor(events.length);
      assert.deepEqual(rec.events, events);
    });

    test('every subscriber gets every event exactly once, in publish order', async () => {
      const a = await connect();
      const b = await connect();
      const recA = recorder(a);
      const recB = recorder(b);
      const recB2 = recorder(b);
      for (let i = 1; i <= 50; i++) await (i % 2 ? a : b).publish(message(i, `m${i}`));
      for (const rec of [recA, recB, recB2]) {
        await rec.waitFor(50);
        assert.deepEqual(
          rec.events.map((e) => (e.kind === 'message' ? e.message.id : 0)),
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
      }
      // Nothing extra arrives later.
      await new Promise((ok) => setTimeout(ok, 30));
      assert.equal(recA.events.length, 50);
    });

    test('ping resolves on an open bus, delivers nothing, and rejects after close', async () => {
      const bus = await connect();
      const rec = recorder(bus);
      await bus.ping();
      await bus.publish(message(1, 'marker'));
      await rec.waitFor(1);
      assert.equal(rec.events.length, 1);
      await bus.close();
      buses = buses.filter((b) => b !== bus);
      await assert.rejects(bus.ping());
    });

    test('after close, a bus delivers nothing more and refuses to publish', async () => {
      const a = await connect();
      const rec = recorder(a);
      await a.publish(message(1, 'before'));
      await rec.waitFor(1);
      await a.close();
      buses = buses.filter((b) => b !== a);
      await assert.rejects(a.publish(message(2, 'after close')));
      const other = await connect();
      if (other !== a) await other.publish(message(3, 'from another process'));
      await new Promise((ok) => setTimeout(ok, 30));
      assert.equal(rec.events.length, 1);
    });
  });
}
