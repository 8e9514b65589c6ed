import type { LoggedEvent, MemberAction, Role, StoredMessage } from '../../domain/events.js';

/**
 * A row of the messages table, which holds every logged event (see the columns by kind in
 * sqlite-schema.ts, version 3).
 */
export interface Row {
  id: number;
  kind: LoggedEvent['kind'];
  ts: number;
  sender: string;
  recipient: string;
  text: string;
  offline: number;
  client_id: string | null;
  up_to: number | null;
  edited: number | null;
  deleted: number;
  actor: string | null;
  action: MemberAction | null;
  role: Role | null;
  quiet: number;
}

/**
 * A Row as an array in the order of COLUMNS. The hot reads (since, log) ask better-sqlite3 for
 * arrays and build the Row here: it costs about half of letting the driver build an object per
 * row, which was most of a resume's CPU in a reconnect storm.
 */
export type RawRow = [
  number,
  Row['kind'],
  number,
  string,
  string,
  string,
  number,
  string | null,
  number | null,
  number | null,
  number,
  string | null,
  MemberAction | null,
  Role | null,
  number,
];

export function fromRaw(r: RawRow): Row {
  return {
    id: r[0],
    kind: r[1],
    ts: r[2],
    sender: r[3],
    recipient: r[4],
    text: r[5],
    offline: r[6],
    client_id: r[7],
    up_to: r[8],
    edited: r[9],
    deleted: r[10],
    actor: r[11],
    action: r[12],
    role: r[13],
    quiet: r[14],
  };
}

/** The columns of a Row, for SELECT lists. */
export const COLUMNS =
  'id, kind, ts, sender, recipient, text, offline, client_id, up_to, edited, deleted, actor, ' +
  'action, role, quiet';

/** A message row as the Store hands it out. */
export function toMessage(row: Row): StoredMessage {
  return {
    id: row.id,
    ts: row.ts,
    from: row.sender,
    to: row.recipient,
    text: row.text,
    offline: row.offline === 1,
    // Absent rather than undefined, so that a message read back deep-equals the one appended.
    ...(row.client_id !== null && { clientId: row.client_id }),
    ...(row.edited !== null && { edited: row.edited }),
    ...(row.deleted === 1 && { deleted: true as const }),
  };
}

/** A row of any kind as the logged event it stores. */
export function toEvent(row: Row): LoggedEvent {
  const { id, ts, sender: from, recipient: to } = row;
  switch (row.kind) {
    case 'message':
      return { kind: 'message', message: toMessage(row) };
    case 'read':
      return { kind: 'read', receipt: { id, ts, from, to, upTo: row.up_to ?? 0 } };
    case 'edit':
      return { kind: 'edit', edit: { id, ts, from, to, target: row.up_to ?? 0, text: row.text } };
    case 'delete':
      return { kind: 'delete', delete: { id, ts, from, to, target: row.up_to ?? 0 } };
    case 'member': {
      const { actor, action, role, quiet } = row;
      const change = { id, ts, room: to, user: from, by: actor ?? from, role, quiet: quiet === 1 };
      return { kind: 'member', change: { ...change, action: action ?? 'join' } };
    }
  }
}
