// Script replies are checked rather than cast: a wrong shape is a bug to surface, not to pass
// on as undefined.

/** `reply` as an array of exactly `length` items; throws on any other shape. */
export function asArray(reply: unknown, length: number): unknown[] {
  if (!Array.isArray(reply) || reply.length !== length) {
    throw new Error(`unexpected Redis reply: ${JSON.stringify(reply)}`);
  }
  return reply;
}

/** `reply` as an integer; throws on any other shape. */
export function asInt(reply: unknown): number {
  if (typeof reply !== 'number' || !Number.isInteger(reply)) {
    throw new Error(`unexpected Redis reply: ${JSON.stringify(reply)}`);
  }
  return reply;
}

/** `reply` as an array of strings; throws on any other shape. */
export function asStrings(reply: unknown): string[] {
  if (!Array.isArray(reply) || !reply.every((s) => typeof s === 'string')) {
    throw new Error(`unexpected Redis reply: ${JSON.stringify(reply)}`);
  }
  return reply;
}
