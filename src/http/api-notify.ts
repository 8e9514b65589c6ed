import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimiter } from '../auth/rate-limit.js';
import type { ChatNotify } from '../core/chat-notify.js';
import { ChatError } from '../domain/errors.js';
import type { Admission } from './admission.js';
import type { Auth } from './auth.js';
import { type JsonBody, stringField } from './body.js';
import { sendEmpty, sendJson } from './reply.js';
import type { Handler } from './router.js';

/** What the notification routes need from the JSON API. */
export interface ApiNotifyDeps {
  readonly notify: ChatNotify;
  readonly auth: Auth;
  readonly admission: Admission;
  /** Reads the request's JSON body within the API's size bound. */
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
}

/**
 * Changes of one's own notification state each user may make per minute: read markers,
 * levels and attention reports together. Each is a Store write (and a row per conversation
 * named), so this bounds what one client can make the server write and keep. A page sends a
 * marker per conversation it reads (throttled to one per few seconds) and an attention
 * report every 25 s per tab. "Each user" is Admission.userKey, as for read receipts.
 */
const CHANGES = { limit: 240, windowMs: 60_000, maxKeys: 100_000 };

/**
 * `/api/v1/unread`, `/api/v1/markers`, `/api/v1/notify` and `/api/v1/attention`
 * (docs/api.md, Notifications): a user's read markers, unread counts, notification levels
 * and whether they are looking, one handler per route of routes.ts.
 */
export class ApiNotify {
  private readonly changes = new RateLimiter(CHANGES);

  constructor(private readonly deps: ApiNotifyDeps) {}

  /** `GET /api/v1/unread`: unread counts by conversation. */
  readonly unread: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    sendJson(res, 200, { unread: await this.deps.notify.unread(nick) });
  };

  /** `PUT /api/v1/markers`: moves the caller's read marker in a conversation forward. */
  readonly marker: Handler = async (req, res) => {
    const nick = await this.change(req);
    const body = await this.deps.body(req, res);
    const conversation = stringField(body, 'with');
    const marker = await this.deps.notify.setMarker(nick, conversation, body.upTo);
    sendJson(res, 200, { with: conversation, marker });
  };

  /** `GET /api/v1/notify`: the caller's levels, the defaults and push settings. */
  readonly settings: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    sendJson(res, 200, await this.deps.notify.settings(nick));
  };

  /** `PUT /api/v1/notify`: `{with, level}` sets a level, `{hideText}` the lock screen's. */
  readonly setSettings: Handler = async (req, res) => {
    const nick = await this.change(req);
    const body = await this.deps.body(req, res);
    if ('hideText' in body && !('with' in body)) {
      const hideText = await this.deps.notify.setHideText(nick, body.hideText);
      sendJson(res, 200, { hideText });
      return;
    }
    const conversation = stringField(body, 'with');
    if (!('level' in body)) throw new ChatError('CHAT_MESSAGE_MALFORMED', '"level" is missing');
    const level = await this.deps.notify.setLevel(nick, conversation, body.level);
    sendJson(res, 200, { with: conversation, level });
  };

  /**
   * `PUT /api/v1/attention` (and POST, for `navigator.sendBeacon` as a page closes): whether
   * one of the caller's browsers is being looked at.
   */
  readonly attention: Handler = async (req, res) => {
    const nick = await this.change(req);
    const body = await this.deps.body(req, res);
    await this.deps.notify.attention(nick, body.client, body.visible);
    sendEmpty(res, 204);
  };

  /** The caller, once they may change their state now (flood guard, then CHANGES). */
  private async change(req: IncomingMessage): Promise<string> {
    const { nick } = await this.deps.auth.require(req);
    const wait = this.changes.hit(this.deps.admission.userKey(req, nick));
    if (wait > 0) throw new ChatError('CHAT_RATE_LIMITED', 'notification changes', wait);
    return nick;
  }
}
