import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatService } from '../core/chat.js';
import { parseReason } from '../domain/audit.js';
import { ChatError } from '../domain/errors.js';
import {
  type AddressBan,
  MAX_SANCTION_MINUTES,
  parseAddress,
  parseMinutes,
  sanctionView,
} from '../domain/sanctions.js';
import type { AddressBans } from './address-bans.js';
import type { Admission } from './admission.js';
import { decodeSegment } from './api-paths.js';
import type { Auth, Identity } from './auth.js';
import { type JsonBody, stringField } from './body.js';
import { sendEmpty, sendJson } from './reply.js';
import type { Handler, RouteParams } from './router.js';

/** What the sanction routes need from the JSON API. */
export interface ApiSanctionsDeps {
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly admission: Admission;
  /** The signed-in server admin, or AUTH_REQUIRED / AUTH_ADMIN_ONLY / AUTH_ACCOUNTS_ONLY. */
  readonly requireAdmin: (req: IncomingMessage) => Promise<Identity>;
  /** This process's copy of the address bans: re-read at once after a change here. */
  readonly addressBans?: AddressBans;
  /** Reads the request's JSON body within the API's size bound. */
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
}

/**
 * Bans, mutes, kicks and address bans (docs/api.md, Moderation): `/api/v1/admin/users/<nick>/
 * ban` and `/mute`, `/api/v1/admin/addresses`, and `/api/v1/rooms/<name>/kick`. The rules are
 * core/sanctions.ts'; this is the door.
 */
export class ApiSanctions {
  constructor(private readonly deps: ApiSanctionsDeps) {}

  /** `POST /api/v1/admin/users/<nick>/ban {reason, deleteMessages?, minutes?}` → 201 status. */
  readonly ban: Handler = async (req, res, params) => {
    await this.deps.requireAdmin(req);
    const body = await this.deps.body(req, res);
    const { nick: by } = await this.deps.requireAdmin(req);
    const reason = parseReason(body.reason, true);
    const deleteMessages = body.deleteMessages;
    if (deleteMessages !== undefined && typeof deleteMessages !== 'boolean') {
      throw new ChatError('API_BODY_INVALID', '"deleteMessages" must be true or false');
    }
    const minutes = parseMinutes(body.minutes, true);
    const nick = nickOf(params);
    const status = await this.deps.chat.sanctions.ban(by, nick, {
      reason,
      deleteMessages,
      ...(minutes !== undefined && { minutes }),
    });
    sendJson(res, 201, { nick: await this.canonical(nick), ...status });
  };

  /** `DELETE /api/v1/admin/users/<nick>/ban {reason?}` → 204. */
  readonly unban: Handler = async (req, res, params) => {
    await this.deps.requireAdmin(req);
    const reason = parseReason((await this.optionalBody(req, res)).reason, false);
    const { nick: by } = await this.deps.requireAdmin(req);
    await this.deps.chat.sanctions.unban(by, nickOf(params), { reason });
    sendEmpty(res, 204);
  };

  /** `POST /api/v1/admin/users/<nick>/mute {reason, minutes}` → 201 status. */
  readonly mute: Handler = async (req, res, params) => {
    await this.deps.requireAdmin(req);
    const body = await this.deps.body(req, res);
    const { nick: by } = await this.deps.requireAdmin(req);
    const reason = parseReason(body.reason, true);
    const minutes = parseMinutes(body.minutes, false) ?? MAX_SANCTION_MINUTES;
    const nick = nickOf(params);
    const status = await this.deps.chat.sanctions.mute(by, nick, { reason, minutes });
    sendJson(res, 201, { nick: await this.canonical(nick), ...status });
  };

  /** `DELETE /api/v1/admin/users/<nick>/mute {reason?}` → 204. */
  readonly unmute: Handler = async (req, res, params) => {
    await this.deps.requireAdmin(req);
    const reason = parseReason((await this.optionalBody(req, res)).reason, false);
    const { nick: by } = await this.deps.requireAdmin(req);
    await this.deps.chat.sanctions.unmute(by, nickOf(params), { reason });
    sendEmpty(res, 204);
  };

  /** `GET /api/v1/admin/addresses`: the address bans in force, oldest first. */
  readonly addresses: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    const bans = await this.deps.chat.sanctions.addressBans();
    sendJson(res, 200, { bans: bans.map(addressView) });
  };

  /** `POST /api/v1/admin/addresses {address, reason, minutes?}` → 201 the ban. */
  readonly banAddress: Handler = async (req, res) => {
    await this.deps.requireAdmin(req);
    const body = await this.deps.body(req, res);
    const { nick: by } = await this.deps.requireAdmin(req);
    const prefix = parseAddress(body.address);
    const reason = parseReason(body.reason, true);
    const minutes = parseMinutes(body.minutes, true);
    const ban = await this.deps.chat.sanctions.banAddress(by, prefix, { reason, minutes });
    await this.deps.addressBans?.reload();
    sendJson(res, 201, addressView(ban));
  };

  /** `DELETE /api/v1/admin/addresses/<id> {reason?}` → 204. */
  readonly unbanAddress: Handler = async (req, res, params) => {
    await this.deps.requireAdmin(req);
    const id = Number(decodeSegment(params.id ?? ''));
    if (!Number.isSafeInteger(id) || id < 1) throw new ChatError('MOD_SANCTION_NOT_FOUND');
    const reason = parseReason((await this.optionalBody(req, res)).reason, false);
    const { nick: by } = await this.deps.requireAdmin(req);
    const lifted = await this.deps.chat.sanctions.unbanAddress(by, { id }, { reason });
    if (lifted.length === 0) throw new ChatError('MOD_SANCTION_NOT_FOUND');
    await this.deps.addressBans?.reload();
    sendEmpty(res, 204);
  };

  /**
   * `POST /api/v1/rooms/<name>/kick {nick, reason}`: removes a member, by the room's rules
   * (owners and moderators; server admins act as owners), audited as a kick.
   */
  readonly kick: Handler = async (req, res, params) => {
    const { nick: by } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, by);
    const body = await this.deps.body(req, res);
    const target = stringField(body, 'nick');
    const reason = parseReason(body.reason, true);
    const room = `#${decodeSegment(params.name ?? '')}`;
    const change = await this.deps.chat.sanctions.kick(by, room, target, { reason });
    sendJson(res, 200, { id: change?.id ?? null });
  };

  /** The account's nick as registered (the path may name it in another letter case). */
  private async canonical(nick: string): Promise<string> {
    return (await this.deps.chat.sanctions.canonical(nick)) ?? nick;
  }

  /** A DELETE's body: optional (none, or an empty one, is `{}`). */
  private async optionalBody(req: IncomingMessage, res: ServerResponse): Promise<JsonBody> {
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (!chunked && (length === undefined || length === '0')) return {};
    return this.deps.body(req, res);
  }
}

function nickOf(params: RouteParams): string {
  return decodeSegment(params.nick ?? '');
}

/** An address ban as the API shows it: `until` null when it lasts until lifted. */
function addressView(ban: AddressBan) {
  return { id: ban.id, prefix: ban.prefix, ...sanctionView(ban) };
}
