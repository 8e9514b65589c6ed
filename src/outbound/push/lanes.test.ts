import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EndpointHealth } from './health.js';
import { FairLanes } from './lanes.js';

/** Takes everything that can start now, as `key:item`. */
function drain(lanes: FairLanes<string>, perKey = 100, fits = (_: string) => true): string[] {
  const out: string[] = [];
  for (let next = lanes.take(perKey, fits); next; next = lanes.take(perKey, fits)) {
    out.push(`${next.key}:${next.item}`);
  }
  return out;
}

describe('FairLanes', () => {
  test('users take turns, each in their own order', () => {
    const lanes = new FairLanes<string>();
    for (const item of ['1', '2', '3', '4']) {
      lanes.hold('mallory', 10);
      lanes.enqueue('mallory', item);
    }
    for (const item of ['1', '2']) {
      lanes.hold('ann', 10);
      lanes.enqueue('ann', item);
    }
    assert.deepEqual(drain(lanes), [
      'mallory:1',
      'ann:1',
      'mallory:2',
      'ann:2',
      'mallory:3',
      'mallory:4',
    ]);
    assert.equal(lanes.size, 6);
  });

  test('a user holds at most `cap` pushes, running or waiting; a drop is reported once', () => {
    const lanes = new FairLanes<string>();
    const held = Array.from({ length: 5 }, () => lanes.hold('mallory', 3));
    assert.deepEqual(held, ['held', 'held', 'held', 'full', 'still full']);
    assert.equal(lanes.hold('ann', 3), 'held');
    for (const item of ['1', '2', '3']) lanes.enqueue('mallory', item);
    assert.deepEqual(drain(lanes, 2), ['mallory:1', 'mallory:2']);
    // Running counts too: nothing more until one is done with (the same spell of drops).
    assert.equal(lanes.hold('mallory', 3), 'still full');
    lanes.ended('mallory', false);
    assert.equal(lanes.hold('mallory', 3), 'held');
    assert.equal(lanes.size, 4);
  });

  test('a retry goes to the back of its lane; a push that does not fit keeps its place', () => {
    const lanes = new FairLanes<string>();
    for (const item of ['a', 'b', 'c']) {
      lanes.hold('ann', 10);
      lanes.enqueue('ann', item);
    }
    assert.deepEqual(drain(lanes, 1), ['ann:a']);
    lanes.ended('ann', true);
    lanes.enqueue('ann', 'a');
    assert.deepEqual(
      drain(lanes, 1, (item) => item !== 'b'),
      ['ann:c'],
    );
    lanes.ended('ann', false);
    assert.deepEqual(drain(lanes, 3), ['ann:b', 'ann:a']);
    lanes.ended('ann', false);
    lanes.ended('ann', false);
    assert.equal(lanes.size, 0);
  });

  test('clear abandons what waits, not what runs', () => {
    const lanes = new FairLanes<string>();
    for (const item of ['a', 'b', 'c']) {
      lanes.hold('ann', 10);
      lanes.enqueue('ann', item);
    }
    drain(lanes, 1);
    assert.equal(lanes.clear(), 2);
    assert.equal(lanes.size, 1);
    lanes.ended('ann', false);
    assert.equal(lanes.size, 0);
  });
});

describe('EndpointHealth', () => {
  test('dead after so many failed pushes in a row, the first long enough before the last', () => {
    let now = 0;
    const health = new EndpointHealth(
      { deadAfterFailures: 3, deadAfterMs: 1_000, maxTracked: 10 },
      () => now,
    );
    assert.equal(health.failed('e'), false);
    now = 500;
    assert.equal(health.failed('e'), false);
    assert.equal(health.failed('e'), false); // three, but within 500 ms
    now = 1_000;
    assert.equal(health.failed('e'), true);
    // An answer ends the streak; the next one starts from its own first failure.
    now = 2_000;
    health.failed('f');
    health.failed('f');
    health.answered('f');
    now = 5_000;
    assert.equal(health.failed('f'), false);
    assert.equal(health.failed('f'), false);
    assert.equal(health.failed('f'), false);
    now = 6_000;
    assert.equal(health.failed('f'), true);
  });

  test('slow until an attempt is answered in time; bounded', () => {
    const health = new EndpointHealth({ deadAfterFailures: 5, deadAfterMs: 0, maxTracked: 2 });
    health.attempted('a', true);
    assert.equal(health.isSlow('a'), true);
    health.attempted('a', false);
    assert.equal(health.isSlow('a'), false);
    health.attempted('a', true);
    health.attempted('b', true);
    health.attempted('c', true);
    // The longest remembered is forgotten first.
    assert.deepEqual(
      ['a', 'b', 'c'].map((e) => health.isSlow(e)),
      [false, true, true],
    );
  });
});
