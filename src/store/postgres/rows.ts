import type { LoggedEvent, MemberAction, Role, StoredMessage } from '../../domain/events.js';

/**
 * A row of the messages table, which holds every logged event (int8 read as number). For a
 * membership change, sender is its user and recipient its room; for an edit or a delete,
 * up_to is its target.
 */
export interface Row {
  id: number;
  kind: LoggedEvent['kind'];
  ts: number;
  sender: string;
  recipient: string;
  text: string;
  offline: boolean;
  client_id: string | null;
  up_to: number | null;
  actor: string | null;
  action: MemberAction | null;
  role: Role | null;
  quiet: boolean;
  edited: number | null;
  deleted: boolean;
}

/** The columns of a Row, for SELECT lists. */
export const COLUMNS =
  'id, kind, ts, sender, recipient, text, offline, client_id, up_to, actor, action, role, quiet, ' +
  'edited, deleted';

/** A message row as the Store hands it out. */
export function toMessage(row: Row): StoredMessage {
  return {
    id: row.id,
    ts: row.ts,
    from: row.sender,
    to: row.recipient,
    text: row.text,
    offline: row.offline,
    // Absent rather than undefined, so that a message read back deep-equals the one appended.
    ...(row.client_id !== null && { clientId: row.client_id }),
    ...(row.edited !== null && { edited: row.edited }),
    ...(row.deleted && { deleted: true }),
  };
}

/** A row as the logged event it stores. */
export function toEvent(row: Row): LoggedEvent {
  const { id, ts, sender: from, recipient: to } = row;
  const target = row.up_to ?? 0;
  switch (row.kind) {
    case 'message':
      return { kind: 'message', message: toMessage(row) };
    case 'read':
      return { kind: 'read', receipt: { id, ts, from, to, upTo: target } };
    case 'edit':
      return { kind: 'edit', edit: { id, target, from, to, text: row.text, ts } };
    case 'delete':
      return { kind: 'delete', delete: { id, target, from, to, ts } };
    case 'member': {
      const { actor, action, role, quiet } = row;
      // Member rows always have an action; the row type cannot say so per kind.
      const change = { id, room: to, user: from, by: actor ?? from, ts, role, quiet };
      return { kind: 'member', change: { ...change, action: action as MemberAction } };
    }
  }
}
