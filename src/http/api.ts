import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimiter } from '../auth/rate-limit.js';
import type { Registration } from '../auth/registration.js';
import { MAX_TOKENS_PER_USER } from '../auth/users.js';
import type { Config } from '../config.js';
import type { ChatService } from '../core/chat.js';
import type { ChatNotify } from '../core/chat-notify.js';
import type { Profiles } from '../core/profiles.js';
import type { Resume } from '../core/resume.js';
import { ChatError } from '../domain/errors.js';
import { type EventId, MAX_ATTACHMENTS } from '../domain/events.js';
import type { Logger } from '../logger.js';
import type { MessageRate } from '../ops/message-rate.js';
import type { Readiness } from '../ops/readiness.js';
import type { Stats } from '../ops/stats.js';
import type { PushSubscriptions } from '../outbound/push/subscriptions.js';
import type { Credential } from '../store/accounts.js';
import type { RosterStore } from '../store/roster-store.js';
import type { Uploads } from '../uploads/uploads.js';
import type { AddressBans } from './address-bans.js';
import type { Admission } from './admission.js';
import { ApiAccount } from './api-account.js';
import { ApiAdmin } from './api-admin.js';
import { ApiAdminView } from './api-admin-view.js';
import { ApiBlocks } from './api-blocks.js';
import { ApiNotify } from './api-notify.js';
import { decodeSegment, messageId } from './api-paths.js';
import { ApiProfiles } from './api-profiles.js';
import { ApiPush } from './api-push.js';
import { ApiReactions } from './api-reactions.js';
import { ApiReading } from './api-reading.js';
import { ApiRegistration } from './api-registration.js';
import { ApiReports } from './api-reports.js';
import { ApiRooms } from './api-rooms.js';
import { ApiSanctions } from './api-sanctions.js';
import { ApiStream } from './api-stream.js';
import type { ApiSession } from './api-types.js';
import { ApiUploads } from './api-uploads.js';
import { type Auth, type Identity, TICKET_TTL_MS } from './auth.js';
import { hasBody, type JsonBody, optionalString, readJson, stringField } from './body.js';
import { requireOwnConnection } from './open-stream.js';
import { sendEmpty, sendJson } from './reply.js';
import { requestUser } from './request-context.js';
import type { Handler } from './router.js';
import type { NodeStreams } from './sse/node-transport.js';

/**
 * Read receipts each user may send per minute. Each is stored and delivered, so this bounds
 * what one client can make the server write; a client needs one per conversation it reads.
 * "Each user" is Admission.userKey: in open mode the nick as claimed from one address (the
 * address itself is limited first, by the send flood guard), so nobody can use up another's.
 */
const RECEIPTS = { limit: 120, windowMs: 60_000, maxKeys: 100_000 };

/** What the JSON API needs from the composition root. */
export interface ApiDeps {
  readonly config: Config;
  readonly chat: ChatService;
  /** Read markers, unread counts, notification levels, attention. */
  readonly notify: ChatNotify;
  readonly auth: Auth;
  readonly resume: Resume;
  readonly logger: Logger;
  readonly admission: Admission;
  /** Counts accepted messages and receipts (the stream adds its own counts). */
  readonly stats: Stats;
  /** The node:http side of the server's streams. */
  readonly streams: NodeStreams;
  /** Web Push: the VAPID key and the browsers' subscriptions. */
  readonly push: PushSubscriptions;
  /** Uploaded files (uploads/uploads.ts). */
  readonly uploads: Uploads;
  /** Display names, avatars and the directory (core/profiles.ts). */
  readonly profiles: Profiles;
  /** This process's copy of the address bans (address-bans.ts). */
  readonly addressBans?: AddressBans;
  /** What the admins' health view reports (readiness of the store and bus). */
  readonly readiness: Pick<Readiness, 'check'>;
  /** Admins' view of accounts (store/roster-store.ts). */
  readonly roster: RosterStore;
  /** Messages accepted in the last minute. */
  readonly rate: MessageRate;
  /** When this process started, ms since the epoch. */
  readonly started: number;
  /** Who may register: the mode and the invite links (auth/registration.ts). */
  readonly registration: Registration;
}

