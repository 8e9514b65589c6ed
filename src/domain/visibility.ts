// Who may see what: the one statement of the rule in JavaScript. The Hub delivers live events by
// `audience`, the chat service checks single messages with `sees`, and each Store engine states
// the same rule in its queries (store/sqlite/log.ts, store/postgres/log.ts), because a reader's
// history and replay must be decided in the query, never by filtering rows afterwards. A change
// to the rule changes this file, the two queries, and the contract in store/store.ts that checks
// all three against each other (store.contract.ts, rooms.contract.ts).
import { EVERYONE, type EventId, isRoom, type LoggedEvent, type StoredMessage } from './events.js';

/**
 * Who a logged event reaches when it happens:
 * - `everyone`: every stream (a broadcast, and its edits, deletes and reactions);
 * - `pair`: both parties of a direct message or a read receipt (`to`'s tabs first, then
 *   `from`'s; once when they are the same user);
 * - `room`: the room's members whose current span started at `coveredFrom` or earlier (an edit
 *   or a reaction reaches only members who were there for its target: they are the ones who saw the old
 *   text), and also `user` when they are not a member (a membership change reaches the user it
 *   is about: one who just left or was invited);
 * - `user`: that user alone (a quiet membership change of a big room; the members learn the new
 *   count instead).
 */
export type Audience =
  | { readonly kind: 'everyone' }
  | { readonly kind: 'pair'; readonly from: string; readonly to: string }
  | {
      readonly kind: 'room';
      readonly room: string;
      readonly coveredFrom: EventId;
      readonly user?: string;
    }
  | { readonly kind: 'user'; readonly user: string; readonly room: string };

const EVERYONE_AUDIENCE: Audience = { kind: 'everyone' };

/** The audience of a conversation's entry: everyone, a room's members, or a DM's two parties. */
function conversation(from: string, to: string, coveredFrom = Number.POSITIVE_INFINITY): Audience {
  if (to === EVERYONE) return EVERYONE_AUDIENCE;
  if (isRoom(to)) return { kind: 'room', room: to, coveredFrom };
  return { kind: 'pair', from, to };
}

/** Who `event` reaches live (see Audience); a replay or history gives each of them the same. */
export function audience(event: LoggedEvent): Audience {
  const to = reached(event);
  // A withheld entry (blocks) reaches its sender's side only: the recipient never sees it.
  if (!withheld(event)) return to;
  if (to.kind === 'pair') return { kind: 'pair', from: to.from, to: to.from };
  if (to.kind === 'room') return { kind: 'room', room: to.room, coveredFrom: to.coveredFrom };
  return to;
}

/** Whether a logged event is withheld from its recipient (StoredMessage.withheld). */
export function withheld(event: LoggedEvent): boolean {
  switch (event.kind) {
    case 'message':
      return event.message.withheld === true;
    case 'read':
      return event.receipt.withheld === true;
    case 'edit':
      return event.edit.withheld === true;
    case 'delete':
      return event.delete.withheld === true;
    case 'react':
      return event.reaction.withheld === true;
    case 'member':
      return event.change.withheld === true;
  }
}

/** Who `event` reaches, before blocks (see audience). */
function reached(event: LoggedEvent): Audience {
  switch (event.kind) {
    case 'message':
      return conversation(event.message.from, event.message.to);
    case 'delete':
      // A delete carries no text and goes to every member: one who read the message in a
      // history-`all` room must learn that it is gone.
      return conversation(event.delete.from, event.delete.to);
    case 'edit':
      return conversation(event.edit.from, event.edit.to, event.edit.target);
    case 'react':
      // Like an edit: in a room, only members who were there for its target see it.
      return conversation(event.reaction.from, event.reaction.to, event.reaction.target);
    case 'read':
      return { kind: 'pair', from: event.receipt.from, to: event.receipt.to };
    case 'member': {
      const { room, user } = event.change;
      if (event.change.quiet) return { kind: 'user', user, room };
      return { kind: 'room', room, coveredFrom: Number.POSITIVE_INFINITY, user };
    }
  }
}

/**
 * Whether `viewer` may see a direct message or a broadcast: one to all, to them (unless
 * withheld: they blocked its sender) or by them.
 */
export function sees(viewer: string, message: StoredMessage): boolean {
  if (message.from === viewer || message.to === EVERYONE) return true;
  return message.to === viewer && message.withheld !== true;
}
