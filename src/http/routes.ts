import type { IncomingMessage } from 'node:http';
import { ChatError } from '../domain/errors.js';
import type { Api } from './api.js';
import type { ClassicProtocol } from './classic.js';
import type { OpsEndpoints } from './ops.js';
import { type Handler, type Method, pathOf, type Route, Router } from './router.js';
import type { StaticAssets, StaticPage } from './static.js';

/** The front doors the route table sends requests to, built by server.ts. */
export interface Edge {
  readonly classic: ClassicProtocol;
  readonly api: Api;
  readonly ops: OpsEndpoints;
  /** Our chat page (`/`). */
  readonly index: StaticPage;
  /** The server admins' page (`/admin`, web/admin.html). */
  readonly adminPage: StaticPage;
  /** The seed's own page (`/classic`), unchanged. */
  readonly seedPage: StaticPage;
  /** The page's scripts, styles and icon (`/assets/<name>`). */
  readonly assets: StaticAssets;
}

/** A route of the table with its handlers still to be taken from an Edge. */
export interface RouteSpec extends Omit<Route, 'methods'> {
  readonly methods: Readonly<Partial<Record<Method, (edge: Edge) => Handler>>>;
  /** A JSON API route: CORS, and a cross-site check before every method but GET. */
  readonly api?: boolean;
}

/** A JSON API route under `/api/v1` (docs/api.md, Endpoints and Rooms). */
function api(path: string, methods: RouteSpec['methods']): RouteSpec {
  return { path: `/api/v1${path}`, methods, api: true, cors: true };
}

/** A page or document: GET, and HEAD (node:http sends no body for it). */
function page(path: string, get: (edge: Edge) => Handler): RouteSpec {
  return { path, methods: { GET: get }, head: true };
}

/** A classic stream request: a GET that asks for `text/event-stream`. */
function wantsStream(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.headers.accept?.includes('text/event-stream') === true;
}

/**
 * The whole HTTP surface, in the order it is matched (router.ts): the first route whose path,
 * method and condition fit takes the request; a path no route has is 404, a method its routes
 * do not declare 405 with their exact Allow. docs/api.md lists every route (routes.test.ts).
 * Request-level limits (URL length, headers, timeouts) come before it, in server.ts.
 */
