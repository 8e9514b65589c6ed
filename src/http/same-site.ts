import type { IncomingMessage } from 'node:http';
import { ChatError } from '../domain/errors.js';

/**
 * Refuses (AUTH_CROSS_SITE) a request that a browser sent on behalf of another site (CSRF).
 * Browsers mark every request with Sec-Fetch-Site, older ones with Origin or Referer; a
 * request with none comes from a non-browser client, which no other site can drive.
 * `trustProxy`: config trustProxy, see requestScheme.
 */
export function checkSameSite(req: IncomingMessage, trustProxy: boolean): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return;
    throw new ChatError('AUTH_CROSS_SITE', `Sec-Fetch-Site: ${site}`);
  }
  // Older browsers send no Sec-Fetch-Site, and no Origin on a top-level GET (a link to a
  // classic /msg URL); their Referer still names the page that sent them, unless a policy
  // hid it. Origin and Referer must name this origin: scheme, host and port, so that a page
  // served over plain http (which a network attacker can forge) cannot post to the https
  // site. URL's origin drops a default port, so `host:443` and `host` compare equal.
  const origin = req.headers.origin;
  const from = origin ?? req.headers.referer;
  if (from === undefined) return;
  const own = originOf(`${requestScheme(req, trustProxy)}://${req.headers.host ?? ''}`);
  if (own === undefined || originOf(from) !== own) {
    throw new ChatError('AUTH_CROSS_SITE', origin === undefined ? 'Referer' : `Origin: ${origin}`);
  }
}

/**
 * The scheme the client used to reach us: https on a TLS socket; behind a proxy that ends TLS
 * (nginx), the proxy's X-Forwarded-Proto, believed only with `trustProxy` (--trust-proxy yes),
 * as X-Forwarded-For is, since any client can send the header; otherwise http. A proxy that
 * appends to the header adds its own value last, so the last one is taken.
 */
export function requestScheme(req: IncomingMessage, trustProxy: boolean): 'http' | 'https' {
  if ((req.socket as { encrypted?: boolean }).encrypted === true) return 'https';
  const forwarded = req.headers['x-forwarded-proto'];
  if (!trustProxy || typeof forwarded !== 'string') return 'http';
  return forwarded.split(',').at(-1)?.trim().toLowerCase() === 'https' ? 'https' : 'http';
}

/** The origin (scheme, host, port) of an http(s) URL, or undefined for anything else. */
function originOf(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
}
