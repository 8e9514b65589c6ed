/**
 * Largest push payload, in bytes of JSON before encryption. Push services take 4096 bytes of
 * encrypted record (RFC 8030 §7.2), of which aes128gcm's header, padding delimiter and tag
 * take 103; a margin is left for services that count differently. `send` shortens a too
 * long `body`, then `title`, to fit.
 */
export const MAX_PAYLOAD_BYTES = 3_072;

/**
 * The JSON of `payload` within MAX_PAYLOAD_BYTES: as it is when it fits, else with its `body`
 * and then its `title` cut (whole characters, ending in `…`); undefined when even without
 * them it is too large.
 */
export function fitPayload(payload: object, maxBytes = MAX_PAYLOAD_BYTES): string | undefined {
  let json = JSON.stringify(payload);
  if (Buffer.byteLength(json) <= maxBytes) return json;
  const copy: Record<string, unknown> = { ...payload };
  for (const field of ['body', 'title']) {
    const value = copy[field];
    if (typeof value !== 'string') continue;
    const chars = Array.from(value);
    const cut = (n: number): string => {
      copy[field] = n === 0 ? '' : `${chars.slice(0, n).join('')}…`;
      return JSON.stringify(copy);
    };
    // The longest prefix that fits, found by halving: characters take 1 to 12 bytes of JSON.
    let fits = -1;
    let lo = 0;
    let hi = chars.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.byteLength(cut(mid)) <= maxBytes) {
        fits = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    json = cut(Math.max(fits, 0));
    if (fits >= 0) return json;
  }
  return undefined;
}
