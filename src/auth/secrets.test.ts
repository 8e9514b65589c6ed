import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { hashSecret, newId, newSecret } from './secrets.js';

test('newSecret: 32 random bytes as base64url, different every time', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const secret = newSecret();
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(secret, 'base64url').length, 32);
    seen.add(secret);
  }
  assert.equal(seen.size, 1000);
});

test('newId: 9 random bytes as 12 base64url characters, different every time', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = newId();
    assert.match(id, /^[A-Za-z0-9_-]{12}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 1000);
});

test('hashSecret: deterministic SHA-256 hex, distinct per secret', () => {
  const secret = newSecret();
  assert.equal(hashSecret(secret), hashSecret(secret));
  assert.match(hashSecret(secret), /^[0-9a-f]{64}$/);
  assert.notEqual(hashSecret(secret), hashSecret(newSecret()));
  assert.equal(hashSecret(''), createHash('sha256').digest('hex'));
  assert.equal(
    hashSecret('abc'),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});
