import type Database from 'better-sqlite3';
import { ChatError } from '../../domain/errors.js';
import {
  type NewDelete,
  type NewEdit,
  type NewMessage,
  type StoredDelete,
  type StoredEdit,
  type StoredReceipt,
  storedEdit,
  storedMessage,
} from '../../domain/events.js';
import { findMentions } from '../../domain/mentions.js';
import type { PendingWrite, Settle } from '../pending-write.js';
import { COLUMNS, type Row, toMessage } from '../rows.js';
import type { Appended } from '../store.js';
import { insertAudit } from './audit.js';
import { mentionsColumn, SqliteMentions } from './mentions.js';
import type { SqliteReactions } from './reactions.js';
import type { SqliteRooms } from './rooms.js';
import type { SqliteSearch } from './search.js';
import { SqliteAttachments } from './uploads.js';
import { SqliteWithheld } from './withheld.js';

export type { PendingWrite, Settle };

type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/**
 * Writes SqliteStore's batches. Each write decides whether it can be done before it writes
 * anything (a full mailbox, a membership the rules refuse, a missing target), so a refused
 * write fails only its own promise and leaves the batch's transaction clean.
 */
/**
 * The WHERE of a message that an edit, a delete or a reaction may target (id = ?): stored,
 * undeleted, and a room's message only in the room's current life (store.ts, the lives of a
 * room).
 */
export const LIVE_TARGET = `id = ? AND kind = 'message' AND deleted = 0
  AND (substr(recipient, 1, 1) <> '#' OR EXISTS (SELECT 1 FROM rooms r
    WHERE r.name = messages.recipient AND r.created_id <= messages.id))`;

export class SqliteAppender {
  private readonly insertMessage: Statement<
    [
      number,
      string,
      string,
      string,
      number,
      string | null,
      string | null,
      string | null,
      number | null,
      number,
    ]
  >;
  private readonly insertReceipt: Statement<[number, string, string, number, number]>;
  private readonly insertEdit: Statement<
    [
      'edit' | 'delete',
      number,
      string,
      string,
      string,
      number,
      string | null,
      string | null,
      number,
    ]
  >;
  private readonly withheld: SqliteWithheld;
  private readonly selectMentions: Statement<[number], { mentions: string | null }>;
  private readonly applyEdit: Statement<[string, number, string | null, number]>;
  private readonly markWithheld: Statement<[number]>;
  private readonly applyDelete: Statement<[number]>;
  private readonly emptyEdits: Statement<[number]>;
  private readonly selectByClientId: Statement<[string, string], Row>;
  private readonly countOffline: Statement<[string], { n: number }>;
  private readonly insertOffline: Statement<[string, number]>;
  private readonly mentions: SqliteMentions;
  private readonly attachments: SqliteAttachments;

