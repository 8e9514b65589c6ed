import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { ChatError } from '../domain/errors.js';
import {
  checkNewPassword,
  hashPassword,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  verifyPassword,
} from './passwords.js';

const FORMAT = /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/;

test('hash then verify: the right password matches, a wrong one does not', async () => {
  const encoded = await hashPassword('correct horse battery');
  assert.match(encoded, FORMAT);
  assert.equal(await verifyPassword('correct horse battery', encoded), true);
  assert.equal(await verifyPassword('correct horse batterY', encoded), false);
  assert.equal(await verifyPassword('', encoded), false);
});

test('the same password gets a different salt, hence a different hash, each time', async () => {
  const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
  assert.notEqual(a.split('$')[4], b.split('$')[4]);
  assert.notEqual(a.split('$')[5], b.split('$')[5]);
  assert.equal(await verifyPassword('same password', a), true);
  assert.equal(await verifyPassword('same password', b), true);
});

test('verifies with the parameters stored in the hash, not the current ones', async () => {
  const salt = crypto.randomBytes(16);
  const hash = crypto.scryptSync('old password', salt, 32, { N: 1024, r: 4, p: 2 });
  const encoded = `scrypt$1024$4$2$${salt.toString('base64url')}$${hash.toString('base64url')}`;
  assert.equal(await verifyPassword('old password', encoded), true);
  assert.equal(await verifyPassword('old passwore', encoded), false);
});

test('composed and decomposed forms of the same text match (NFKC)', async () => {
  const encoded = await hashPassword('caf\u00e9 au lait');
  assert.equal(await verifyPassword('cafe\u0301 au lait', encoded), true);
});

test('hashPassword refuses what checkNewPassword refuses', async () => {
  await assert.rejects(hashPassword('short'), { code: 'AUTH_PASSWORD_WEAK' });
});

// The tests below spy on crypto.scrypt (still running the real one) to count runs and read their
// cost deterministically, rather than timing them on a noisy machine.
function costOf(call: { arguments: unknown[] }) {
  const [, , keyLen, options] = call.arguments as [unknown, unknown, number, crypto.ScryptOptions];
  return { keyLen, N: options.N, r: options.r, p: options.p };
}

test('an unknown user costs exactly one scrypt, at the cost of a real verify', async (t) => {
  const encoded = await hashPassword('a real password');
  const scrypt = t.mock.method(crypto, 'scrypt');
  assert.equal(await verifyPassword('a real password', encoded), true);
  assert.equal(await verifyPassword('a guessed password', undefined), false);
  assert.equal(scrypt.mock.callCount(), 2);
  const [real, dummy] = scrypt.mock.calls;
  assert.ok(real && dummy);
  assert.deepEqual(costOf(dummy), costOf(real));
  assert.deepEqual(costOf(real), { keyLen: 32, N: 16384, r: 8, p: 1 });
});