/**
 * The JSON API under `/api/v1` (docs/api.md), a thin front door onto the chat service like
 * the classic protocol: one handler per route of routes.ts (the room routes are ApiRooms').
 * Every error is `{"error": {"code", "message"}}` via reply.ts.
 */
export class Api {
  private readonly stream: ApiStream;
  /** History pages and search (`GET /api/v1/messages`, `/api/v1/search`). */
  readonly reading: ApiReading;
  /** The handlers of `/api/v1/rooms` and below. */
  readonly rooms: ApiRooms;
  /** The handlers of `/api/v1/blocks` and `/api/v1/blocks/:nick`. */
  readonly blocks: ApiBlocks;
  /** The handlers of `/api/v1/unread`, `/markers`, `/notify` and `/attention`. */
  readonly notify: ApiNotify;
  /** The handlers of `/api/v1/account` and below. */
  readonly account: ApiAccount;
  /** The handlers of `/api/v1/admin` and below (server admins). */
  readonly admin: ApiAdmin;
  /** The handlers of `/api/v1/push/…`. */
  readonly push: ApiPush;
  /** The handlers of `/api/v1/uploads` and below. */
  readonly files: ApiUploads;
  /** The handlers of `/api/v1/users` (but its POST) and below, and `/api/v1/server`. */
  readonly people: ApiProfiles;
  /** The handlers of `/api/v1/messages/<id>/reactions/<emoji>`. */
  readonly reactions: ApiReactions;
  /** Bans, mutes, kicks and address bans (api-sanctions.ts). */
  readonly sanctions: ApiSanctions;
  /** The handlers of `/api/v1/reports` and below, and of a message's `/report`. */
  readonly reports: ApiReports;
  /** `GET /api/v1/admin/health` and `GET /api/v1/admin/users`. */
  readonly adminView: ApiAdminView;
  /** The handlers of `/api/v1/admin/registration`, `/admin/invites` and POST `/admin/users`. */
  readonly registration: ApiRegistration;
  private readonly receipts = new RateLimiter(RECEIPTS);
  /** Largest JSON body: the longest message, each character escaped at worst, plus slack. */
  private readonly maxBodyBytes: number;

  constructor(private readonly deps: ApiDeps) {
    const { config, chat, logger, resume, admission, stats } = deps;
    this.maxBodyBytes = 16_384 + 12 * config.maxMessageLength;
    this.stream = new ApiStream({
      chat,
      resume,
      logger,
      maxQueueBytes: config.maxQueueBytes,
      admission,
      graceMs: config.presenceGraceMs,
      heartbeatMs: config.heartbeatMs,
      crowd: config.bigRoomMembers,
      stats,
      streams: deps.streams,
    });
    this.reading = new ApiReading({
      chat: deps.chat,
      auth: deps.auth,
      admission: deps.admission,
    });
    this.reactions = new ApiReactions({ chat, auth: deps.auth, admission });
    this.reports = new ApiReports({
      chat,
      auth: deps.auth,
      admission,
      body: (req, res) => this.body(req, res),
      accounts: config.auth === 'accounts',
    });
    this.rooms = new ApiRooms({
      chat,
      auth: deps.auth,
      admission,
      body: (req, res) => this.body(req, res),
    });
    this.blocks = new ApiBlocks({ config, blocks: chat.blocks, auth: deps.auth, admission });
    this.notify = new ApiNotify({
      notify: deps.notify,
      auth: deps.auth,
      admission,
      body: (req, res) => this.body(req, res),
    });
    this.files = new ApiUploads({
      uploads: deps.uploads,
      auth: deps.auth,
      admission,
      maxBytes: config.maxUploadBytes,
    });
    this.registration = new ApiRegistration({
      config,
      chat,
      auth: deps.auth,
      registration: deps.registration,
      requireAdmin: (req) => this.admin.requireAdmin(req),
    });
    this.people = new ApiProfiles({
      config,
      registration: deps.registration,
      profiles: deps.profiles,
      uploads: deps.uploads,
      auth: deps.auth,
      admission,
      body: (req, res) => this.body(req, res),
      requireUnmuted: (nick) => chat.sanctions.requireUnmuted(nick),
    });
    this.account = new ApiAccount({
      chat,
      auth: deps.auth,
      logger,
      body: (req, res) => this.body(req, res),
    });
    this.admin = new ApiAdmin({
      chat,
      auth: deps.auth,
      body: (req, res) => this.body(req, res),
    });
    this.sanctions = new ApiSanctions({
      chat,
      auth: deps.auth,
      admission,
      requireAdmin: (req) => this.admin.requireAdmin(req),
      addressBans: deps.addressBans,
      body: (req, res) => this.body(req, res),
    });
    this.adminView = new ApiAdminView({
      requireAdmin: (req) => this.admin.requireAdmin(req),
      chat,
      profiles: deps.profiles,
      roster: deps.roster,
      stats,
      rate: deps.rate,
      readiness: deps.readiness,
      started: deps.started,
    });
    this.push = new ApiPush({
      push: deps.push,
      auth: deps.auth,
      admission,
      body: (req, res) => this.body(req, res),
    });
  }

