import type { ResetReason } from '../core/resume.js';
import type { Format } from '../core/subscriber.js';
import type {
  ChatEvent,
  EventId,
  OwnChange,
  StoredDelete,
  StoredEdit,
  StoredMemberChange,
  StoredMessage,
  StoredReaction,
  StoredReceipt,
} from '../domain/events.js';
import { avatarPath } from '../domain/profile.js';
import { unavailable } from '../domain/replies.js';
import type {
  ApiDelete,
  ApiEdit,
  ApiMember,
  ApiMessage,
  ApiReaction,
  ApiReceipt,
} from './api-types.js';

/**
 * One SSE frame of the JSON API: `id:` (logged events only), `event:` and one `data:` line.
 * JSON.stringify escapes every control character, CR and LF included, so the data can never
 * end the frame early or inject a field.
 */
export function apiFrame(event: string, data: unknown, id?: EventId): string {
  const json = JSON.stringify(data);
  return id === undefined
    ? `event: ${event}\ndata: ${json}\n\n`
    : `id: ${id}\nevent: ${event}\ndata: ${json}\n\n`;
}

/**
 * A change of the user's own notification state, for their streams: `marker` (a read marker
 * moved) or `notify` (a level, or hideText, changed).
 */
function ownFrame(change: OwnChange): string {
  switch (change.type) {
    case 'marker':
      return apiFrame('marker', { with: change.with, upTo: change.upTo });
    case 'level':
      return apiFrame('notify', { with: change.with, level: change.level });
    case 'hideText':
      return apiFrame('notify', { hideText: change.hideText });
    case 'report':
      return apiFrame('report', change.report);
    case 'reported':
      return apiFrame('reported', change.report);
  }
}

/** The public fields of a stored message (the mailbox flag is the server's business). */
export function apiMessage(m: StoredMessage): ApiMessage {
  const out = { id: m.id, from: m.from, to: m.to, text: m.text, ts: m.ts };
  if (
    m.clientId === undefined &&
    m.edited === undefined &&
    m.deleted === undefined &&
    m.mentions === undefined &&
    m.attachments === undefined &&
    m.replyTo === undefined &&
    m.reactions === undefined
  ) {
    return out;
  }
  return {
    ...out,
    ...(m.clientId !== undefined && { clientId: m.clientId }),
    ...(m.edited !== undefined && { edited: m.edited }),
    ...(m.deleted && { deleted: true }),
    ...(m.mentions !== undefined && m.mentions.length > 0 && { mentions: [...m.mentions] }),
    ...(m.attachments !== undefined && { attachments: m.attachments }),
    // A reply read without a reader (a gap the Sequencer filled from the Store) has no
    // preview: it shows as unavailable rather than as anything its reader may not see.
    ...(m.replyTo !== undefined && {
      replyTo: m.replyTo,
      reply: m.reply ?? unavailable(m.replyTo),
    }),
    ...(m.reactions !== undefined && m.reactions.length > 0 && { reactions: m.reactions }),
  };
}

/** A membership change as the JSON API shows it. */
export function apiMember(c: StoredMemberChange): ApiMember {
  return {
    id: c.id,
    room: c.room,
    user: c.user,
    action: c.action,
    by: c.by,
    role: c.role,
    ts: c.ts,
    ...(c.reason !== undefined && { reason: c.reason }),
  };
}

/** An edit as the JSON API shows it (`message` is the edited message's id). */
export function apiEdit(e: StoredEdit): ApiEdit {
  const out = { id: e.id, message: e.target, from: e.from, to: e.to, text: e.text, ts: e.ts };
  if (!e.mentions?.length) return out;
  return {
    ...out,
    mentions: [...e.mentions],
    ...(e.added?.length && { newMentions: [...e.added] }),
  };
}

/** A delete as the JSON API shows it. */
export function apiDelete(d: StoredDelete): ApiDelete {
  return { id: d.id, message: d.target, from: d.from, to: d.to, ts: d.ts };
}

/** A reaction as the JSON API shows it (`message` is the message's id). */
export function apiReaction(r: StoredReaction): ApiReaction {
  const { id, target: message, from, to, emoji, on, ts } = r;
  return { id, message, from, to, emoji, on, ts };
}

/** A read receipt as the JSON API shows it. */
export function apiReceipt(r: StoredReceipt): ApiReceipt {
  return { id: r.id, from: r.from, to: r.to, upTo: r.upTo, ts: r.ts };
}

/**
 * The event types of `GET /api/v1/events` (docs/api.md lists their data):
 * `hello`, `message`, `read`, `join`, `leave`, `member`, `edit`, `delete`, `reaction`, `typing`,
 * `room`, `online`, `presence`, `marker`, `notify`, `room-listed`, `reset`, `ping`, `bye`. Joins are announced once per user
 * coming online, not per tab (the classic protocol keeps the seed's every-login wording).
 */
