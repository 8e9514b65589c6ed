import type { LoggedEvent, MemberAction, Role, StoredMessage } from '../domain/events.js';

/**
 * A stored yes/no. SQLite has no boolean type and hands back 0 or 1; PostgreSQL's boolean
 * arrives as a boolean. The mapper reads both, so an engine passes its rows as they come.
 */
export type Flag = boolean | number;

/**
 * A row of the messages table, which holds every logged event, as either engine reads it
 * (int8 as number). For a membership change, sender is its user and recipient its room, actor
 * who made the change; for a receipt, up_to is the last message read; for an edit, a delete or
 * a reaction, up_to is its target (a reaction's text is its emoji, deleted set when it was
 * taken back). See the columns by kind in each engine's schema.ts.
 */
export interface Row {
  id: number;
  kind: LoggedEvent['kind'];
  ts: number;
  sender: string;
  recipient: string;
  text: string;
  offline: Flag;
  client_id: string | null;
  up_to: number | null;
  edited: number | null;
  deleted: Flag;
  actor: string | null;
  action: MemberAction | null;
  role: Role | null;
  quiet: Flag;
  /** The nicks a message (or an edit's text) mentions, space-separated; NULL for none. */
  mentions: string | null;
  /** Of an edit's mentions, those its target lacked before; NULL for none. */
  added: string | null;
  /** A message's attachments (Attachment[]) as JSON; NULL for none. */
  attachments: string | null;
  /** The id of the message a message answers (NewMessage.replyTo); NULL for none. */
  reply_to: number | null;
  /** Never shown to its recipient (a nick that blocked the sender): see blocks-store.ts. */
  withheld: Flag;
}

/**
 * The columns of a Row, for SELECT lists, in this order: SQLite's hot reads ask for arrays in
 * it (sqlite/rows.ts).
 */
export const COLUMNS =
  'id, kind, ts, sender, recipient, text, offline, client_id, up_to, edited, deleted, actor, ' +
  'action, role, quiet, mentions, added, attachments, reply_to, withheld';

/** Whether a stored flag is set, whichever engine read it. */
function isSet(flag: Flag): boolean {
  return flag === true || flag === 1;
}

/** A message row as the Store hands it out, with its current text, `edited` and `deleted`. */
export function toMessage(row: Row): StoredMessage {
  return {
    id: row.id,
    ts: row.ts,
    from: row.sender,
    to: row.recipient,
    text: row.text,
    offline: isSet(row.offline),
    // Absent rather than undefined, so that a message read back deep-equals the one appended.
    ...(row.client_id !== null && { clientId: row.client_id }),
    ...(row.edited !== null && { edited: row.edited }),
    ...(isSet(row.deleted) && { deleted: true as const }),
    ...(row.mentions !== null && { mentions: row.mentions.split(' ') }),
    ...(row.attachments !== null && { attachments: JSON.parse(row.attachments) }),
    ...(row.reply_to !== null && { replyTo: row.reply_to }),
    ...(isSet(row.withheld) && { withheld: true as const }),
  };
}

/** A row of any kind as the logged event it stores. */
export function toEvent(row: Row): LoggedEvent {
  const { id, ts, sender: from, recipient: to } = row;
  const target = row.up_to ?? 0;
  const hidden = isSet(row.withheld) ? { withheld: true as const } : {};
  switch (row.kind) {
    case 'message':
      return { kind: 'message', message: toMessage(row) };
    case 'read':
      return { kind: 'read', receipt: { id, ts, from, to, upTo: target, ...hidden } };
    case 'edit': {
      const edit = { id, ts, from, to, target, text: row.text, ...hidden };
      return {
        kind: 'edit',
        edit: {
          ...edit,
          ...(row.mentions !== null && { mentions: row.mentions.split(' ') }),
          ...(row.added !== null && { added: row.added.split(' ') }),
        },
      };
    }
    case 'delete':
      return { kind: 'delete', delete: { id, ts, from, to, target, ...hidden } };
    case 'react': {
      const on = !isSet(row.deleted);
      const reaction = { id, ts, from, to, target, emoji: row.text, on, ...hidden };
      return { kind: 'react', reaction };
    }
    case 'member': {
      const { actor, role } = row;
      // Every engine writes a member row with its action (appendMember logs what the room
      // rules decided); the row type cannot say so per kind. No default stands in for one.
      const action = row.action as MemberAction;
      const change = { id, ts, room: to, user: from, by: actor ?? from, role };
      return { kind: 'member', change: { ...change, quiet: isSet(row.quiet), action, ...hidden } };
    }
  }
}

/**
 * The read_markers conversation that holds a user's baseline (NotifyStore): `#` alone is
 * neither a nick (nicks hold no `#`), nor a room (a name follows the `#`), nor `all`.
 */
export const BASELINE = '#';

/** Most attention rows (browsers looking) kept per user; a new one drops the stalest. */
export const MAX_ATTENTION_CLIENTS = 16;
