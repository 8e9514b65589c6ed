import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InviteView, Registration } from '../auth/registration.js';
import type { Config } from '../config.js';
import type { ChatService } from '../core/chat.js';
import { parseReason } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import { parseRegistrationMode } from '../domain/registration.js';
import { decodeSegment } from './api-paths.js';
import type { ApiInvite, ApiInviteDetail, ApiInvitePage, ApiNewInvite } from './api-types.js';
import type { Auth, Identity } from './auth.js';
import { type JsonBody, readJson, stringField } from './body.js';
import { sendJson } from './reply.js';
import type { Handler } from './router.js';
import { requestScheme } from './same-site.js';

/**
 * Largest body of these routes: a nick, a password (at most 1024 characters, passwords.ts),
 * a reason (MAX_REASON_CHARS) and a few numbers, each character escaped at worst.
 */
const MAX_BODY_BYTES = 16_384;
/** Invites per page of `GET /admin/invites`: the default, and the most. */
const DEFAULT_PAGE = 50;
const MAX_PAGE = 200;
/** Longest `before` of the invite list, in UTF-16 units: longer than any invite id. */
const MAX_BEFORE = 64;

/** What the registration routes need. */
export interface ApiRegistrationDeps {
  readonly config: Config;
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly registration: Registration;
  /** The caller as a server admin, or AUTH_REQUIRED / AUTH_ADMIN_ONLY / AUTH_ACCOUNTS_ONLY. */
  readonly requireAdmin: (req: IncomingMessage) => Promise<Identity>;
}

/**
 * Who may register (docs/api.md, Registration): the mode an admin sets at runtime, invite
 * links, and accounts an admin makes; the registration itself is `POST /api/v1/users`
 * (api.ts). Admins only, accounts mode only; every change is audited in its transaction.
 */
export class ApiRegistration {
  constructor(private readonly deps: ApiRegistrationDeps) {}

  /** `GET /api/v1/admin/registration`: the mode in force, the flag's and the stored one. */
  readonly mode: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    sendJson(res, 200, await this.deps.registration.modes());
  };

  /** `PUT /api/v1/admin/registration {mode, reason?}`: stores the mode (wins over the flag). */
  readonly setMode: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    const body = await readJson(req, res, MAX_BODY_BYTES);
    // Again once the body is in: a demotion meanwhile holds (ApiAdmin.requireAdmin).
    const { nick } = await this.deps.requireAdmin(req);
    const mode = parseRegistrationMode(body.mode);
    await this.deps.registration.setMode(nick, mode, parseReason(body.reason, false));
    sendJson(res, 200, await this.deps.registration.modes());
  };

  /** `POST /api/v1/admin/invites {maxUses?, expiresInHours?}`: a new invite link, shown once. */
  readonly createInvite: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    const body = await readJson(req, res, MAX_BODY_BYTES);
    // Again once the body is in: a demotion meanwhile holds (ApiAdmin.requireAdmin).
    const { nick } = await this.deps.requireAdmin(req);
    const { invite, code } = await this.deps.registration.createInvite(
      nick,
      body.maxUses,
      body.expiresInHours,
    );
    const made: ApiNewInvite = { ...inviteInfo(invite), code, url: this.inviteUrl(req, code) };
    sendJson(res, 201, made);
  };

  /** `GET /api/v1/admin/invites?before=&limit=`: invites newest first, without their codes. */
  readonly invites: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const before = query.get('before') ?? undefined;
    const rawLimit = query.get('limit');
    const limit = rawLimit === null ? DEFAULT_PAGE : Number(rawLimit);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new ChatError('API_QUERY_INVALID', `limit must be 1 to ${MAX_PAGE}`);
    }
    if (before !== undefined && before.length > MAX_BEFORE) {
      throw new ChatError('API_QUERY_INVALID', `before is at most ${MAX_BEFORE} characters`);
    }
    const page = await this.deps.registration.invites(before, limit);
    const answer: ApiInvitePage = { invites: page.invites.map(inviteInfo), next: page.next };
    sendJson(res, 200, answer);
  };

  /** `GET /api/v1/admin/invites/<id>`: an invite and who registered with it, oldest first. */
  readonly invite: Handler = async (req, res, params) => {
    const id = decodeSegment(params.id ?? '');
    await this.deps.requireAdmin(req);
    const { invite, usedBy } = await this.deps.registration.invite(id);
    const answer: ApiInviteDetail = { ...inviteInfo(invite), usedBy };
    sendJson(res, 200, answer);
  };

  /** `DELETE /api/v1/admin/invites/<id> {reason?}`: revokes an invite (it stays listed). */
  readonly revokeInvite: Handler = async (req, res, params) => {
    const id = decodeSegment(params.id ?? '');
    await this.deps.requireAdmin(req);
    const body = await optionalBody(req, res);
    const { nick } = await this.deps.requireAdmin(req);
    const reason = parseReason(body.reason, false);
    const invite = await this.deps.registration.revoke(nick, id, reason);
    sendJson(res, 200, inviteInfo(invite));
  };

  /**
   * `POST /api/v1/admin/users {nick, password, admin?, reason?}`: makes an account in any
   * registration mode, audited 'user.create' in the same transaction. Nobody is signed in.
   */
  readonly createUser: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    const body = await readJson(req, res, MAX_BODY_BYTES);
    const identity = await this.deps.requireAdmin(req);
    const nick = this.deps.chat.parseNick(stringField(body, 'nick'));
    if (body.admin !== undefined && typeof body.admin !== 'boolean') {
      throw new ChatError('API_BODY_INVALID', '"admin" must be true or false');
    }
    const admin = body.admin === true;
    const reason = parseReason(body.reason, false);
    await this.deps.auth.createAccount(nick, body.password, {
      admin,
      audit: this.deps.registration.audit(identity.nick, 'user.create', reason, { admin }, nick),
    });
    sendJson(res, 201, { user: nick, admin });
  };

  /** `<origin>/?invite=<code>`: the page opens its sign-up form with the invite. */
  private inviteUrl(req: IncomingMessage, code: string): string {
    const path = `/?invite=${code}`;
    const host = req.headers.host;
    const scheme = requestScheme(req, this.deps.config.trustProxy === 'yes');
    if (host === undefined || !URL.canParse(`${scheme}://${host}`)) return path;
    return `${new URL(`${scheme}://${host}`).origin}${path}`;
  }
}

/** An invite as the API shows it: never its code or its hash. */
function inviteInfo(invite: InviteView): ApiInvite {
  const { id, createdBy, created, expires, maxUses, uses, revoked, status } = invite;
  return { id, createdBy, created, expires, maxUses, uses, revoked, status };
}

/** A JSON body when the request has one; `{}` for a request without a body (a bare DELETE). */
function optionalBody(req: IncomingMessage, res: ServerResponse): Promise<JsonBody> {
  const length = req.headers['content-length'];
  const none =
    req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
  return none ? Promise.resolve({}) : readJson(req, res, MAX_BODY_BYTES);
}
