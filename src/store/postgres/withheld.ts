import { EVERYONE } from '../../domain/events.js';

/** SQL: whether `blocker` blocks `blocked` (expressions; blocks-store.ts). */
export function blocks(blocker: string, blocked: string): string {
  return `EXISTS (SELECT 1 FROM blocks b WHERE b.blocker = ${blocker} AND b.blocked = ${blocked})`;
}

/**
 * SQL: whether a log entry from `sender` to `recipient` (expressions) is withheld from its
 * recipient: a nick who blocks its sender (blocks-store.ts). Decided in the statement that
 * writes the entry, so it costs no round trip of its own.
 */
export function WITHHELD_PAIR(sender: string, recipient: string): string {
  return `(${recipient} NOT LIKE '#%' AND ${recipient} <> '${EVERYONE}'
           AND ${recipient} <> ${sender} AND ${blocks(recipient, sender)})`;
}
