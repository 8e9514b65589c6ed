import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseAuditAction } from '../core/admins.js';
import type { ChatService } from '../core/chat.js';
import { MAX_AUDIT_PAGE } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import type { AuditQuery } from '../store/audit-store.js';
import { decodeSegment, intParam } from './api-paths.js';
import type { Auth, Identity } from './auth.js';
import type { JsonBody } from './body.js';
import { sendJson } from './reply.js';
import type { Handler } from './router.js';

/** The page size of `GET /api/v1/admin/audit` when no `limit` is given. */
export const DEFAULT_AUDIT_PAGE = 50;
/**
 * Longest value of a text filter of the audit log (`actor`, `target`, `room`): longer than
 * any nick or room name, short enough that a filter costs an index lookup and no more.
 */
const MAX_FILTER_CHARS = 256;

/** What the admin routes need from the JSON API. */
export interface ApiAdminDeps {
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
}

/**
 * The server admins' routes, `/api/v1/admin/…` (docs/api.md, Server admins). Each handler
 * starts with requireAdmin, before it reads a body or a query: whoever is not an admin learns
 * nothing from what they send.
 */
export class ApiAdmin {
  constructor(private readonly deps: ApiAdminDeps) {}

  /**
   * The identity of a request by a server admin, or throws: AUTH_ACCOUNTS_ONLY (404) in open
   * mode, where a nick is only a claim and nobody is trusted as admin; AUTH_REQUIRED (401)
   * without a login; AUTH_ADMIN_ONLY (403) for anyone else. The role is read from the Store
   * on every request, so a demotion holds at once on every process. A handler that reads a
   * body asks again once it has it: an admin demoted meanwhile must not finish a request
   * they began (held its body) while still an admin.
   */
  async requireAdmin(req: IncomingMessage): Promise<Identity> {
    if (!this.deps.auth.accountsMode) throw new ChatError('AUTH_ACCOUNTS_ONLY');
    const identity = await this.deps.auth.require(req);
    if (!(await this.deps.chat.admins.isAdmin(identity.nick))) {
      throw new ChatError('AUTH_ADMIN_ONLY');
    }
    return identity;
  }

  /**
   * `GET /api/v1/admin/audit?before=&limit=&actor=&target=&action=&room=`: a page of the audit
   * log, newest first, and where the next one starts.
   */
  readonly audit: Handler = async (req, res) => {
    await this.requireAdmin(req);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const filter = async (name: 'actor' | 'target' | 'room'): Promise<string | undefined> => {
      const value = query.get(name);
      if (value === null || value === '') return undefined;
      if (value.length > MAX_FILTER_CHARS) {
        throw new ChatError(
          'API_QUERY_INVALID',
          `${name} is at most ${MAX_FILTER_CHARS} characters`,
        );
      }
      // A nick in any ASCII case finds the rows of the account, written with its nick as
      // registered; `(cli)` and nicks of deleted accounts are matched as given.
      if (name === 'room') return value;
      return (await this.deps.chat.admins.accountNick(value)) ?? value;
    };
    const before = query.has('before')
      ? intParam(query, 'before', 0, 1, Number.MAX_SAFE_INTEGER)
      : undefined;
    const action = query.get('action');
    const actor = await filter('actor');
    const target = await filter('target');
    const room = await filter('room');
    const request: AuditQuery = {
      limit: intParam(query, 'limit', DEFAULT_AUDIT_PAGE, 1, MAX_AUDIT_PAGE),
      ...(before !== undefined && { before }),
      ...(action !== null && action !== '' && { action: parseAuditAction(action) }),
      ...(actor !== undefined && { actor }),
      ...(target !== undefined && { target }),
      ...(room !== undefined && { room }),
    };
    const page = await this.deps.chat.admins.audit(request);
    sendJson(res, 200, page);
  };

  /**
   * `PUT /api/v1/admin/users/<nick>/role` with `{role: 'admin'|'user', reason?}`: makes a user
   * a server admin or a plain user, audited. 404 USER_NOT_FOUND, 409 ADMIN_LAST.
   */
  readonly role: Handler = async (req, res, params) => {
    await this.requireAdmin(req);
    const body = await this.deps.body(req, res);
    // Again: a demotion while the body was on its way holds (see requireAdmin).
    const { nick: actor } = await this.requireAdmin(req);
    const nick = decodeSegment(params.nick ?? '');
    const done = await this.deps.chat.admins.setRole(actor, nick, body.role, body.reason);
    sendJson(res, 200, done);
  };
}
