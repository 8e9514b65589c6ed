import { hash, randomBytes } from 'node:crypto';

/** Bytes of randomness in a secret: 256 bits, far beyond any brute force. */
const SECRET_BYTES = 32;

/** Bytes in a public id: 72 bits, so ids never collide in practice and base64url has no padding. */
const ID_BYTES = 9;

/** A new random secret (session cookie, bearer token, stream ticket): 43 base64url characters. */
export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** A new random public id for a credential (12 base64url characters); it is not a secret. */
export function newId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/**
 * The hash under which a secret is stored and looked up: SHA-256, hex.
 *
 * A fast unsalted hash is right here, unlike for passwords: a secret has 256 random bits, so
 * even at billions of guesses per second a leaked hash cannot be reversed, and salting buys
 * nothing against guessing. A slow hash would only make every authenticated request (and every
 * forged one) cost CPU, and the lookup needs a deterministic hash to find the row by index.
 */
export function hashSecret(secret: string): string {
  // The one-shot form: no Hash object per authenticated request.
  return hash('sha256', secret, 'hex');
}
