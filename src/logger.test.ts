import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, type LogLevel } from './logger.js';

/** A logger at `level` whose lines land in the returned array, parsed. */
function capture(level: LogLevel) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, { write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

test('one JSON line per call: level label, ISO time, constant msg, fields', () => {
  const { logger, lines } = capture('info');
  logger.info('listening', { url: 'http://127.0.0.1:8000' });
  logger.warn('no fields');
  assert.equal(lines.length, 2);
  const [first, second] = lines;
  assert.equal(first?.level, 'info');
  assert.equal(first?.msg, 'listening');
  assert.equal(first?.url, 'http://127.0.0.1:8000');
  assert.match(String(first?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(Object.keys(second ?? {}).sort(), ['level', 'msg', 'time']);
});

test('levels below the configured one are dropped; silent writes nothing', () => {
  const { logger, lines } = capture('warn');
  logger.debug('d');
  logger.info('i');
  logger.warn('w');
  logger.error('e');
  assert.deepEqual(
    lines.map((l) => l.level),
    ['warn', 'error'],
  );
  assert.equal(logger.isLevelEnabled('info'), false);
  assert.equal(logger.isLevelEnabled('error'), true);
  const silent = capture('silent');
  silent.logger.error('e');
  assert.equal(silent.lines.length, 0);
  assert.equal(silent.logger.isLevelEnabled('error'), false);
  const debug = capture('debug');
  debug.logger.debug('d', { n: 1 });
  assert.equal(debug.lines[0]?.level, 'debug');
});

test('errors keep name, message, stack (and a system error code)', () => {
  const { logger, lines } = capture('debug');
  const err = Object.assign(new TypeError('boom'), { code: 'EBOOM' });
  logger.error('request failed', { err, reqId: 'r1' });
  logger.warn('webhook failed', { error: new RangeError('far') });
  const logged = lines[0]?.err as Record<string, unknown>;
  assert.equal(logged.name, 'TypeError');
  assert.equal(logged.message, 'boom');
  assert.equal(logged.code, 'EBOOM');
  assert.match(String(logged.stack), /TypeError: boom\n\s+at /);
  assert.equal(lines[0]?.reqId, 'r1');
  assert.equal((lines[1]?.error as { name?: string } | undefined)?.name, 'RangeError');
});