test('malformed hashes are false, after the same one scrypt', async (t) => {
  const good = await hashPassword('a real password');
  const [, N, r, p, salt, hash] = good.split('$');
  const bad = [
    '',
    'scrypt',
    'not a hash at all',
    `bcrypt$${N}$${r}$${p}$${salt}$${hash}`,
    `scrypt$${N}$${r}$${p}$${salt}`,
    `scrypt$${N}$${r}$${p}$${salt}$${hash}$extra`,
    `scrypt$16383$${r}$${p}$${salt}$${hash}`, // N not a power of two
    `scrypt$1$${r}$${p}$${salt}$${hash}`,
    `scrypt$0${N}$${r}$${p}$${salt}$${hash}`, // non-canonical number
    `scrypt$${N}$0$${p}$${salt}$${hash}`,
    `scrypt$${N}$${r}$-1$${salt}$${hash}`,
    `scrypt$${N}$${r}$1e2$${salt}$${hash}`,
    `scrypt$1048576$8$1$${salt}$${hash}`, // 1 GiB: refused before scrypt, not attempted
    `scrypt$${N}$${r}$17$${salt}$${hash}`, // 17 times the current cost: too slow
    `scrypt$4294967296$${r}$${p}$${salt}$${hash}`, // 2^32: beyond 32-bit bitwise arithmetic
    `scrypt$${N}$${r}$${p}$$${hash}`,
    `scrypt$${N}$${r}$${p}$${salt}$`,
    `scrypt$${N}$${r}$${p}$${salt}$${hash}=`, // padding is not base64url
    `scrypt$${N}$${r}$${p}$${salt}$${hash?.replace(/.$/, '+')}`,
    `scrypt$${N}$${r}$${p}$${salt}$${hash?.slice(0, -1)}B`, // non-canonical trailing bits
    `scrypt$${N}$${r}$${p}$${salt}$${'A'.repeat(600)}`,
  ];
  const scrypt = t.mock.method(crypto, 'scrypt');
  for (const encoded of bad) {
    assert.equal(await verifyPassword('a real password', encoded), false, encoded);
  }
  assert.equal(scrypt.mock.callCount(), bad.length);
  for (const call of scrypt.mock.calls) {
    assert.deepEqual(costOf(call), { keyLen: 32, N: 16384, r: 8, p: 1 });
  }
});

test('an over-long password is false without hashing it, after one dummy scrypt', async (t) => {
  const ok = 'x'.repeat(PASSWORD_MAX_LENGTH);
  const encoded = await hashPassword(ok);
  const scrypt = t.mock.method(crypto, 'scrypt');
  assert.equal(await verifyPassword(ok, encoded), true);
  assert.equal(await verifyPassword(`${ok}x`, encoded), false);
  assert.equal(await verifyPassword('x'.repeat(10_000_000), encoded), false);
  assert.equal(scrypt.mock.callCount(), 3);
  for (const call of scrypt.mock.calls.slice(1)) {
    assert.ok(String(call.arguments[0]).length < 100, 'the long input never reached scrypt');
  }
});

function weak(password: unknown, reason: RegExp) {
  assert.throws(
    () => checkNewPassword(password),
    (err) =>
      err instanceof ChatError && err.code === 'AUTH_PASSWORD_WEAK' && reason.test(err.message),
  );
}

test('checkNewPassword: 8 to 256 code points of well-formed text', () => {
  assert.equal(PASSWORD_MIN_LENGTH, 8);
  assert.equal(PASSWORD_MAX_LENGTH, 256);
  weak('1234567', /at least 8/);
  assert.equal(checkNewPassword('12345678'), '12345678');
  assert.equal(checkNewPassword('x'.repeat(256)), 'x'.repeat(256));
  weak('x'.repeat(257), /at most 256/);
  weak('x'.repeat(1_000_000), /at most 256/);
  // Astral characters are one code point but two UTF-16 units.
  weak('😀'.repeat(7), /at least 8/); // 14 units, 7 code points
  assert.equal(checkNewPassword('😀'.repeat(8)), '😀'.repeat(8));
  assert.equal(checkNewPassword('😀'.repeat(256)), '😀'.repeat(256)); // 512 units
  weak(`${'😀'.repeat(256)}x`, /at most 256/); // 257 code points, 513 units
  weak(`${'😀'.repeat(100)}${'x'.repeat(157)}`, /at most 256/); // 257 code points, 357 units
  assert.ok(checkNewPassword(`${'😀'.repeat(100)}${'x'.repeat(156)}`));
  weak('1234567\ud800', /valid Unicode/);
  weak(undefined, /string/);
  weak(12345678, /string/);
  weak(['12345678'], /string/);
});

test('verifyPassword counts code points like checkNewPassword', async () => {
  const max = '😀'.repeat(PASSWORD_MAX_LENGTH);
  const encoded = await hashPassword(max);
  assert.equal(await verifyPassword(max, encoded), true);
});
