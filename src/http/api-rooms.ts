import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatService } from '../core/chat.js';
import { ChatError } from '../domain/errors.js';
import type { HistoryMode, StoredMemberChange, Visibility } from '../domain/events.js';
import type { Admission } from './admission.js';
import { decodeSegment } from './api-paths.js';
import type { Auth } from './auth.js';
import { type JsonBody, optionalString, sendJson, stringField } from './body.js';
import { ClaimedLimit, OPEN_ROOM_CREATIONS } from './claimed-limit.js';

/** What the room routes need from the JSON API. */
export interface ApiRoomsDeps {
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly admission: Admission;
  /** Reads the request's JSON body within the API's size bound. */
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
}

/** The actions of `POST /api/v1/rooms/<name>/<action>`. */
const ACTIONS = new Set(['join', 'leave', 'invite']);

/**
 * `/api/v1/rooms` and below (docs/api.md, Rooms): listing, creating and viewing rooms, and
 * changing their members. Every change counts against the sender's flood guards like a send.
 */
export class ApiRooms {
  /**
   * Room creations in open mode, where a nick is only claimed: keyed by address, then by nick
   * from that address (ClaimedLimit), so nobody can use up another's budget nor get round it
   * with fresh nicks. In accounts mode the Store counts them per user instead (room-rules.ts).
   */
  private readonly openCreations = new ClaimedLimit(
    OPEN_ROOM_CREATIONS,
    'new rooms',
    'CHAT_RATE_LIMITED',
  );

  constructor(private readonly deps: ApiRoomsDeps) {}

  /** The methods this part of the API answers, for Allow and CORS. */
  static readonly methods = 'GET, POST, PUT, DELETE';

  /** Answers `/api/v1/rooms/<arg>`; `arg` is the raw (still percent-encoded) rest of the path. */
  async handle(req: IncomingMessage, res: ServerResponse, arg: string): Promise<void> {
    const { nick } = await this.deps.auth.require(req);
    const parts = arg === '' ? [] : arg.split('/').map(decodeSegment);
    const method = req.method ?? '';
    const [name, sub, user, extra] = parts;
    if (name === undefined) {
      if (method === 'GET') return this.list(res, nick);
      if (method === 'POST') return this.create(req, res, nick);
    } else if (sub === undefined) {
      if (method === 'GET') {
        sendJson(res, 200, await this.deps.chat.rooms.view(nick, `#${name}`));
        return;
      }
    } else if (user === undefined && ACTIONS.has(sub)) {
      if (method === 'POST') return this.act(req, res, nick, `#${name}`, sub);
      if (method === 'DELETE' && sub === 'invite') return this.decline(req, res, nick, `#${name}`);
    } else if (sub === 'members' && user !== undefined && extra === undefined) {
      if (method === 'DELETE' || method === 'PUT') {
        return this.member(req, res, nick, `#${name}`, user);
      }
    } else {
      throw new ChatError('HTTP_NOT_FOUND');
    }
    res.setHeader('Allow', ApiRooms.methods);
    throw new ChatError('HTTP_METHOD_NOT_ALLOWED');
  }

  private async list(res: ServerResponse, nick: string): Promise<void> {
    sendJson(res, 200, { rooms: await this.deps.chat.rooms.list(nick) });
  }

  private async create(req: IncomingMessage, res: ServerResponse, nick: string): Promise<void> {
    await this.deps.admission.send(req, nick);
    const body = await this.deps.body(req, res);
    const name = stringField(body, 'name');
    const { auth } = this.deps;
    if (!auth.accountsMode) this.openCreations.hit(auth.address(req), nick, Date.now());
    const visibility = choice<Visibility>(body, 'visibility', ['public', 'private']);
    const history = choice<HistoryMode>(body, 'history', ['joined', 'all']);
    const rooms = this.deps.chat.rooms;
    const change = await rooms.create(nick, name.startsWith('#') ? name : `#${name}`, {
      visibility,
      history,
    });
    sendJson(res, 201, { room: await rooms.info(change.room), id: change.id });
  }

  private async act(
    req: IncomingMessage,
    res: ServerResponse,
    nick: string,
    room: string,
    action: string,
  ): Promise<void> {
    await this.deps.admission.send(req, nick);
    const body = await this.deps.body(req, res);
    const rooms = this.deps.chat.rooms;
    let change: StoredMemberChange | undefined;
    if (action === 'join') change = await rooms.join(nick, room);
    else if (action === 'leave') change = await rooms.leave(nick, room);
    else change = await rooms.invite(nick, room, stringField(body, 'user'));
    sendJson(res, change ? 201 : 200, { id: change?.id ?? null });
  }

  /** `DELETE /api/v1/rooms/<name>/invite`: the invitee declines; id null when not invited. */
  private async decline(
    req: IncomingMessage,
    res: ServerResponse,
    nick: string,
    room: string,
  ): Promise<void> {
    await this.deps.admission.send(req, nick);
    const change = await this.deps.chat.rooms.decline(nick, room);
    sendJson(res, 200, { id: change?.id ?? null });
  }

  private async member(
    req: IncomingMessage,
    res: ServerResponse,
    nick: string,
    room: string,
    user: string,
  ): Promise<void> {
    await this.deps.admission.send(req, nick);
    const rooms = this.deps.chat.rooms;
    let change: StoredMemberChange | undefined;
    if (req.method === 'DELETE') change = await rooms.remove(nick, room, user);
    else change = await rooms.setRole(nick, room, user, (await this.deps.body(req, res)).role);
    sendJson(res, 200, { id: change?.id ?? null });
  }
}

/** An optional field that must be one of `values`; the first when absent. */
function choice<T extends string>(body: JsonBody, name: string, values: readonly T[]): T {
  const value = optionalString(body, name);
  if (value === undefined) return values[0] as T;
  if (!values.includes(value as T)) {
    throw new ChatError('API_BODY_INVALID', `"${name}" must be ${values.join(' or ')}`);
  }
  return value as T;
}
