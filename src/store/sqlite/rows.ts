import type { MemberAction, Role } from '../../domain/events.js';
import type { Row } from '../rows.js';

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
  string | null,
  string | null,
  string | null,
  number | null,
  number,
];

/** The Row a RawRow stands for. */
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
    mentions: r[15],
    added: r[16],
    attachments: r[17],
    reply_to: r[18],
    withheld: r[19],
  };
}