export class ApiFormat implements Format {
  /**
   * A `ping` event on idle streams, every `--heartbeat-ms`: a client that hears nothing for
   * a few of those knows its connection is dead (a sleeping laptop, a NAT that forgot it)
   * and reconnects, which it could not tell from a comment.
   */
  readonly heartbeat = 'event: ping\ndata: {}\n\n';

  /** The last online list hello rendered, and its JSON: see Arrival.online. */
  private lastOnline: readonly string[] | null = null;
  private lastOnlineJson = '[],"onlineCount":0';

  constructor(
    private readonly heartbeatMs: number,
    /** More users online than this: `hello` lists this many, and presence is a count. */
    private readonly crowdSize = Number.POSITIVE_INFINITY,
  ) {}

  /** Presence in a crowd (see Format.crowd): the number of users online. */
  crowd(online: number, ended = false): string {
    const end = ended ? ',"crowd":false' : '';
    return `event: online\ndata: {"count":${online}${end}}\n\n`;
  }

  render(event: ChatEvent): string | null {
    switch (event.kind) {
      case 'message':
        return apiFrame('message', apiMessage(event.message), event.message.id);
      case 'read':
        return apiFrame('read', apiReceipt(event.receipt), event.receipt.id);
      case 'joined':
        return event.first ? apiFrame('join', { user: event.nick }) : null;
      case 'left':
        return apiFrame('leave', { user: event.nick });
      case 'member':
        return apiFrame('member', apiMember(event.change), event.change.id);
      case 'edit':
        return apiFrame('edit', apiEdit(event.edit), event.edit.id);
      case 'delete':
        return apiFrame('delete', apiDelete(event.delete), event.delete.id);
      case 'react':
        return apiFrame('reaction', apiReaction(event.reaction), event.reaction.id);
      case 'typing':
        return apiFrame('typing', { from: event.from, to: event.to });
      case 'room':
        return apiFrame('room', { room: event.room, members: event.members });
      case 'own':
        return ownFrame(event.change);
      case 'profile':
        return apiFrame('profile', {
          nick: event.nick,
          displayName: event.displayName,
          avatar: event.avatar === null ? null : avatarPath(event.nick, event.avatar),
        });
      case 'listed':
        return apiFrame('room-listed', event.room);
      case 'sanction':
        return apiFrame('sanction', {
          kind: event.action,
          until: event.until,
          reason: event.reason,
        });
      case 'presence':
        // Built by hand to reuse the list's JSON, as apiFrame('presence', {online,
        // onlineCount}) would write it.
        return `event: presence\ndata: {"online":${this.onlineJson(event.online)}}\n\n`;
    }
  }

  /**
   * The frame that marks "live from here": who the stream is for, who is online, and `id:`
   * set to the head, so that a client that received nothing else can still resume. `retry:`
   * spreads reconnects over 1 to 3 s, so a restart does not bring every client back at once.
   */
  hello(user: string, head: EventId, online: readonly string[]): string {
    const retry = 1000 + Math.floor(Math.random() * 2000);
    // Built by hand to reuse the list's JSON; the same fields, in the same order, as
    // apiFrame('hello', {user, id, online, onlineCount, heartbeatMs}, head) would write.
    const data = `{"user":${JSON.stringify(user)},"id":${head},"online":${this.onlineJson(online)},"heartbeatMs":${this.heartbeatMs}}`;
    return `retry: ${retry}\nid: ${head}\nevent: hello\ndata: ${data}\n\n`;
  }

  /**
   * The last frame at shutdown: `retry:` for EventSource's own reconnect, and a `bye` event
   * with the same delay for clients that reconnect by themselves (our page does, with its own
   * backoff, which would otherwise bring every page back within a second).
   */
  farewell(retryMs: number): string {
    return `retry: ${retryMs}\nevent: bye\ndata: {"retryMs":${retryMs}}\n\n`;
  }

  /**
   * `[...list...],"onlineCount":N`, rendered once per list (Presence hands the same frozen
   * array to every connection until it changes). In a crowd, the first users online stand for
   * the rest: a list of thousands in every hello would make a reconnect storm cost the square
   * of the users.
   */
  private onlineJson(online: readonly string[]): string {
    if (online !== this.lastOnline) {
      this.lastOnline = online;
      const listed = online.length > this.crowdSize ? online.slice(0, this.crowdSize) : online;
      this.lastOnlineJson = `${JSON.stringify(listed)},"onlineCount":${online.length}`;
    }
    return this.lastOnlineJson;
  }

  /** Tells the client its view is stale: drop it, and reload history from the API. */
  reset(reason: ResetReason, head: EventId): string {
    return apiFrame('reset', { reason, id: head }, head);
  }
}
