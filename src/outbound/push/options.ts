/** How one push is sent: the options `PushSender.send` takes, and their check. */

/**
 * How long a push service keeps a message for a browser that is offline (the TTL header), in
 * seconds, unless `send` is told otherwise: a chat notification a day late is still news, one
 * a week late is noise.
 */
export const DEFAULT_TTL_SECONDS = 24 * 60 * 60;

/** The urgency of a push (RFC 8030 §5.3): a service may hold a low one to save battery. */
export type PushUrgency = 'very-low' | 'low' | 'normal' | 'high';

/** How one push is sent. */
export interface PushOptions {
  /** Seconds the push service keeps it for an offline browser; DEFAULT_TTL_SECONDS. */
  readonly ttl?: number;
  /** RFC 8030 urgency; `normal` by default. */
  readonly urgency?: PushUrgency;
  /**
   * RFC 8030 topic: a newer push with the same topic replaces one the service still holds
   * (one per conversation). At most 32 characters of base64url.
   */
  readonly topic?: string;
}

const URGENCIES: readonly PushUrgency[] = ['very-low', 'low', 'normal', 'high'];

/** Throws a TypeError for options `send` cannot honour: a caller's bug, not a push's fate. */
export function checkOptions({ ttl, urgency, topic }: PushOptions): void {
  if (ttl !== undefined && !(Number.isSafeInteger(ttl) && ttl >= 0)) {
    throw new TypeError('push ttl must be a whole number of seconds');
  }
  if (urgency !== undefined && !URGENCIES.includes(urgency)) {
    throw new TypeError(`push urgency must be one of ${URGENCIES.join(', ')}`);
  }
  if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) {
    throw new TypeError('push topic must be 1 to 32 characters of base64url');
  }
}
