import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatService } from '../core/chat.js';
import { ChatError } from '../domain/errors.js';
import type { HistoryMode, StoredMemberChange, Visibility } from '../domain/events.js';
import type { Admission } from './admission.js';
import { decodeSegment } from './api-paths.js';
import type { Auth } from './auth.js';
import { hasBody, type JsonBody, optionalString, stringField } from './body.js';
import { ClaimedLimit, OPEN_ROOM_CREATIONS } from './claimed-limit.js';
import { sendJson } from './reply.js';
import type { Handler, RouteParams } from './router.js';

/** What the room routes need from the JSON API. */
export interface ApiRoomsDeps {
  readonly chat: ChatService;
  readonly auth: Auth;
  readonly admission: Admission;
  /** Reads the request's JSON body within the API's size bound. */
  readonly body: (req: IncomingMessage, res: ServerResponse) => Promise<JsonBody>;
}

/**
 * `/api/v1/rooms` and below (docs/api.md, Rooms): listing, creating and viewing rooms, and
 * changing their members, one handler per route of routes.ts. Every change counts against the
 * sender's flood guards like a send.
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

  /** `GET /api/v1/rooms`: the caller's rooms, their invitations and the public rooms. */
  readonly list: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
    sendJson(res, 200, { rooms: await this.deps.chat.rooms.list(nick) });
  };

  /** `POST /api/v1/rooms`: creates a room with the caller as its owner. */
  readonly create: Handler = async (req, res) => {
    const { nick } = await this.deps.auth.require(req);
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
  };

  /** `GET /api/v1/rooms/<name>`: a room and its members. */
  readonly view: Handler = async (req, res, params) => {
    const room = roomOf(params);
    const { nick } = await this.deps.auth.require(req);
    sendJson(res, 200, await this.deps.chat.rooms.view(nick, room));
  };

  /** `POST /api/v1/rooms/<name>/join`. */
  readonly join: Handler = (req, res, params) => this.act(req, res, roomOf(params), 'join');

  /** `POST /api/v1/rooms/<name>/leave`. */
  readonly leave: Handler = (req, res, params) => this.act(req, res, roomOf(params), 'leave');

  /** `POST /api/v1/rooms/<name>/invite`. */
  readonly invite: Handler = (req, res, params) => this.act(req, res, roomOf(params), 'invite');

  /** `DELETE /api/v1/rooms/<name>/invite`: the invitee declines; id null when not invited. */
  readonly decline: Handler = async (req, res, params) => {
    const room = roomOf(params);
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const change = await this.deps.chat.rooms.decline(nick, room);
    sendJson(res, 200, { id: change?.id ?? null });
  };

  /**
   * `PUT` (a role, `{role, reason?}`) and `DELETE` (a removal, optional body `{reason?}`) of
   * `/api/v1/rooms/<name>/members/<user>`; audited in the change's transaction.
   */
  readonly member: Handler = async (req, res, params) => {
    const room = roomOf(params);
    const user = decodeSegment(params.user ?? '');
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const rooms = this.deps.chat.rooms;
    let change: StoredMemberChange | undefined;
    if (req.method === 'DELETE') {
      const body = hasBody(req) ? await this.deps.body(req, res) : {};
      change = await rooms.remove(nick, room, user, body.reason);
    } else {
      const body = await this.deps.body(req, res);
      change = await rooms.setRole(nick, room, user, body.role, body.reason);
    }
    sendJson(res, 200, { id: change?.id ?? null });
  };

  private async act(
    req: IncomingMessage,
    res: ServerResponse,
    room: string,
    action: 'join' | 'leave' | 'invite',
  ): Promise<void> {
    const { nick } = await this.deps.auth.require(req);
    await this.deps.admission.send(req, nick);
    const body = await this.deps.body(req, res);
    const rooms = this.deps.chat.rooms;
    let change: StoredMemberChange | undefined;
    if (action === 'join') change = await rooms.join(nick, room);
    else if (action === 'leave') change = await rooms.leave(nick, room);
    else change = await rooms.invite(nick, room, stringField(body, 'user'));
    sendJson(res, change ? 201 : 200, { id: change?.id ?? null });
  }
}

/** The room a path names: `<name>` percent-decoded, with its `#`. */
function roomOf(params: RouteParams): string {
  return `#${decodeSegment(params.name ?? '')}`;
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
