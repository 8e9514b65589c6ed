import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LogFields, silentLogger } from '../logger.js';
import { StoreOutageLog } from './store-outage-log.js';

/** A logger keeping [msg, fields] of its warn lines, and a clock the test moves. */
function setup() {
  const lines: Array<[string, LogFields | undefined]> = [];
  const logger = {
    ...silentLogger,
    warn: (msg: string, f?: LogFields) => void lines.push([msg, f]),
  };
  let now = 0;
  const log = new StoreOutageLog(logger, 10_000, () => now);
  const advance = (ms: number): void => {
    now += ms;
  };
  return { lines, log, advance };
}

const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

test('a full disk: one line when writes fail, one per 10 s with the count, one when they work', () => {
  const { lines, log, advance } = setup();
  log.changed(full);
  for (let i = 0; i < 1_000; i++) {
    log.refused(full);
    advance(5); // 1,000 refusals in 5 s
  }
  assert.deepEqual(lines, [
    ['store cannot write', { code: 'SQLITE_FULL', reason: 'database or disk is full', refused: 0 }],
  ]);
  advance(5_000);
  log.refused(full); // 10 s after the first line
  log.refused(full);
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[1], [
    'requests refused: the store is unavailable',
    { code: 'SQLITE_FULL', reason: 'database or disk is full', refused: 1_001 },
  ]);
  advance(3_000);
  log.changed(undefined);
  assert.deepEqual(lines[2], ['store writes again', { refused: 1, seconds: 13 }]);
  assert.equal(lines.length, 3);
  assert.doesNotMatch(JSON.stringify(lines), /stack|\bat /);
});

test('refusals the engine did not count as failed writes are logged at most once per 10 s too', () => {
  const { lines, log, advance } = setup();
  const lost = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
    code: 'ECONNREFUSED',
  });
  for (let i = 0; i < 100; i++) {
    log.refused(lost);
    advance(200); // 100 refusals in 20 s: lines at 0 s and 10 s (and the next at 20 s)
  }
  assert.deepEqual(
    lines.map(([, f]) => f?.refused),
    [1, 50],
  );
  assert.equal(lines[0]?.[1]?.code, 'ECONNREFUSED');
});
