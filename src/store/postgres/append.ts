import type pg from 'pg';
import { ChatError } from '../../domain/errors.js';
import {
  type Attachment,
  type EventId,
  type NewReceipt,
  type StoredMessage,
  type StoredReceipt,
  storedMessage,
} from '../../domain/events.js';
import type { PendingWrite, Settle } from '../pending-write.js';
import { COLUMNS, type Row, toMessage } from '../rows.js';
import { writeDelete, writeEdit, writeMember } from './changes.js';
import { mentionsColumn, resolveMentions } from './mentions.js';
import { writeReaction } from './reactions.js';
import { searchVector } from './search.js';
import { attachUploads, usableUploads } from './uploads.js';
import { WITHHELD_PAIR } from './withheld.js';

export type { PendingWrite, Settle };

/** A message or a receipt waiting in PostgresStore's queue: written in bulk. */
type PendingRow = Extract<PendingWrite, { kind: 'message' | 'read' }>;

/** A row mailbox or clientId lookup found; `waiting` is set only on mailbox sizes. */
type LookupRow = Row & { waiting: number | null };

// Both lookups a batch needs, in one round trip: the first messages of the batch's
// (sender, clientId) pairs, and the size of each mailbox the batch adds to.
const LOOKUP: pg.QueryConfig = {
  name: 'ssechat_append_lookup',
  text: `
  SELECT ${COLUMNS.replace(/(\w+)/g, 'm.$1')}, NULL::int8 AS waiting
    FROM unnest($1::text[], $2::text[]) AS k (sender, client_id)
    JOIN messages m ON m.sender = k.sender AND m.client_id = k.client_id
  UNION ALL
  SELECT ${COLUMNS.replace(/\w+/g, (c) => (c === 'recipient' ? c : 'NULL'))}, count(*)
    FROM offline WHERE recipient = ANY ($3::text[]) GROUP BY recipient`,
};

// Draws $1 ids and pairs the k-th smallest with the k-th row, so ids follow the order of the
// arrays (the order of calls) whatever order nextval() ran in; the caller sorts the returned
// ids to match. Rows of offline messages go to the mailbox in the same statement, and the
// users a message mentions to mention_rows ($11-$13: the row's ordinal, the nick, the
// recipient). The ranking is needed: nothing in SQL promises that nextval() runs in
// generate_series order. $15: each row's search vector (search.ts), NULL for a receipt; $16
// the message each answers (NewMessage.replyTo), NULL for none.
const INSERT: pg.QueryConfig = {
  name: 'ssechat_append',
  text: `
  WITH ids AS MATERIALIZED (
    SELECT nextval('messages_id_seq') AS id FROM generate_series(1, $1::int)
  ), ranked AS MATERIALIZED (
    SELECT id, row_number() OVER (ORDER BY id) AS ord FROM ids
  ), stored AS (
    INSERT INTO messages (id, kind, ts, sender, recipient, text, offline, client_id, up_to,
                          mentions, attachments, search, reply_to, withheld)
    SELECT r.id, u.kind, u.ts, u.sender, u.recipient, u.text, u.offline, u.client_id, u.up_to,
           u.mentions, u.attachments, u.search::tsvector, u.reply_to,
           ${WITHHELD_PAIR('u.sender', 'u.recipient')}
      FROM unnest($2::text[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::bool[],
                  $8::text[], $9::int8[], $10::text[], $14::text[], $15::text[], $16::int8[])
             WITH ORDINALITY AS u (kind, ts, sender, recipient, text, offline, client_id,
                                   up_to, mentions, attachments, search, reply_to, ord)
      JOIN ranked r ON r.ord = u.ord
    RETURNING id, recipient, offline, withheld
  ), mailed AS (
    -- A withheld message never enters its recipient's mailbox (blocks-store.ts).
    INSERT INTO offline (recipient, message_id) SELECT recipient, id FROM stored
     WHERE offline AND NOT withheld
  ), mentioned AS (
    INSERT INTO mention_rows (nick, event_id, target, recipient)
    SELECT x.nick, r.id, r.id, x.recipient
      FROM unnest($11::int8[], $12::text[], $13::text[]) AS x (ord, nick, recipient)
      JOIN ranked r ON r.ord = x.ord
  )
  SELECT id, withheld FROM stored`,
};

/**
 * Writes a batch inside the caller's transaction, which must hold the append lock (see
 * store.ts), and returns for each write how to settle its promise once the batch has
 * committed. A full mailbox fails only its own message; a clientId its sender already used,
 * before or earlier in the batch, returns that first message and stores nothing. Messages and
 * receipts are inserted in bulk; a membership change, edit or delete is decided and written on
 * its own, in call order between them, and a ChatError from it fails only its own promise.
 */
