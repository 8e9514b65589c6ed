/**
 * The server's VAPID identity (RFC 8292): one P-256 key pair, generated at the first start and
 * kept in the Store so that every process of a cluster signs with it (a browser subscribed
 * with one public key accepts pushes signed by that key only), and the subject that says how
 * a push service can reach the operator (`--push-subject`).
 */
import { createPublicKey } from 'node:crypto';
import webpush from 'web-push';
import type { VapidKeys } from '../../store/push-store.js';

/** A new key pair, base64url: the public key the 65-byte uncompressed point, the private 32 bytes. */
export function generateVapidKeys(): VapidKeys {
  const { publicKey, privateKey } = webpush.generateVAPIDKeys();
  return { publicKey, privateKey };
}

/** Whether `key` is base64url (no padding) of exactly `bytes` bytes. */
export function isBase64Url(key: unknown, bytes: number): key is string {
  return (
    typeof key === 'string' &&
    /^[A-Za-z0-9_-]+$/.test(key) &&
    Buffer.from(key, 'base64url').length === bytes &&
    // Canonical only: a key with stray bits in its last character is someone else's spelling.
    Buffer.from(key, 'base64url').toString('base64url') === key
  );
}

/**
 * Whether `key` is a P-256 public key as browsers give it (p256dh, and our own VAPID public
 * key): base64url of the 65-byte uncompressed point (0x04, x, y), on the curve.
 */
export function isP256PublicKey(key: unknown): key is string {
  if (!isBase64Url(key, 65)) return false;
  const point = Buffer.from(key, 'base64url');
  if (point[0] !== 0x04) return false;
  try {
    createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
    return true;
  } catch {
    return false;
  }
}

/** Whether the stored pair is usable: the public key a P-256 point, the private one 32 bytes. */
export function checkVapidKeys(keys: VapidKeys): VapidKeys {
  if (!isP256PublicKey(keys.publicKey) || !isBase64Url(keys.privateKey, 32)) {
    throw new Error('the stored VAPID keys are not a P-256 key pair');
  }
  return keys;
}
