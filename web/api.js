// The JSON API (docs/api.md) as the page uses it: same origin, session cookie, JSON bodies.
// The shapes of its answers and events are the server's (src/http/api-types.ts).

/** @typedef {import('../src/http/api-types.js').ApiErrorBody} ApiErrorBody */

/** An API answer that was not a success, or a request that never got one (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status, 0 when there was no answer
   * @param {string} code the error's stable code (src/domain/errors.ts), or NETWORK, HTTP_<status>
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /**
   * What a `catch` caught, as an ApiError: itself, or anything else thrown (a bug, not an
   * answer) with status -1 and code CLIENT, which no caller takes for a known answer.
   * @param {unknown} e
   */
  static from(e) {
    if (e instanceof ApiError) return e;
    return new ApiError(-1, 'CLIENT', e instanceof Error ? e.message : String(e));
  }

  /** True when trying again later may work: no answer at all, or a server-side failure. */
  get transient() {
    return this.status === 0 || this.status >= 500;
  }
}

/**
 * One request to `/api/v1/<path>`. Resolves with the parsed body (null for 204), which the
 * caller reads as the answer type the server declares (src/http/api-types.ts); rejects with
 * an ApiError, whose status is 0 when the network failed before any answer.
 * @param {'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} method
 * @param {string} path
 * @param {object} [body] sent as JSON
 * @returns {Promise<unknown>}
 */
export async function call(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
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
    const error =
      json && typeof json === 'object' ? /** @type {Partial<ApiErrorBody>} */ (json).error : null;
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
/**
 * @param {string} name
 * @returns {string}
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