export async function writeBatch(
  client: pg.PoolClient,
  batch: PendingWrite[],
  maxOfflinePerUser: number,
): Promise<Array<() => void>> {
  const { firsts, waiting } = await lookup(client, batch);
  // How to settle each write, given the stored rows of the batch (known once all have ids).
  type Settler = (stored: ReadonlyArray<StoredMessage | StoredReceipt>) => () => void;
  const settlers: Settler[] = [];
  const rows: PendingRow[] = [];
  // The ids of rows[0 .. ids.length), and whom each mentions: rows are inserted before each
  // room write (so a message mentions who joined before it), and at the end.
  const ids: number[] = [];
  const held: boolean[] = [];
  const mentions: string[][] = [];
  // The files of the batch's messages that carry some (uploads.ts), and the uploads taken.
  const files = new Map<PendingRow, Attachment[]>();
  const taken = new Set<string>();
  const flush = async (): Promise<void> => {
    if (rows.length === ids.length) return;
    const fresh = rows.slice(ids.length);
    const inserted = await insert(client, fresh, files);
    await attachUploads(
      client,
      fresh.flatMap((p, i) =>
        (files.get(p) ?? []).map((f) => [f.id, inserted.ids[i] as number] as const),
      ),
    );
    ids.push(...inserted.ids);
    held.push(...inserted.withheld);
    mentions.push(...inserted.mentions);
  };
  for (const p of batch) {
    if (p.kind === 'member' || p.kind === 'edit' || p.kind === 'delete' || p.kind === 'react') {
      await flush();
      const settle = await writeChange(client, p);
      settlers.push(() => settle);
      continue;
    }
    if (p.kind === 'read') {
      const row = rows.push(p) - 1;
      settlers.push((stored) => () => p.done.resolve(stored[row] as StoredReceipt));
      continue;
    }
    const { from, to, offline, clientId } = p.message;
    // Checked before the mailbox, so that a retry neither fills nor is refused by a mailbox
    // the first send already counts in. `firsts` also learns this batch's new rows.
    const key = clientId === undefined ? undefined : pairKey(from, clientId);
    const first = key === undefined ? undefined : firsts.get(key);
    if (first !== undefined) {
      const found = typeof first === 'number' ? undefined : toMessage(first);
      settlers.push((stored) => () => {
        const message = found ?? (stored[first as number] as StoredMessage);
        p.done.resolve({ message, created: false });
      });
      continue;
    }
    const attach = p.message.attach;
    const carried = attach === undefined ? [] : await usableUploads(client, from, attach, taken);
    if (carried === undefined) {
      settlers.push(() => () => p.done.reject(new ChatError('UPLOAD_UNUSABLE')));
      continue;
    }
    if (offline) {
      const n = waiting.get(to) ?? 0;
      if (n >= maxOfflinePerUser) {
        settlers.push(() => () => p.done.reject(new ChatError('CHAT_MAILBOX_FULL')));
        continue;
      }
      waiting.set(to, n + 1);
    }
    const row = rows.push(p) - 1;
    if (carried.length > 0) files.set(p, carried);
    if (key !== undefined) firsts.set(key, row);
    settlers.push((stored) => () => {
      p.done.resolve({ message: stored[row] as StoredMessage, created: true });
    });
  }
  await flush();
  const stored = rows.map((p, i) =>
    toStored(p, ids[i] as number, mentions[i] as string[], files.get(p), held[i] === true),
  );
  return settlers.map((settler) => settler(stored));
}

/**
 * Writes a membership change, edit, delete or reaction, and returns how to settle its promise: a
 * ChatError (the rules refused it, or its target is gone) rejects only it, having written
 * nothing; any other error fails the batch.
 */
async function writeChange(
  client: pg.PoolClient,
  p: Exclude<PendingWrite, PendingRow>,
): Promise<() => void> {
  try {
    if (p.kind === 'member') {
      const stored = await writeMember(client, p.change);
      return () => p.done.resolve(stored);
    }
    if (p.kind === 'edit') {
      const stored = await writeEdit(client, p.edit);
      return () => p.done.resolve(stored);
    }
    if (p.kind === 'react') {
      const stored = await writeReaction(client, p.reaction);
      return () => p.done.resolve(stored);
    }
    const stored = await writeDelete(client, p.delete);
    return () => p.done.resolve(stored);
  } catch (err) {
    if (!(err instanceof ChatError)) throw err;
    return () => p.done.reject(err);
  }
}