export const ROUTES: readonly RouteSpec[] = [
  // The seed's send. First and on the raw target: the text may hold `?` or `#`. It has
  // effects, so not even HEAD.
  {
    path: '/msg/*message',
    methods: {
      GET:
        (e) =>
        (req, res, { message = '' }) =>
          e.classic.send(req, res, message),
    },
    rawTail: true,
  },

  // The JSON API. Every route takes OPTIONS too (a CORS preflight, 204).
  api('/server', { GET: (e) => e.api.people.server }),
  api('/users', { GET: (e) => e.api.people.directory, POST: (e) => e.api.register }),
  api('/users/:nick', { GET: (e) => e.api.people.view, PATCH: (e) => e.api.people.update }),
  { ...api('/users/:nick/avatar', { GET: (e) => e.api.people.avatar }), head: true },
  api('/session', {
    GET: (e) => e.api.whoami,
    POST: (e) => e.api.login,
    DELETE: (e) => e.api.logout,
  }),
  api('/password', { POST: (e) => e.api.changePassword }),
  api('/account', { DELETE: (e) => e.api.account.remove }),
  api('/account/export', { GET: (e) => e.api.account.export }),
  api('/account/reports', { GET: (e) => e.api.reports.mine }),
  api('/tokens', { GET: (e) => e.api.listTokens, POST: (e) => e.api.createToken }),
  api('/tokens/:id', { DELETE: (e) => e.api.revokeToken }),
  api('/tickets', { POST: (e) => e.api.createTicket }),
  api('/messages', { GET: (e) => e.api.reading.history, POST: (e) => e.api.send }),
  api('/messages/:id', { PATCH: (e) => e.api.edit, DELETE: (e) => e.api.delete }),
  api('/messages/:id/reactions/:emoji', {
    PUT: (e) => e.api.reactions.add,
    DELETE: (e) => e.api.reactions.remove,
  }),
  api('/messages/:id/report', { POST: (e) => e.api.reports.file }),
  api('/reports', { GET: (e) => e.api.reports.queue }),
  api('/reports/:id', { POST: (e) => e.api.reports.act }),
  api('/rooms', { GET: (e) => e.api.rooms.list, POST: (e) => e.api.rooms.create }),
  api('/rooms/:name', { GET: (e) => e.api.rooms.view }),
  api('/rooms/:name/join', { POST: (e) => e.api.rooms.join }),
  api('/rooms/:name/leave', { POST: (e) => e.api.rooms.leave }),
  api('/rooms/:name/invite', {
    POST: (e) => e.api.rooms.invite,
    DELETE: (e) => e.api.rooms.decline,
  }),
  api('/rooms/:name/members/:user', {
    PUT: (e) => e.api.rooms.member,
    DELETE: (e) => e.api.rooms.member,
  }),
  api('/rooms/:name/kick', { POST: (e) => e.api.sanctions.kick }),
  api('/blocks', { GET: (e) => e.api.blocks.list }),
  api('/blocks/:nick', { PUT: (e) => e.api.blocks.block, DELETE: (e) => e.api.blocks.unblock }),
  api('/search', { GET: (e) => e.api.reading.search }),
  api('/typing', { POST: (e) => e.api.typing }),
  api('/events', { GET: (e) => e.api.events }),
  api('/presence', { GET: (e) => e.api.presence }),
  api('/read', { POST: (e) => e.api.read }),
  api('/unread', { GET: (e) => e.api.notify.unread }),
  api('/markers', { PUT: (e) => e.api.notify.marker }),
  api('/notify', { GET: (e) => e.api.notify.settings, PUT: (e) => e.api.notify.setSettings }),
  api('/attention', { PUT: (e) => e.api.notify.attention, POST: (e) => e.api.notify.attention }),
  api('/uploads', { POST: (e) => e.api.files.upload }),
  {
    ...api('/uploads/:id', { GET: (e) => e.api.files.file, DELETE: (e) => e.api.files.discard }),
    head: true,
  },
  { ...api('/uploads/:id/thumb', { GET: (e) => e.api.files.thumb }), head: true },
  // Server admins (api-admin.ts): every route answers 404 in open mode, 401 anonymous, 403
  // to a non-admin (test/admin-routes.test.ts walks them).
  api('/admin/audit', { GET: (e) => e.api.admin.audit }),
  api('/admin/users/:nick/role', { PUT: (e) => e.api.admin.role }),
  // Sanctions (api-sanctions.ts): server admins only.
  api('/admin/users/:nick/ban', {
    POST: (e) => e.api.sanctions.ban,
    DELETE: (e) => e.api.sanctions.unban,
  }),
  api('/admin/users/:nick/mute', {
    POST: (e) => e.api.sanctions.mute,
    DELETE: (e) => e.api.sanctions.unmute,
  }),
  api('/admin/addresses', {
    GET: (e) => e.api.sanctions.addresses,
    POST: (e) => e.api.sanctions.banAddress,
  }),
  api('/admin/addresses/:id', { DELETE: (e) => e.api.sanctions.unbanAddress }),
  api('/admin/health', { GET: (e) => e.api.adminView.health }),
  api('/admin/users', {
    GET: (e) => e.api.adminView.users,
    POST: (e) => e.api.registration.createUser,
  }),
  api('/push/key', { GET: (e) => e.api.push.key }),
  api('/push/subscriptions', {
    POST: (e) => e.api.push.subscribe,
    DELETE: (e) => e.api.push.unsubscribe,
  }),

  // Who may register (api-registration.ts): admins only, accounts mode only.
  api('/admin/registration', {
    GET: (e) => e.api.registration.mode,
    PUT: (e) => e.api.registration.setMode,
  }),
  api('/admin/invites', {
    GET: (e) => e.api.registration.invites,
    POST: (e) => e.api.registration.createInvite,
  }),
  api('/admin/invites/:id', {
    GET: (e) => e.api.registration.invite,
    DELETE: (e) => e.api.registration.revokeInvite,
  }),

  // Our page and its files.
  page('/', (e) => (req, res) => e.index.serve(req, res)),
  page('/assets/*name', (e) => (req, res, { name = '' }) => {
    if (!e.assets.serve(req, res, name)) throw new ChatError('HTTP_NOT_FOUND');
  }),

  // The seed's stream, before the pages below: a user may be called `classic` or `metrics`.
  // A HEAD or a request for a page falls through to them. Allow says HEAD, as it always has.
  {
    path: '/:nick',
    methods: {
      GET:
        (e) =>
        (req, res, { nick = '' }) =>
          e.classic.stream(req, res, nick, queryOf(req)),
    },
    head: true,
    when: wantsStream,
  },
  page('/classic', (e) => (req, res) => e.seedPage.serve(req, res)),
  // The server admins' page: the same CSP as `/`; what it shows, it asks the admin API for.
  page('/admin', (e) => (req, res) => e.adminPage.serve(req, res)),
  // The page's service worker (web/sw.js) at the root, since a worker's scope is the folder
  // of its URL: here, the whole origin, without a Service-Worker-Allowed header.
  page('/sw.js', (e) => (req, res) => {
    if (!e.assets.serve(req, res, 'sw.js')) throw new ChatError('HTTP_NOT_FOUND');
  }),

  // Operations (ops.ts).
  page('/metrics', (e) => e.ops.metrics),
  page('/healthz', (e) => e.ops.healthz),
  page('/readyz', (e) => e.ops.readyz),
];

/** The query of a request, for the classic stream's `?ticket=`. */
function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const path = pathOf(url);
  return new URLSearchParams(path.length === url.length ? '' : url.slice(path.length + 1));
}

/** The router of the whole surface (ROUTES), its handlers taken from `edge`. */
export function createRouter(edge: Edge): Router {
  const routes = ROUTES.map((spec): Route => {
    const methods: Partial<Record<Method, Handler>> = {};
    for (const [method, pick] of Object.entries(spec.methods) as [Method, (e: Edge) => Handler][]) {
      const handler = pick(edge);
      methods[method] = spec.api ? guarded(edge, handler) : handler;
    }
    return { ...spec, methods };
  });
  return new Router(routes, edge.api.cors);
}

/** An API handler behind the cross-site check (api.ts checkSameOrigin). */
function guarded(edge: Edge, handler: Handler): Handler {
  return (req, res, params) => {
    edge.api.checkSameOrigin(req);
    return handler(req, res, params);
  };
}
