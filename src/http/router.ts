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
  if (/[?#]/.test(path)) throw new Error(`route ${path}: a path holds no ? or #`);
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

/** A route known, at startup, to fit an exact path; params null when they depend on the query. */
interface Known {
  readonly c: Compiled;
  readonly params: RouteParams | null;
}

/**
 * Finds the route of a request in a table and calls it. Routes are tried in table order and
 * the first whose path, method and `when` all fit takes the request. When none does, the
 * answer is 405 with an Allow header listing exactly the methods the routes that fit the path
 * declare, or 404 when no route fits the path (or one declares the method but its `when` did
 * not hold). Matching is cheap and allocates no regex: a path some route names exactly is
 * looked up in a Map, which holds every route that fits it, in order, worked out at startup;
 * any other path tries the patterns, each only past a startsWith of its static prefix. A first
 * route of the form `/prefix/*rest` with rawTail (the seed's send) is tried on the raw target
 * before the path is even cut.
 */
export class Router {
  /** For each path some route names exactly: every route that fits it, in table order. */
  private readonly exact = new Map<string, Known[]>();
  /** Routes with parameters, in table order. */
  private readonly patterns: readonly Compiled[];
  /** The first route, when it is a rawTail `/prefix/*rest`: its prefix and parameter. */
  private readonly lead: { readonly c: Compiled; readonly param: string } | undefined;

  constructor(
    routes: readonly Route[],
    private readonly cors?: CorsHook,
  ) {
    const all = routes.map(compile);
    this.patterns = all.filter((c) => c.segments.length > 0);
    for (const c of all) {
      if (c.segments.length > 0 || this.exact.has(c.prefix)) continue;
      const path = c.prefix;
      const known = all.flatMap((other): Known[] => {
        if (other.segments.length === 0)
          return other.prefix === path ? [{ c: other, params: NO_PARAMS }] : [];
        const params = matchPattern(other, path, path);
        if (!params) return [];
        return [{ c: other, params: other.route.rawTail ? null : params }];
      });
      this.exact.set(path, known);
    }
    const first = all[0];
    const tail = first?.segments[0];
    if (first && tail && 'param' in tail && tail.tail && first.route.rawTail) {
      this.lead = { c: first, param: tail.param };
    }
  }

  /**
   * Answers `req`: returns what its handler returns, or throws HTTP_NOT_FOUND, or
   * HTTP_METHOD_NOT_ALLOWED with the Allow header set.
   */
  handle(req: IncomingMessage, res: ServerResponse): void | Promise<void> {
    const target = req.url ?? '/';
    const method = req.method ?? 'GET';
    const lead = this.lead;
    // A prefix holds no '?' or '#', so the raw target starts with it exactly when the path does.
    if (lead !== undefined && target.startsWith(lead.c.prefix)) {
      const { route } = lead.c;
      const handler = handlerOf(route, method);
      if (handler !== undefined && !route.when && !route.cors) {
        // Not `{ [name]: value }`: V8 builds an object with a computed key about 100 ns slower.
        const params: Record<string, string> = {};
        params[lead.param] = target.slice(lead.c.prefix.length);
        return handler(req, res, params);
      }
    }
    const path = pathOf(target);
    const known = this.exact.get(path);
    const n = known ? known.length : this.patterns.length;
    // Routes that fit the path but not the method, for Allow; null until there is one.
    let fits: Compiled[] | null = null;
    let declaredButNotNow = false;
    for (let i = 0; i < n; i++) {
      let c: Compiled;
      let params: RouteParams | undefined;
      if (known) {
        const k = known[i] as Known;
        c = k.c;
        params = k.params ?? matchPattern(c, path, target);
      } else {
        c = this.patterns[i] as Compiled;
        params = matchPattern(c, path, target);
      }
      if (!params) continue;
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
