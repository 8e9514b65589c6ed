// The JSON API (docs/api.md) as the page uses it: same origin, session cookie, JSON bodies.

/** An API answer that was not a success, or a request that never got one (status 0). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** True when trying again later may work: no answer at all, or a server-side failure. */
  get transient() {
    return this.status === 0 || this.status >= 500;
  }
}

/**
 * One request to `/api/v1/<path>`. Resolves with the parsed body (null for 204); rejects with
 * an ApiError, whose status is 0 when the network failed before any answer.
 */
export async function call(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`/api/v1/${path}`, init);
  } catch {
    throw new ApiError(0, 'NETWORK', 'cannot reach the server');
  }
  if (res.status === 204) return null;
  const json = await res.json().catch(() => null);
  // A success whose body was cut short: the request may have taken effect, as with no answer.
  if (res.ok && json === null) throw new ApiError(0, 'NETWORK', 'the answer was cut short');
  if (!res.ok) {
    const error = json && typeof json === 'object' ? json.error : null;
    throw new ApiError(
      res.status,
      error?.code ?? `HTTP_${res.status}`,
      error?.message ?? `the server answered ${res.status}`,
    );
  }
  return json;
}

/**
 * `name` (a nick or room name) as one segment of an API path. A segment `.` or `..` would be
 * removed by the URL parser (fetch's, as any browser's), even written `%2E`, so its dots are
 * written `%252E`, which the server decodes twice (src/http/api-paths.ts decodeSegment).
 */
export function segment(name) {
  return name === '.' || name === '..' ? name.replaceAll('.', '%252E') : encodeURIComponent(name);
}

/**
 * A random id for an idempotent send. crypto.randomUUID exists only in secure contexts
 * (https, localhost); getRandomValues works everywhere.
 */
export function newClientId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