  /**
   * `POST /api/v1/users {nick, password, invite?}`: registers an account (accounts mode) and
   * logs it in, if the registration mode lets it (invite mode: with a valid invite code).
   */
  readonly register: Handler = async (req, res) => {
    const body = await this.body(req, res);
    const nick = this.deps.chat.parseNick(stringField(body, 'nick'));
    const { registration } = this.deps;
    const gate = registration.gate(body.invite);
    await this.deps.auth.register(req, res, nick, body.password, gate, () =>
      registration.admits(gate),
    );
    sendJson(res, 201, { user: nick });
  };

  /** `GET /api/v1/session`: who the caller is. */
  readonly whoami: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    sendJson(res, 200, await this.session(nick));
  };

  /** `POST /api/v1/session`: logs in and sets the session cookie. */
  readonly login: Handler = async (req, res) => {
    const body = await this.body(req, res);
    const nick = this.deps.chat.parseNick(stringField(body, 'nick'));
    const user = await this.deps.auth.login(req, res, nick, body.password);
    sendJson(res, 201, await this.session(user));
  };

  /**
   * What GET and POST /session answer: the user, whether they are a server admin, the
   * server's mode and text limit, and their mute while they are muted.
   */
  private async session(nick: string): Promise<ApiSession> {
    const { auth, maxMessageLength } = this.deps.config;
    const admin = await this.deps.chat.admins.isAdmin(nick);
    const mute = auth === 'accounts' ? await this.deps.chat.sanctions.muted(nick) : undefined;
    return {
      user: nick,
      auth,
      maxMessageLength,
      ...(admin && { admin: true as const }),
      ...(mute && { muted: { until: mute.until, reason: mute.reason } }),
    };
  }

  /**
   * `DELETE /api/v1/session`: ends the session, the streams it opened and the push
   * subscriptions it made (a browser logged out hears nothing more of this user).
   */
  readonly logout: Handler = async (req, res) => {
    const identity = await this.deps.auth.require(req);
    await this.deps.auth.logout(req, res, identity);
    const id = identity.credential.id;
    this.deps.chat.endStreams(identity.nick, (sub) => sub.credential === id);
    await this.deps.push.dropSession(id);
    sendEmpty(res, 204);
  };

  /**
   * `POST /api/v1/password`: changes the password and ends the user's other sessions, with
   * their streams and push subscriptions.
   */
  readonly changePassword: Handler = async (req, res) => {
    const identity = await this.deps.auth.require(req);
    const body = await this.body(req, res);
    await this.deps.auth.changePassword(req, identity, body.current, body.password);
    const id = identity.credential.id;
    this.deps.chat.endStreams(identity.nick, (sub) => sub.credential !== id);
    await this.deps.push.keepOnly(identity.nick, id);
    sendEmpty(res, 204);
  };

  /** `GET /api/v1/tokens`: the caller's tokens, without their secrets. */
  readonly listTokens: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    const tokens = await this.deps.auth.tokens(nick);
    // In open mode a nick's tokens are not capped (anyone may make them, from anywhere; see
    // claimed-limit.ts): the list shows the newest MAX_TOKENS_PER_USER, as many as an account
    // may hold.
    sendJson(res, 200, { tokens: tokens.slice(-MAX_TOKENS_PER_USER).map(tokenInfo) });
  };

  /** `POST /api/v1/tokens`: a new bearer token, shown this once. */
  readonly createToken: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    const body = await this.body(req, res);
    const { token, credential } = await this.deps.auth.createToken(req, nick, body.label);
    sendJson(res, 201, { ...tokenInfo(credential), token });
  };

  /** `DELETE /api/v1/tokens/<id>`: revokes a token, its streams and its push subscriptions. */
  readonly revokeToken: Handler = async (req, res, params) => {
    const id = decodeSegment(params.id ?? '');
    const { nick } = await this.deps.auth.require(req);
    if (!(await this.deps.auth.revoke(nick, id))) throw new ChatError('HTTP_NOT_FOUND');
    this.deps.chat.endStreams(nick, (sub) => sub.credential === id);
    await this.deps.push.dropSession(id);
    sendEmpty(res, 204);
  };

  /** `POST /api/v1/tickets`: a single-use stream ticket. */
  readonly createTicket: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    const ticket = await this.deps.auth.createTicket(req, nick);
    sendJson(res, 201, { ticket, expiresInMs: TICKET_TTL_MS });
  };

  /**
   * `POST /api/v1/messages`: stores and sends a message. Its text may be empty or blank only
   * when it carries attachments (CHAT_TEXT_EMPTY).
   */
  readonly send: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const body = await this.body(req, res);
    const to = stringField(body, 'to');
    const text = stringField(body, 'text');
    const clientId = optionalString(body, 'clientId');
    const attach = attachmentIds(body);
    // An empty bubble is nobody's message; the classic protocol keeps allowing one (the seed did).
    if (attach.length === 0 && text.trim() === '') throw new ChatError('CHAT_TEXT_EMPTY');
    const replyTo = replyId(body);
    const { message, created } = await this.deps.chat.send(
      nick,
      to,
      text,
      clientId,
      true,
      attach,
      replyTo,
    );
    if (created) this.deps.stats.messagesIn.api++;
    else res.setHeader('Idempotent-Replayed', 'true');
    sendJson(res, 201, { id: message.id, ts: message.ts });
  };

  /** `PATCH /api/v1/messages/<id>`: edits the caller's own message. */
  readonly edit: Handler = async (req, res, params) => {
    const arg = decodeSegment(params.id ?? '');
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const text = stringField(await this.body(req, res), 'text');
    const edit = await this.deps.chat.edit(nick, messageId(arg), text);
    sendJson(res, 200, { id: edit.id });
  };

  /** `DELETE /api/v1/messages/<id>`: deletes a message. */
  readonly delete: Handler = async (req, res, params) => {
    const arg = decodeSegment(params.id ?? '');
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const body = hasBody(req) ? await this.body(req, res) : {};
    const del = await this.deps.chat.delete(nick, messageId(arg), body.reason);
    sendJson(res, 200, { id: del.id });
  };

  /** `POST /api/v1/typing`: tells a conversation that the caller is typing. */
  readonly typing: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    await this.deps.chat.typing(nick, stringField(await this.body(req, res), 'to'));
    sendJson(res, 202, {});
  };

  /** `GET /api/v1/events`: opens the event stream. */
  readonly events: Handler = async (req, res) => {
    requireOwnConnection(res);
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const identity = await this.streamIdentity(req, query);
    await this.deps.admission.connect(req, identity.nick);
    const header = req.headers['last-event-id'];
    const lastEventId =
      typeof header === 'string' ? header : (query.get('lastEventId') ?? undefined);
    this.stream.open(req, res, identity, lastEventId);
  };

  /** `GET /api/v1/presence`: who is online. */
  readonly presence: Handler = async (req, res) => {
    await this.deps.auth.require(req);
    sendJson(res, 200, { online: await this.deps.chat.online() });
  };

  /** `POST /api/v1/read`: a read receipt. */
  readonly read: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    const body = await this.body(req, res);
    const upTo = body.upTo;
    if (typeof upTo !== 'number' || !Number.isSafeInteger(upTo) || upTo < 1) {
      throw new ChatError('CHAT_RECEIPT_INVALID');
    }
    await this.deps.admission.send(req, nick);
    const wait = this.receipts.hit(this.deps.admission.userKey(req, nick));
    if (wait > 0) throw new ChatError('CHAT_RATE_LIMITED', 'read receipts', wait);
    const receipt = await this.deps.chat.markRead(nick, upTo);
    if (receipt) this.deps.stats.receipts++;
    sendJson(res, 201, { id: receipt?.id ?? null });
  };

  /** The identity of a stream request: a `?ticket=`, or a session or token. */
  async streamIdentity(req: IncomingMessage, query: URLSearchParams): Promise<Identity> {
    const ticket = query.get('ticket');
    if (ticket !== null) return this.deps.auth.redeemTicket(ticket);
    return this.deps.auth.require(req);
  }

  private async body(req: IncomingMessage, res: ServerResponse): Promise<JsonBody> {
    const body = await readJson(req, res, this.maxBodyBytes);
    await this.stillSignedIn(req);
    return body;
  }

  /**
   * AUTH_REQUIRED when the request was signed in before its body arrived and its credential
   * is gone now. A handler reads the identity first and the body after: a client could
   * otherwise open requests, hold their bodies back across a ban (or a logout, a password
   * change, an account deletion) and finish them after it, acting as the ended user. An
   * ended user's cached credentials are dropped on every process (ChatService.onEnded), so
   * this reads the Store then; otherwise it is the credential cache's lookup.
   */
  private async stillSignedIn(req: IncomingMessage): Promise<void> {
    if (!this.deps.auth.accountsMode || requestUser(req) === undefined) return;
    if (!(await this.deps.auth.identify(req))) throw new ChatError('AUTH_REQUIRED');
  }

  /**
   * Lets the configured other origins call the API with tokens or tickets (no cookies): the
   * router's CORS hook, given the methods the request's path takes.
   */
  readonly cors = (req: IncomingMessage, res: ServerResponse, methods: string): void => {
    const origin = req.headers.origin;
    if (origin === undefined || !this.deps.config.corsOrigins.includes(origin)) return;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', methods);
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID');
      res.setHeader('Access-Control-Max-Age', '600');
    }
  };

  /**
   * Refuses a cross-site browser request that would change state (every method but GET),
   * before its handler runs (auth.ts checkSameOrigin).
   */
  readonly checkSameOrigin = (req: IncomingMessage): void => {
    if (req.method !== 'GET') this.deps.auth.checkSameOrigin(req);
  };
}

/**
 * A send's `replyTo`: the id of the message it answers, a positive safe integer (a JSON
 * number, not a string); absent or null: none. Anything else is CHAT_REPLY_INVALID.
 */
function replyId(body: JsonBody): EventId | undefined {
  const value = body.replyTo;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ChatError('CHAT_REPLY_INVALID');
  }
  return value;
}

/** The upload ids of a send's `attachments` (absent or null: none). */
function attachmentIds(body: JsonBody): string[] {
  const value = body.attachments;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) {
    throw new ChatError('API_BODY_INVALID', '"attachments" must be an array of upload ids');
  }
  if (value.length > MAX_ATTACHMENTS) {
    throw new ChatError('UPLOAD_TOO_MANY', `at most ${MAX_ATTACHMENTS}`);
  }
  return value;
}

/** A token as the API shows it: never its secret; `expires` null when it never expires. */
function tokenInfo({ id, label, created, expires }: Credential) {
  return { id, label, created, expires: expires === 0 ? null : expires };
}
