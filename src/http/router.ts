import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatError } from '../domain/errors.js';

/** The parameters a pattern took from a path (`:name` and `*name`), still percent-encoded. */
export type RouteParams = Readonly<Record<string, string>>;

/** Answers one request; a rejection or a throw goes to the caller's error writer (reply.ts). */
export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: RouteParams,
) => void | Promise<void>;

/** The methods a route may declare, in the order an Allow header lists them. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** One of METHODS. */
export type Method = (typeof METHODS)[number];

/**
 * One entry of a route table: a path pattern and what each method does there. A pattern is
 * a path whose segments may be `:name` (one non-empty segment) or, last, `*name` (the rest of
 * the path, possibly empty, slashes included).
 */
export interface Route {
  readonly path: string;
  readonly methods: Readonly<Partial<Record<Method, Handler>>>;
  /** GET also answers HEAD (node:http sends no body for it) and Allow lists HEAD. */
  readonly head?: boolean;
  /**
   * The route takes the request only when this holds; else the search goes on, and a method
   * the route declares is not answered 405 (a GET that is not a stream is not "GET not
   * allowed", it is some other resource or none).
   */
  readonly when?: (req: IncomingMessage) => boolean;
  /** The `*` parameter keeps the query and fragment too (the seed's text may hold a `?`). */
  readonly rawTail?: boolean;
  /** Cross-origin callers may use the route: OPTIONS is answered 204 and `cors` is called. */
  readonly cors?: boolean;
}

/** Sets the CORS headers of a request to a `cors` route, given the methods its path takes. */
export type CorsHook = (req: IncomingMessage, res: ServerResponse, methods: string) => void;

/** A pattern segment after the static prefix: a literal, a `:param`, or a final `*param`. */
type Segment = { readonly literal: string } | { readonly param: string; readonly tail: boolean };

/** A route ready to match: its place in the table, its Allow line and its parsed pattern. */
interface Compiled {
  readonly index: number;
  readonly route: Route;
  readonly allow: string;
  /** The path up to the first parameter; the whole path for an exact route. */
  readonly prefix: string;
  readonly segments: readonly Segment[];
}

const NO_PARAMS: RouteParams = Object.freeze({});

/** Parses `pattern` (see Route); throws on a malformed one, at startup. */
function compile(route: Route, index: number): Compiled {
  const { path } = route;
  if (!path.startsWith('/')) throw new Error(`route ${path}: a path starts with /`);
  const first = path.search(/\/[:*]/);
  const prefix = first === -1 ? path : path.slice(0, first + 1);
  const segments: Segment[] = [];
  if (first !== -1) {
    const parts = path.slice(first + 1).split('/');
    parts.forEach((part, i) => {
      if (part.startsWith('*')) {
        if (i !== parts.length - 1) throw new Error(`route ${path}: * comes last`);
        segments.push({ param: part.slice(1), tail: true });
      } else if (part.startsWith(':')) segments.push({ param: part.slice(1), tail: false });
      else segments.push({ literal: part });
    });
  }
  const declared = METHODS.filter((m) =>
    m === 'HEAD' ? route.head && route.methods.GET : route.methods[m],
  );
  if (declared.length === 0) throw new Error(`route ${path}: no method`);
  return { index, route, allow: declared.join(', '), prefix, segments };
}

/**
 * The parameters `c` takes from `path` (`target` is the whole request target, for rawTail),
 * or undefined when the path is not its. Walks the path with indexOf: no regex, no split.
 */
function matchPattern(c: Compiled, path: string, target: string): RouteParams | undefined {
  if (!path.startsWith(c.prefix)) return undefined;
  const params: Record<string, string> = {};
  const last = c.segments.length - 1;
  let pos = c.prefix.length;
  for (let i = 0; i <= last; i++) {
    const seg = c.segments[i] as Segment;
    if ('param' in seg && seg.tail) {
      params[seg.param] = (c.route.rawTail ? target : path).slice(pos);
      return params;
    }
    const slash = path.indexOf('/', pos);
    // The last segment ends the path; every other one is followed by a '/'.
    if ((i === last) !== (slash === -1)) return undefined;
    const end = slash === -1 ? path.length : slash;
    const piece = path.slice(pos, end);
    if ('literal' in seg) {
      if (piece !== seg.literal) return undefined;
    } else if (piece === '') return undefined;
    else params[seg.param] = piece;
    pos = end + 1;
  }
  return params;
}