/** The stored first message of each (sender, clientId) in the batch, and mailbox sizes. */
async function lookup(
  client: pg.PoolClient,
  batch: PendingWrite[],
): Promise<{ firsts: Map<string, Row | number>; waiting: Map<string, number> }> {
  const senders: string[] = [];
  const clientIds: string[] = [];
  const mailboxes = new Set<string>();
  for (const p of batch) {
    if (p.kind !== 'message') continue;
    const { from, to, offline, clientId } = p.message;
    if (clientId !== undefined) {
      senders.push(from);
      clientIds.push(clientId);
    }
    if (offline) mailboxes.add(to);
  }
  const firsts = new Map<string, Row | number>();
  const waiting = new Map<string, number>();
  if (senders.length === 0 && mailboxes.size === 0) return { firsts, waiting };
  const { rows } = await client.query<LookupRow>({
    ...LOOKUP,
    values: [senders, clientIds, [...mailboxes]],
  });
  for (const row of rows) {
    if (row.waiting !== null) waiting.set(row.recipient, row.waiting);
    else firsts.set(pairKey(row.sender, row.client_id ?? ''), row);
  }
  return { firsts, waiting };
}

/**
 * Resolves the messages' mentions (one round trip when any needs members or accounts), then
 * inserts the rows in one statement; returns their ids and mentions, in the order of `rows`.
 */
async function insert(
  client: pg.PoolClient,
  rows: PendingRow[],
  files: ReadonlyMap<PendingRow, Attachment[]>,
): Promise<{ ids: number[]; mentions: string[][]; withheld: boolean[] }> {
  const texts = rows.flatMap((p) =>
    p.kind === 'message' && p.message.text.includes('@') ? [p] : [],
  );
  const resolved =
    texts.length === 0
      ? []
      : await resolveMentions(
          client,
          texts.map(({ message: { text, from, to, claimed } }) => ({
            text,
            from,
            to,
            claimed: claimed === true,
          })),
        );
  const byRow = new Map<PendingRow, string[]>(texts.map((p, i) => [p, resolved[i] as string[]]));
  const columns = {
    kind: [] as string[],
    ts: [] as number[],
    sender: [] as string[],
    recipient: [] as string[],
    text: [] as string[],
    offline: [] as boolean[],
    clientId: [] as Array<string | null>,
    upTo: [] as Array<number | null>,
    mentions: [] as Array<string | null>,
    mentionOrd: [] as number[],
    mentionNick: [] as string[],
    mentionTo: [] as string[],
    attachments: [] as Array<string | null>,
    search: [] as Array<string | null>,
    replyTo: [] as Array<number | null>,
  };
  const mentions: string[][] = [];
  for (const [i, p] of rows.entries()) {
    const m = p.kind === 'message' ? p.message : undefined;
    const r = p.kind === 'read' ? p.receipt : undefined;
    const { from, to, ts } = m ?? (r as NewReceipt);
    const nicks = byRow.get(p) ?? [];
    columns.kind.push(p.kind);
    columns.ts.push(ts);
    columns.sender.push(from);
    columns.recipient.push(to);
    columns.text.push(m?.text ?? '');
    columns.offline.push(m?.offline ?? false);
    columns.clientId.push(m?.clientId ?? null);
    columns.upTo.push(r?.upTo ?? null);
    columns.mentions.push(mentionsColumn(nicks));
    const carried = files.get(p);
    columns.attachments.push(carried ? JSON.stringify(carried) : null);
    columns.search.push(m ? searchVector(m.text) : null);
    columns.replyTo.push(m?.replyTo ?? null);
    for (const nick of nicks) {
      columns.mentionOrd.push(i + 1);
      columns.mentionNick.push(nick);
      columns.mentionTo.push(to);
    }
    mentions.push(nicks);
  }
  const { rows: ids } = await client.query<{ id: number; withheld: boolean }>({
    ...INSERT,
    values: [rows.length, ...Object.values(columns)],
  });
  if (ids.length !== rows.length) throw new Error('the append stored fewer rows than it was given');
  const sorted = ids.sort((a, b) => a.id - b.id);
  return { ids: sorted.map((r) => r.id), mentions, withheld: sorted.map((r) => r.withheld) };
}

function toStored(
  p: PendingRow,
  id: EventId,
  mentions: string[],
  attachments: Attachment[] | undefined,
  withheld: boolean,
): StoredMessage | StoredReceipt {
  const hidden = withheld ? { withheld: true as const } : {};
  if (p.kind === 'read') {
    const { from, to, upTo, ts } = p.receipt;
    return { from, to, upTo, ts, id, ...hidden };
  }
  return {
    ...storedMessage(p.message, id),
    ...(mentions.length > 0 && { mentions }),
    ...(attachments !== undefined && { attachments }),
    ...hidden,
  };
}

/** One string per (sender, clientId); nicks cannot hold NUL (domain/input.ts). */
function pairKey(sender: string, clientId: string): string {
  return `${sender}\u0000${clientId}`;
}
