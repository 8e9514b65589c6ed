import { RateLimiter } from '../auth/rate-limit.js';
import type { Config } from '../config.js';
import type { ChatBlocks } from '../core/chat-blocks.js';
import { ChatError } from '../domain/errors.js';
import type { Admission } from './admission.js';
import { decodeSegment } from './api-paths.js';
import type { Auth } from './auth.js';
import { sendEmpty, sendJson } from './reply.js';
import type { Handler } from './router.js';

/**
 * Blocks and unblocks each user may make per minute: each is a Store write, so this bounds
 * what one client can make the server write (the list itself is bounded by
 * MAX_BLOCKS_PER_USER).
 */
const CHANGES = { limit: 60, windowMs: 60_000, maxKeys: 100_000 };

/** What the block routes need from the JSON API. */
export interface ApiBlocksDeps {
  readonly config: Config;
  readonly blocks: ChatBlocks;
  readonly auth: Auth;
  readonly admission: Admission;
}

/**
 * `/api/v1/blocks` and `/api/v1/blocks/<nick>` (docs/api.md, Blocks): the caller's blocks.
 * Accounts mode only (AUTH_ACCOUNTS_ONLY, 404): in open mode a nick is only a claim, so a
 * block would bind whoever claims it next.
 */
export class ApiBlocks {
  private readonly changes = new RateLimiter(CHANGES);

  constructor(private readonly deps: ApiBlocksDeps) {}

  /** `GET /api/v1/blocks`: `{blocks: [{nick, since}]}`, oldest block first. */
  readonly list: Handler = async (req, res) => {
    const nick = await this.caller(req);
    sendJson(res, 200, { blocks: await this.deps.blocks.list(nick) });
  };

  /** `PUT /api/v1/blocks/<nick>`: blocks a user (idempotent) → `{nick, since}`. */
  readonly block: Handler = async (req, res, params) => {
    const nick = await this.change(req);
    const block = await this.deps.blocks.block(nick, decodeSegment(params.nick ?? ''));
    sendJson(res, 200, block);
  };

  /** `DELETE /api/v1/blocks/<nick>`: lifts a block (204 whether there was one or not). */
  readonly unblock: Handler = async (req, res, params) => {
    const nick = await this.change(req);
    await this.deps.blocks.unblock(nick, decodeSegment(params.nick ?? ''));
    sendEmpty(res, 204);
  };

  private async caller(req: Parameters<Handler>[0]): Promise<string> {
    const { nick } = await this.deps.auth.require(req);
    if (this.deps.config.auth !== 'accounts') throw new ChatError('AUTH_ACCOUNTS_ONLY');
    return nick;
  }

  private async change(req: Parameters<Handler>[0]): Promise<string> {
    const nick = await this.caller(req);
    const wait = this.changes.hit(nick);
    if (wait > 0) throw new ChatError('CHAT_RATE_LIMITED', 'blocks', wait);
    return nick;
  }
}