  constructor(
    private readonly db: Database.Database,
    private readonly rooms: SqliteRooms,
    private readonly search: SqliteSearch,
    private readonly reactions: SqliteReactions,
    private readonly maxOfflinePerUser: number,
  ) {
    // DO NOTHING only fires for the (sender, client_id) index: a second process that stored
    // the same clientId after our lookup (see writeMessage). The id never conflicts.
    this.insertMessage = db.prepare(
      `INSERT INTO messages (ts, sender, recipient, text, offline, client_id, mentions,
         attachments, reply_to, withheld) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
    );
    this.insertReceipt = db.prepare(
      `INSERT INTO messages (kind, ts, sender, recipient, text, up_to, withheld)
       VALUES ('read', ?, ?, ?, '', ?, ?)`,
    );
    this.insertEdit = db.prepare(
      `INSERT INTO messages (kind, ts, sender, recipient, text, up_to, mentions, added, withheld)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.withheld = new SqliteWithheld(db);
    const live = LIVE_TARGET;
    this.selectMentions = db.prepare('SELECT mentions FROM messages WHERE id = ?');
    this.markWithheld = db.prepare('UPDATE messages SET withheld = 1 WHERE id = ?');
    this.applyEdit = db.prepare(
      `UPDATE messages SET text = ?, edited = ?, mentions = ? WHERE ${live}`,
    );
    // Mentions come from the text: they go with it (mention_rows stay; unread counts skip
    // deleted targets).
    // Its files go with it (uploads.ts, dropped in writeDelete).
    this.applyDelete = db.prepare(
      `UPDATE messages SET text = '', deleted = 1, mentions = NULL, attachments = NULL
        WHERE ${live}`,
    );
    this.emptyEdits = db.prepare(
      `UPDATE messages SET text = '', mentions = NULL, added = NULL
        WHERE kind = 'edit' AND up_to = ? AND text <> ''`,
    );
    this.selectByClientId = db.prepare(
      `SELECT ${COLUMNS} FROM messages WHERE sender = ? AND client_id = ?`,
    );
    this.countOffline = db.prepare('SELECT count(*) AS n FROM offline WHERE recipient = ?');
    this.insertOffline = db.prepare('INSERT INTO offline (recipient, message_id) VALUES (?, ?)');
    this.mentions = new SqliteMentions(db);
    this.attachments = new SqliteAttachments(db);
  }

  /**
   * Writes a batch and returns, for each write, how to settle its promise once the batch has
   * committed. The caller provides the transaction (or a lone statement is atomic).
   */
  write(batch: PendingWrite[]): Array<() => void> {
    return batch.map((p) => this.writeOne(p));
  }

  private writeOne(p: PendingWrite): () => void {
    switch (p.kind) {
      case 'message':
        return this.writeMessage(p.message, p.done);
      case 'read': {
        const { from, to, upTo, ts } = p.receipt;
        const held = this.withheld.of(from, to);
        const { lastInsertRowid } = this.insertReceipt.run(ts, from, to, upTo, held ? 1 : 0);
        const id = Number(lastInsertRowid);
        const stored: StoredReceipt = { from, to, upTo, ts, id, ...(held && { withheld: true }) };
        return () => p.done.resolve(stored);
      }
      case 'member':
        return refused(p.done, () => this.rooms.append(p.change));
      case 'edit':
        return refused(p.done, () => this.writeEdit(p.edit));
      case 'delete':
        return refused(p.done, () => this.writeDelete(p.delete));
      case 'react':
        return refused(p.done, () => this.reactions.write(p.reaction));
    }
  }

  /**
   * Whether `write` needs a transaction for this batch: more than one plain INSERT. A message
   * is indexed for search (a second write) unless its text has nothing to index; a text with
   * an `@` may mention someone, which reads members or accounts and writes mention_rows.
   */
  static needsTransaction(batch: PendingWrite[]): boolean {
    const [only] = batch;
    return (
      batch.length !== 1 ||
      only === undefined ||
      !(
        only.kind === 'read' ||
        (only.kind === 'message' &&
          !only.message.offline &&
          only.message.attach === undefined &&
          !only.message.text.includes('@') &&
          !/[\p{L}\p{N}\p{M}]/u.test(only.message.text))
      )
    );
  }

  private writeMessage(message: NewMessage, done: Settle<Appended>): () => void {
    const { from, to, text, ts, offline, clientId } = message;
    // Looked up before the mailbox check, so that a retry neither fills nor is refused by a
    // mailbox the first send already counts in. It also sees an earlier write of this batch.
    if (clientId !== undefined) {
      const first = this.selectByClientId.get(from, clientId);
      if (first) return () => done.resolve({ message: toMessage(first), created: false });
    }
    // Decided before anything is written, in the write's transaction (blocks-store.ts).
    const held = this.withheld.of(from, to);
    if (offline) {
      // A withheld message is refused by a full mailbox like any other (the sender cannot
      // tell), but never enters it.
      const waiting = this.countOffline.get(to)?.n ?? 0;
      if (waiting >= this.maxOfflinePerUser) {
        return () => done.reject(new ChatError('CHAT_MAILBOX_FULL'));
      }
    }
    const files = message.attach === undefined ? [] : this.attachments.usable(from, message.attach);
    if (files === undefined) return () => done.reject(new ChatError('UPLOAD_UNUSABLE'));
    const claimed = message.claimed === true;
    const mentions = this.mentions.resolve(findMentions(text), { from, to, claimed });
    const { changes, lastInsertRowid } = this.insertMessage.run(
      ts,
      from,
      to,
      text,
      offline ? 1 : 0,
      clientId ?? null,
      mentionsColumn(mentions),
      files.length > 0 ? JSON.stringify(files) : null,
      message.replyTo ?? null,
      held ? 1 : 0,
    );
    if (changes === 0) {
      // Only the clientId index can refuse the row: another process stored it since the lookup.
      const first = clientId === undefined ? undefined : this.selectByClientId.get(from, clientId);
      if (!first) throw new Error('the message insert stored nothing');
      return () => done.resolve({ message: toMessage(first), created: false });
    }
    const id = Number(lastInsertRowid);
    const plain = storedMessage(message, id);
    const stored = {
      ...plain,
      ...(mentions.length > 0 && { mentions }),
      ...(files.length > 0 && { attachments: files }),
      ...(held && { withheld: true as const }),
    };
    if (offline && !held) this.insertOffline.run(to, stored.id);
    this.search.add(id, from, to, text, held);
    this.attachments.attach(files, id);
    this.mentions.record(mentions, id, id, to);
    return () => done.resolve({ message: stored, created: true });
  }

  /**
   * The target's update comes first: when it finds no live message, nothing was written.
   * The new text's mentions are resolved now; only those the target lacked are notified.
   */
  private writeEdit(edit: NewEdit): StoredEdit {
    const { target, from, to, text, ts } = edit;
    const claimed = edit.claimed === true;
    const mentions = this.mentions.resolve(findMentions(text), { from, to, claimed, target });
    const before = this.selectMentions.get(target)?.mentions?.split(' ') ?? [];
    const added = mentions.filter((nick) => !before.includes(nick));
    const column = mentionsColumn(mentions);
    const held = this.withheld.of(from, to, target);
    if (this.applyEdit.run(text, ts, column, target).changes === 0) {
      throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
    }
    // The new text of a DM made before its recipient blocked the sender is new words from
    // a blocked user: the message is withheld from them from now on (history, search, unread),
    // or its row, which all read, would carry the text to the blocker.
    if (held) this.markWithheld.run(target);
    const { lastInsertRowid } = this.insertEdit.run(
      'edit',
      ts,
      from,
      to,
      text,
      target,
      column,
      mentionsColumn(added),
      held ? 1 : 0,
    );
    const id = Number(lastInsertRowid);
    this.search.update(target, from, to, text, this.withheld.isWithheld(target));
    this.mentions.record(added, id, target, to);
    const stored = storedEdit(edit, id, mentions, added);
    return held ? { ...stored, withheld: true } : stored;
  }

  private writeDelete(del: NewDelete): StoredDelete {
    const { target, from, to, ts } = del;
    if (this.applyDelete.run(target).changes === 0) throw new ChatError('CHAT_MESSAGE_NOT_FOUND');
    this.emptyEdits.run(target);
    this.search.drop(target);
    this.attachments.drop(target, ts);
    this.reactions.drop(target);
    const held = this.withheld.of(from, to, target);
    const { lastInsertRowid } = this.insertEdit.run(
      'delete',
      ts,
      from,
      to,
      '',
      target,
      null,
      null,
      held ? 1 : 0,
    );
    if (del.audit) insertAudit(this.db, del.audit);
    const id = Number(lastInsertRowid);
    return { id, target, from, to, ts, ...(held && { withheld: true as const }) };
  }
}

/**
 * Runs a write that throws a ChatError, before writing anything, when it is refused: that
 * error rejects only its own promise. Any other error fails the batch.
 */
function refused<T>(done: Settle<T>, write: () => T): () => void {
  try {
    const value = write();
    return () => done.resolve(value);
  } catch (err) {
    if (err instanceof ChatError) return () => done.reject(err);
    throw err;
  }
}