/** How a method is answered on a route: its handler, HEAD by GET where the route says so. */
function handlerOf(route: Route, method: string): Handler | undefined {
  const own = route.methods[method as Method];
  if (own) return own;
  return method === 'HEAD' && route.head ? route.methods.GET : undefined;
}

/** The union of several Allow lines, in METHODS order. */
function union(allows: readonly string[]): string {
  const seen = new Set(allows.flatMap((a) => a.split(', ')));
  return METHODS.filter((m) => seen.has(m)).join(', ');
}

/**
 * Finds the route of a request in a table and calls it. Routes are tried in table order and
 * the first whose path, method and `when` all fit takes the request. When none does, the
 * answer is 405 with an Allow header listing exactly the methods the routes that fit the path
 * declare, or 404 when no route fits the path (or one declares the method but its `when` did
 * not hold). Matching is cheap: paths without parameters are found in a Map, and a pattern is
 * looked at only when the path starts with its static prefix.
 */
export class Router {
  /** Routes without parameters, by path, each list in table order. */
  private readonly exact = new Map<string, Compiled[]>();
  /** Routes with parameters, in table order. */
  private readonly patterns: Compiled[] = [];

  constructor(
    routes: readonly Route[],
    private readonly cors?: CorsHook,
  ) {
    routes.forEach((route, i) => {
      const c = compile(route, i);
      if (c.segments.length > 0) this.patterns.push(c);
      else {
        const list = this.exact.get(c.prefix);
        if (list) list.push(c);
        else this.exact.set(c.prefix, [c]);
      }
    });
  }

  /**
   * Answers `req`: returns what its handler returns, or throws HTTP_NOT_FOUND, or
   * HTTP_METHOD_NOT_ALLOWED with the Allow header set.
   */
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void> {
    const target = req.url ?? '/';
    const method = req.method ?? 'GET';
    const path = pathOf(target);
    const exact = this.exact.get(path);
    let e = 0;
    let p = 0;
    // Routes that fit the path but not the method, for Allow; null until there is one.
    let fits: Compiled[] | null = null;
    let declaredButNotNow = false;
    for (;;) {
      // The next route in table order: the next exact one or the next pattern.
      const ex = exact?.[e];
      const pat = this.patterns[p];
      let c: Compiled;
      let params: RouteParams | undefined;
      if (ex && (!pat || ex.index < pat.index)) {
        c = ex;
        params = NO_PARAMS;
        e++;
      } else if (pat) {
        c = pat;
        params = matchPattern(pat, path, target);
        p++;
        if (!params) continue;
      } else break;
      const { route } = c;
      const handler = handlerOf(route, method);
      if (handler) {
        if (!route.when || route.when(req)) {
          if (route.cors) this.cors?.(req, res, c.allow);
          return handler(req, res, params);
        }
        declaredButNotNow = true;
      } else if (method === 'OPTIONS' && route.cors) {
        this.cors?.(req, res, c.allow);
        res.writeHead(204);
        res.end();
        return;
      }
      if (fits) fits.push(c);
      else fits = [c];
    }
    if (!fits || declaredButNotNow) throw new ChatError('HTTP_NOT_FOUND');
    const allow = fits.length === 1 ? (fits[0] as Compiled).allow : union(fits.map((f) => f.allow));
    if (fits.some((f) => f.route.cors)) this.cors?.(req, res, allow);
    res.setHeader('Allow', allow);
    throw new ChatError('HTTP_METHOD_NOT_ALLOWED');
  }
}

/** The path of a request target: up to its query (`?`) or fragment (`#`). */
export function pathOf(target: string): string {
  // Two native scans beat a regex or a loop in JavaScript; a '#' hardly ever comes.
  const q = target.indexOf('?');
  const h = target.indexOf('#');
  const end = q === -1 ? h : h === -1 ? q : Math.min(q, h);
  return end === -1 ? target : target.slice(0, end);
}

/** Whether `path` is one that `pattern` (see Route) describes; for tests of a route table. */
export function patternMatches(pattern: string, path: string): boolean {
  const c = compile({ path: pattern, methods: { GET: () => undefined } }, 0);
  return c.segments.length === 0 ? c.prefix === path : matchPattern(c, path, path) !== undefined;
}
