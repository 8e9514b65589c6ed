import crypto from 'node:crypto';
import { ChatError } from '../domain/errors.js';

/** The fewest code points a new password may have (NIST SP 800-63B's minimum is 8). */
export const PASSWORD_MIN_LENGTH = 8;

/**
 * The most code points a password may have. It bounds the work per login attempt and is also
 * enforced by verifyPassword, so a megabyte "password" costs no more than a short one.
 */
export const PASSWORD_MAX_LENGTH = 256;

/** scrypt cost parameters and lengths, as stored in an encoded hash. */
interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/**
 * Cost for new hashes: N=2^14, r=8, p=1 (16 MiB, about 50 ms on a 2-core CI VM). The encoded
 * form carries the parameters, so raising them later only affects new hashes and old ones still
 * verify.
 */
const COST: ScryptParams = { N: 16384, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/**
 * Upper bound on the cost read back from a stored hash. The hash comes from our own database,
 * but a corrupt or tampered row must not make one login allocate gigabytes or spin for minutes:
 * anything outside these bounds is treated as malformed.
 */
const MAX_WORK = 256 * 1024 * 1024; // 128 * N * r * p: 16 times COST (~0.85 s here), 256 MiB max
const MAX_ENCODED_LENGTH = 512;

/**
 * What an unknown user or a malformed hash is checked against. Only the time spent matters, so
 * the bytes are arbitrary; it uses the current COST so that it takes as long as verifying an
 * account created today.
 */
const DUMMY = { ...COST, salt: Buffer.alloc(SALT_BYTES, 0x5a), hash: Buffer.alloc(KEY_BYTES) };

/**
 * Runs scrypt without blocking the event loop (it runs on the libuv thread pool).
 * `crypto.scrypt` is looked up on each call rather than promisified once, so tests can spy on it.
 */
function scrypt(password: string, salt: Buffer, keyLen: number, c: ScryptParams): Promise<Buffer> {
  // Node refuses when 128 * N * r exceeds maxmem (default 32 MiB); allow twice that for headroom.
  const options = { N: c.N, r: c.r, p: c.p, maxmem: 2 * 128 * c.N * c.r };
  return new Promise((resolve, reject) => {
    crypto.scrypt(password, salt, keyLen, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/**
 * NIST SP 800-63B asks verifiers to normalize with NFKC or NFKD: the same typed password can
 * reach us composed on one keyboard and decomposed on another. This is part of the `scrypt`
 * scheme; changing it would need a new scheme name, or existing hashes would stop matching.
 */
function normalize(password: string): string {
  return password.normalize('NFKC');
}

/** Counts code points (not UTF-16 units), stopping early once past `cap`. */
function codePoints(s: string, cap: number): number {
  // Each code point is one or two UTF-16 units, so the unit count often settles it without a scan.
  if (s.length <= cap) return s.length - surrogatePairs(s);
  if (s.length > 2 * cap) return cap + 1;
  return s.length - surrogatePairs(s);
}

function surrogatePairs(s: string): number {
  let pairs = 0;
  for (let i = 0; i < s.length - 1; i++) {
    const hi = s.charCodeAt(i);
    const lo = s.charCodeAt(i + 1);
    if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
      pairs++;
      i++;
    }
  }
  return pairs;
}

/** Validates a password someone wants to set and returns it, or throws AUTH_PASSWORD_WEAK. */
export function checkNewPassword(password: unknown): string {
  if (typeof password !== 'string') throw new ChatError('AUTH_PASSWORD_WEAK', 'must be a string');
  // A lone surrogate becomes U+FFFD in UTF-8, so two different passwords would hash the same.
  if (!password.isWellFormed()) {
    throw new ChatError('AUTH_PASSWORD_WEAK', 'must be valid Unicode text');
  }
  const length = codePoints(password, PASSWORD_MAX_LENGTH);
  if (length < PASSWORD_MIN_LENGTH) {
    throw new ChatError('AUTH_PASSWORD_WEAK', `must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new ChatError('AUTH_PASSWORD_WEAK', `must be at most ${PASSWORD_MAX_LENGTH} characters`);
  }
  return password;
}

/**
 * Hashes a new password as `scrypt$N$r$p$<salt>$<hash>` (base64url), after checkNewPassword, so
 * that no account can get a password that verifyPassword would always refuse.
 */
export async function hashPassword(password: string): Promise<string> {
  checkNewPassword(password);
  const salt = crypto.randomBytes(SALT_BYTES);
  const hash = await scrypt(normalize(password), salt, KEY_BYTES, COST);
  const { N, r, p } = COST;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** A parsed stored hash. */
interface Decoded extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

const INTEGER = /^[1-9][0-9]{0,9}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeBase64url(s: string | undefined, min: number, max: number): Buffer | undefined {
  if (s === undefined || !BASE64URL.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64url');
  // Buffer.from ignores trailing bits it cannot use; insist on the canonical spelling.
  if (bytes.length < min || bytes.length > max || bytes.toString('base64url') !== s) {
    return undefined;
  }
  return bytes;
}

/** Parses an encoded hash, or returns undefined when it is malformed or its cost is too high. */
function decode(encoded: string): Decoded | undefined {
  if (encoded.length > MAX_ENCODED_LENGTH) return undefined;
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((s) => (INTEGER.test(s) ? Number(s) : 0));
  if (N === undefined || r === undefined || p === undefined) return undefined;
  // Memory is 128 * N * r bytes and time grows with that times p; checked first, as it also
  // keeps N small enough for the bitwise power-of-two test (scrypt wants N = 2^k, k >= 1).
  if (N < 2 || r < 1 || p < 1 || 128 * N * r * p > MAX_WORK) return undefined;
  if ((N & (N - 1)) !== 0) return undefined;
  const salt = decodeBase64url(parts[4], 8, 64);
  const hash = decodeBase64url(parts[5], 16, 64);
  if (!salt || !hash) return undefined;
  return { N, r, p, salt, hash };
}

/**
 * True when `password` matches the encoded hash. With no hash (unknown user), a malformed one or
 * an over-long password it still spends one scrypt on a dummy hash and returns false, so the
 * response time does not reveal whether an account exists.
 */
export async function verifyPassword(
  password: string,
  encoded: string | undefined,
): Promise<boolean> {
  const stored = encoded === undefined ? undefined : decode(encoded);
  const usable =
    typeof password === 'string' &&
    codePoints(password, PASSWORD_MAX_LENGTH) <= PASSWORD_MAX_LENGTH;
  // The dummy run uses a fixed short input: an over-long password must not reach scrypt at all.
  const target = stored && usable ? stored : DUMMY;
  const input = stored && usable ? normalize(password) : 'dummy password';
  let derived: Buffer;
  try {
    derived = await scrypt(input, target.salt, target.hash.length, target);
  } catch {
    // Parameters that passed decode() but that scrypt still refuses: treat as malformed.
    return false;
  }
  const equal = crypto.timingSafeEqual(derived, target.hash);
  return equal && target !== DUMMY;
}
