import type { VapidKeys } from './push-store.js';

/** The key of the server's VAPID pair in the secrets table (both engines). */
export const VAPID_SECRET = 'vapid';

/** The columns of push_subscriptions, in the order both engines select them. */
export const SUBSCRIPTION = 'endpoint, p256dh, auth, nick, session, created';

/** The VAPID pair as the secrets table holds it: JSON text. */
export function encodeVapidKeys({ publicKey, privateKey }: VapidKeys): string {
  return JSON.stringify({ publicKey, privateKey });
}

/** The pair encodeVapidKeys stored; throws when the row is not one (a damaged store). */
export function decodeVapidKeys(value: string): VapidKeys {
  const parsed = JSON.parse(value) as Partial<VapidKeys> | null;
  const publicKey = parsed?.publicKey;
  const privateKey = parsed?.privateKey;
  if (typeof publicKey !== 'string' || typeof privateKey !== 'string') {
    throw new Error('the stored VAPID keys are damaged (secrets row "vapid")');
  }
  return { publicKey, privateKey };
}
