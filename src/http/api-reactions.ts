import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatService } from '../core/chat.js';
import type { Admission } from './admission.js';
import { decodeSegment, messageId } from './api-paths.js';
import type { ApiReactions as ApiReactionsBody } from './api-types.js';
import type { Auth } from './auth.js';
import { sendJson } from './reply.js';
import type { Handler, RouteParams } from './router.js';

/** What the reaction routes need from the JSON API. */
export interface ApiReactionsDeps {
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly admission: Admission;
}

/**
 * `PUT` and `DELETE /api/v1/messages/<id>/reactions/<emoji>` (docs/api.md, Reactions): the
 * caller adds or takes back their reaction, and gets the message's reactions after it. Both
 * are idempotent; each request counts as a send (Admission.send), as an edit does.
 */
export class ApiReactions {
  constructor(private readonly deps: ApiReactionsDeps) {}

  /** `PUT /api/v1/messages/<id>/reactions/<emoji>`: adds the caller's reaction. */
  readonly add: Handler = (req, res, params) => this.react(req, res, params, true);

  /** `DELETE /api/v1/messages/<id>/reactions/<emoji>`: takes the caller's reaction back. */
  readonly remove: Handler = (req, res, params) => this.react(req, res, params, false);

  private async react(
    req: IncomingMessage,
    res: ServerResponse,
    params: RouteParams,
    on: boolean,
  ): Promise<void> {
    const id = decodeSegment(params.id ?? '');
    // The emoji arrives percent-encoded (UTF-8); parseEmoji (in ChatReactions) checks it.
    const emoji = decodeSegment(params.emoji ?? '');
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const message = messageId(id);
    const { reactions } = await this.deps.chat.react(nick, message, emoji, on);
    const body: ApiReactionsBody = { message, reactions };
    sendJson(res, 200, body);
  }
}
