import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatError } from '../domain/errors.js';
import { isStoreUnavailable } from '../domain/store-unavailable.js';
import { WriteHealth } from './write-health.js';

/** An Error with a `code`, as better-sqlite3, pg and node give them. */
const coded = (code: string, message = 'boom'): Error =>
  Object.assign(new Error(message), { code });

test('store errors that mean "cannot write now" are told from bugs and refusals', () => {
  const unavailable = [
    'SQLITE_FULL',
    'SQLITE_IOERR',
    'SQLITE_IOERR_WRITE',
    'SQLITE_READONLY',
    'SQLITE_READONLY_DBMOVED',
    'SQLITE_CANTOPEN',
    'SQLITE_BUSY',
    '53100',
    '53300',
    '25006',
    '08006',
    '57P01',
    '57P03',
    '58030',
    'ECONNREFUSED',
    'ECONNRESET',
  ];
  for (const code of unavailable) assert.equal(isStoreUnavailable(coded(code)), true, code);
  const others = ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', 'SQLITE_CORRUPT', '23505', '42P01'];
  for (const code of others) assert.equal(isStoreUnavailable(coded(code)), false, code);
  assert.equal(isStoreUnavailable(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isStoreUnavailable(new Error('timeout exceeded when trying to connect')), true);
  assert.equal(isStoreUnavailable(new TypeError('x is undefined')), false);
  assert.equal(isStoreUnavailable(new ChatError('CHAT_MAILBOX_FULL')), false);
  assert.equal(isStoreUnavailable({ code: 'SQLITE_FULL' }), false);
});

test('WriteHealth: failing after an unavailable write, probed until a probe or a write succeeds', async () => {
  const health = new WriteHealth();
  let probes = 0;
  const probe = () => {
    probes++;
  };
  await health.check(probe);
  assert.equal(probes, 0, 'a healthy store is not probed');
  health.failed(new ChatError('CHAT_MAILBOX_FULL'));
  health.failed(coded('SQLITE_CONSTRAINT'));
  assert.equal(health.failure, undefined);

  health.failed(coded('SQLITE_FULL', 'database or disk is full'));
  await assert.rejects(
    health.check(() => {
      throw coded('SQLITE_FULL', 'database or disk is full');
    }),
    /^Error: the store cannot write: database or disk is full \(SQLITE_FULL\)$/,
  );
  assert.ok(health.failure);
  await health.check(probe);
  assert.equal(probes, 1);
  assert.equal(health.failure, undefined);

  health.failed(coded('53100'));
  assert.ok(health.failure);
  health.succeeded();
  assert.equal(health.failure, undefined);
});

test('the listener hears each change of state once, not each write', async () => {
  const heard: Array<string | undefined> = [];
  const health = new WriteHealth((failure) => heard.push((failure as { code?: string })?.code));
  const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  health.succeeded();
  for (let i = 0; i < 5; i++) health.failed(full);
  health.failed(new Error('a bug, not the disk'));
  await assert.rejects(health.check(() => Promise.reject(full)));
  await health.check(() => undefined);
  health.succeeded();
  assert.deepEqual(heard, ['SQLITE_FULL', undefined]);
});
