import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { RateLimiter } from '../auth/rate-limit.js';
import type { Registration } from '../auth/registration.js';
import type { Config } from '../config.js';
import { MAX_DIRECTORY_PAGE, type Profiles } from '../core/profiles.js';
import { ChatError } from '../domain/errors.js';
import { foldAscii, MAX_DISPLAY_NAME, parseDisplayName } from '../domain/profile.js';
import type { ProfileChange } from '../store/profiles-store.js';
import type { Uploads } from '../uploads/uploads.js';
import type { Admission } from './admission.js';
import { decodeSegment } from './api-paths.js';
import type { ApiServerInfo } from './api-types.js';
import { SAFE_HEADERS } from './api-uploads.js';
import type { Auth } from './auth.js';
import type { JsonBody } from './body.js';
import { sendJson } from './reply.js';
import type { Handler } from './router.js';

/**
 * Profile changes each user may make per minute: each is told to every stream of the
 * cluster (a `profile` event), so this bounds the fan-out one user can cause.
 */
const CHANGES = { limit: 10, windowMs: 60_000, maxKeys: 100_000 };
/** Directory pages when `limit` is not given. */
const DEFAULT_PAGE = 50;
/** Longest `after` of a directory query, in UTF-16 units: longer than any nick. */
const MAX_AFTER = 256;

/** What the profile routes need from the JSON API. */
export interface ApiProfilesDeps {
  readonly config: Config;
  readonly registration: Registration;
  readonly profiles: Profiles;
  readonly uploads: Uploads;
  readonly auth: Auth;
  readonly admission: Admission;
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
  /**
   * CHAT_MUTED for a muted user (core/sanctions.ts): a display name or an avatar is words
   * and pictures every user sees, which a mute takes away with sends and reactions.
   */
  readonly requireUnmuted?: (nick: string) => Promise<void>;
}

/**
 * `/api/v1/users` and below (docs/api.md, Profiles): the directory, a user's profile, its
 * change by the user themself, and the avatar's bytes. Accounts mode only: in open mode
 * nobody owns a nick, so nobody has a profile (AUTH_ACCOUNTS_ONLY, 404; a change: 403).
 */
export class ApiProfiles {
  private readonly changes = new RateLimiter(CHANGES);

  constructor(private readonly deps: ApiProfilesDeps) {}

  /**
   * `GET /api/v1/server`: the auth mode and who may register, before any sign-in (no
   * credentials needed). `registration`: whether POST /users can register at all here (accounts
   * mode, not closed); `registrationMode`: open, invite or closed (null in open auth).
   */
  readonly server: Handler = async (_req, res) => {
    const auth = this.deps.config.auth;
    const mode = auth === 'accounts' ? await this.deps.registration.mode() : null;
    const info: ApiServerInfo = {
      auth,
      registration: mode !== null && mode !== 'closed',
      registrationMode: mode,
    };
    sendJson(res, 200, info);
  };

  /** `GET /api/v1/users?q=&after=&limit=`: a page of the directory. */
  readonly directory: Handler = async (req, res) => {
    await this.deps.auth.require(req);
    this.accountsOnly();
    const { prefix, after, limit } = directoryQuery(req);
    sendJson(res, 200, await this.deps.profiles.directory(prefix, after, limit));
  };

  /** `GET /api/v1/users/<nick>`: a user's profile and presence. */
  readonly view: Handler = async (req, res, params) => {
    await this.deps.auth.require(req);
    this.accountsOnly();
    sendJson(res, 200, await this.deps.profiles.view(decodeSegment(params.nick ?? '')));
  };

  /** `PATCH /api/v1/users/<nick>`: the user changes their own display name or avatar. */
  readonly update: Handler = async (req, res, params) => {
    const { nick } = await this.deps.auth.require(req);
    const target = decodeSegment(params.nick ?? '');
    if (this.deps.config.auth !== 'accounts' || foldAscii(target) !== foldAscii(nick)) {
      throw new ChatError('CHAT_FORBIDDEN', 'you may change only your own profile');
    }
    const change = profileChange(await this.deps.body(req, res));
    await this.deps.admission.send(req, nick);
    await this.deps.requireUnmuted?.(nick);
    const wait = this.changes.hit(nick);
    if (wait > 0) throw new ChatError('CHAT_RATE_LIMITED', 'profile changes', wait);
    sendJson(res, 200, await this.deps.profiles.update(nick, change));
  };

  /** `GET /api/v1/users/<nick>/avatar`: the avatar's bytes (a WebP thumbnail). */
  readonly avatar: Handler = async (req, res, params) => {
    await this.deps.auth.require(req);
    this.accountsOnly();
    const avatar = await this.deps.profiles.avatar(decodeSegment(params.nick ?? ''));
    if (!avatar) throw new ChatError('HTTP_NOT_FOUND');
    const etag = `"${avatar.key}"`;
    // The URL carries the avatar's version (?v=), so a changed avatar is a new URL.
    const headers = { ...SAFE_HEADERS, ETag: etag };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const served = await this.deps.uploads.openKey(avatar.key);
    if (!served) throw new ChatError('HTTP_NOT_FOUND');
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'image/webp',
      'Content-Disposition': 'inline',
      'Content-Length': served.size,
    });
    if (req.method === 'HEAD') {
      served.stream.destroy();
      res.end();
      return;
    }
    await pipeline(served.stream, res).catch(() => res.destroy());
  };

  private accountsOnly(): void {
    if (this.deps.config.auth !== 'accounts') throw new ChatError('AUTH_ACCOUNTS_ONLY');
  }
}

/**
 * The `q`, `after` and `limit` of a directory request (`GET /api/v1/users`, and the admins'
 * `GET /api/v1/admin/users`), checked: API_QUERY_INVALID when out of bounds.
 */
export function directoryQuery(req: IncomingMessage): {
  prefix: string;
  after: string;
  limit: number;
} {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const prefix = (query.get('q') ?? '').normalize('NFC').trim();
  const after = query.get('after') ?? '';
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? DEFAULT_PAGE : Number(rawLimit);
  if ([...prefix].length > MAX_DISPLAY_NAME || after.length > MAX_AFTER) {
    throw new ChatError(
      'API_QUERY_INVALID',
      `q and after are at most ${MAX_DISPLAY_NAME} characters`,
    );
  }
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_DIRECTORY_PAGE) {
    throw new ChatError('API_QUERY_INVALID', `limit must be 1 to ${MAX_DIRECTORY_PAGE}`);
  }
  return { prefix, after, limit };
}

/** The change a PATCH body asks for: `displayName` and `avatar`, each a string or null. */
function profileChange(body: JsonBody): ProfileChange {
  const change: { displayName?: string | null; avatar?: string | null } = {};
  if (body.displayName !== undefined) {
    change.displayName = body.displayName === null ? null : parseDisplayName(body.displayName);
  }
  if (body.avatar !== undefined) {
    if (body.avatar !== null && typeof body.avatar !== 'string') {
      throw new ChatError('API_BODY_INVALID', '"avatar" must be an upload id or null');
    }
    change.avatar = body.avatar;
  }
  return change;
}
